/**
 * Warden's public API. A curated list: anything not exported here is internal.
 */
export { defineAgent, DEFAULT_LIMITS, DEFAULT_LOOP_DETECTION, DEFAULT_BACKOFF } from './agent/agent.ts';
export type { Agent, AgentConfig, Limits, LoopDetection, PolicyConfig, PolicyRule, PolicyDecision, RetryBackoff } from './agent/agent.ts';
export { DEFAULT_DELEGATION, DEFAULT_PARALLEL_TOOL_CALLS } from './agent/agent-options.ts';
export type { PlanOptions, EscalationOptions, DelegationLimits } from './agent/agent-options.ts';
export { PLAN_TOOL } from './agent/plan.ts';
export type { Plan, PlanStep } from './agent/plan.ts';
export { defaultConfidenceScorer } from './guard/confidence.ts';
export type { ConfidenceSignals, ConfidenceScore, ConfidenceScorer } from './guard/confidence.ts';
export type { PlanIssue, PlanIssueCode } from './guard/plan-verifier.ts';
export { defineTool, TIERS } from './agent/tool.ts';
export type { Tool, ToolConfig, ToolContext, Tier, AnyTool } from './agent/tool.ts';
export { simulated } from './model/simulated.ts';
export { PRICE_TABLE, resolvePricing } from './model/pricing.ts';
export type { ModelPricing } from './model/pricing.ts';
export type { WardenModel, ModelTurn } from './model/port.ts';
export { createWarden, Warden } from './runtime/warden.ts';
export type { WardenOptions, SubmitOptions, ExecuteOptions, ApprovalDecision, EscalationDecision, StopTarget } from './runtime/warden.ts';
export type { RunResult, ToolCallSummary, ToolCallOutcome } from './runtime/run-result.ts';
export type { AnyRunEvent, RunEvent, EventType, RunStatus, StopReason } from './runtime/events.ts';
export type { CommittedEvents, EventListener } from './runtime/warden.ts';
export { explainEvent } from './observe/explain.ts';
export { createMetrics, WardenMetrics } from './observe/metrics.ts';
export type { MetricsOptions, BreakerState } from './observe/metrics.ts';
export { createTracing, tracingFromEnv, otlpTracesUrl, WardenTracing } from './observe/otel.ts';
export type { TracingOptions } from './observe/otel.ts';
export { traceIdOf } from './observe/otel/trace-ids.ts';
export { replayRun, replayMany, exportRun, readRunExport, RUN_EXPORT_VERSION } from './observe/replay/index.ts';
export type { ReplayReport, ReplaySummary, RunExport, DivergenceKind } from './observe/replay/index.ts';
export { checkDrift, raiseDriftAlerts, DRIFT_EVENT } from './observe/drift/index.ts';
export type { DriftReport, DriftOptions, DimensionDrift } from './observe/drift/index.ts';
export { createSqliteStore } from './store/sqlite/sqlite-store.ts';
export type { Store } from './store/store.ts';
export { WardenError, isWardenError, ERROR_CODES } from './errors.ts';
export type { ErrorCode } from './errors.ts';
