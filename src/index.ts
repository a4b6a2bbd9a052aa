/**
 * Warden's public API. A curated list: anything not exported here is internal.
 */
export { defineAgent, DEFAULT_LIMITS, DEFAULT_LOOP_DETECTION, DEFAULT_BACKOFF } from './agent/agent.ts';
export type { Agent, AgentConfig, Limits, LoopDetection, PolicyConfig, PolicyRule, PolicyDecision, RetryBackoff } from './agent/agent.ts';
export { defineTool, TIERS } from './agent/tool.ts';
export type { Tool, ToolConfig, ToolContext, Tier, AnyTool } from './agent/tool.ts';
export { simulated } from './model/simulated.ts';
export { PRICE_TABLE, resolvePricing } from './model/pricing.ts';
export type { ModelPricing } from './model/pricing.ts';
export type { WardenModel, ModelTurn } from './model/port.ts';
export { createWarden, Warden } from './runtime/warden.ts';
export type { WardenOptions, SubmitOptions, ExecuteOptions, ApprovalDecision, EscalationDecision } from './runtime/warden.ts';
export type { RunResult, ToolCallSummary, ToolCallOutcome } from './runtime/run-result.ts';
export type { AnyRunEvent, RunEvent, EventType, RunStatus, StopReason } from './runtime/events.ts';
export { explainEvent } from './observe/explain.ts';
export { createSqliteStore } from './store/sqlite/sqlite-store.ts';
export { createPostgresStore, type PostgresStoreOptions } from './store/postgres/postgres-store.ts';
export type { ClaimOptions, Store } from './store/store.ts';
export { Worker, type WorkerOptions } from './scheduler/worker.ts';
export { agentsByRecordedPath, agentsFromDir, type AgentCatalog } from './scheduler/agent-catalog.ts';
export { WardenError, isWardenError, ERROR_CODES } from './errors.ts';
export type { ErrorCode } from './errors.ts';
