/**
 * Warden's public API. A curated list: anything not exported here is internal.
 */
export { defineAgent, DEFAULT_LIMITS, DEFAULT_LOOP_DETECTION, DEFAULT_BACKOFF } from './agent/agent.ts';
export type { Agent, AgentConfig, PlanSettings, Limits, LoopDetection, PolicyConfig, PolicyRule, PolicyDecision, RetryBackoff } from './agent/agent.ts';
export { defineTool, TIERS } from './agent/tool.ts';
export type { Tool, ToolConfig, ToolContext, Tier, AnyTool } from './agent/tool.ts';
export { simulated } from './model/simulated.ts';
export { behaviourModel, DEFAULT_BEHAVIOUR_RATES } from './model/behaviour.ts';
export type { BehaviourOptions, BehaviourRates, BehaviourLatency } from './model/behaviour.ts';
export { PRICE_TABLE, resolvePricing } from './model/pricing.ts';
export type { ModelPricing } from './model/pricing.ts';
export type { WardenModel, ModelTurn } from './model/port.ts';
export { createWarden, Warden } from './runtime/warden.ts';
export type { WardenOptions, SubmitOptions, ExecuteOptions, ApprovalDecision, EscalationDecision } from './runtime/warden.ts';
export type { RunResult, ToolCallSummary, ToolCallOutcome } from './runtime/run-result.ts';
export type { AnyRunEvent, RunEvent, EventType, RunStatus, StopReason } from './runtime/events.ts';
export { explainEvent } from './observe/explain.ts';
export { rehearse, buildReport, reportText, reportHtml, resolveFaultProfile, FAULT_PROFILES, auditAgent, auditText } from './rehearse/index.ts';
export type { RehearsalOptions, RehearsalOutcome, RehearsalReport, FaultProfile, FaultRates, AuditReport, AuditFinding } from './rehearse/index.ts';
export { createSqliteStore } from './store/sqlite/sqlite-store.ts';
export type { Store } from './store/store.ts';
export { WardenError, isWardenError, ERROR_CODES } from './errors.ts';
export type { ErrorCode } from './errors.ts';
