/**
 * Warden's public API. A curated list: anything not exported here is internal.
 */
export { defineAgent } from './agent/agent.ts';
export { DEFAULT_LIMITS, DEFAULT_LOOP_DETECTION, DEFAULT_BACKOFF } from './core/limits.ts';
export type { Agent, AgentConfig, OutputOf, PlanSettings, PolicyConfig, PolicyRule } from './agent/agent.ts';
export type { AgentModel, ModelChoice, PricedModel } from './agent/agent-models.ts';
export type { PolicyDecision } from './core/tiers.ts';
export type { Limits, LoopDetection, RetryBackoff } from './core/limits.ts';
export { DEFAULT_DELEGATION, DEFAULT_PARALLEL_TOOL_CALLS } from './agent/agent-options.ts';
export type { PlanOptions, EscalationOptions, DelegationLimits } from './agent/agent-options.ts';
export type { ContentGuard, GuardInfo, GuardStage, GuardVerdict, GuardsConfig } from './agent/content-guard.ts';
export { cardNumberGuard, emailGuard, REDACTED, secretsGuard } from './guard/builtin-guards.ts';
export { PLAN_TOOL } from './core/plan.ts';
export type { Plan, PlanStep } from './core/plan.ts';
export { defaultConfidenceScorer } from './guard/confidence.ts';
export type { ConfidenceSignals, ConfidenceScore, ConfidenceScorer } from './core/confidence.ts';
export type { PlanIssue, PlanIssueCode } from './core/plan.ts';
export { defineTool } from './agent/tool.ts';
export { TIERS } from './core/tiers.ts';
export type { Tool, ToolConfig, ToolContext, AnyTool } from './agent/tool.ts';
export type { Tier } from './core/tiers.ts';
export { simulated } from './model/simulated.ts';
export type { SimulatedTurn, SimulatedToolCall, SimulatedOptions } from './model/simulated-types.ts';
export type { SimulatedView, SimulatedToolOutcome, SimulatedResponder } from './model/simulated-respond.ts';
export { behaviourModel, DEFAULT_BEHAVIOUR_RATES } from './model/behaviour.ts';
export type { BehaviourOptions, BehaviourRates, BehaviourLatency } from './model/behaviour.ts';
export { resolvePrice, resolvePricing } from './model/pricing.ts';
export type { PriceSource, ResolvedPrice } from './model/pricing.ts';
export type { ModelPricing } from './model/model-pricing.ts';
export type { WardenModel, ModelTurn } from './core/ports/model.ts';
export { createWarden, Warden } from './runtime/warden.ts';
export type {
  WardenOptions,
  SubmitOptions,
  ExecuteOptions,
  RunOptions,
  RunStream,
  StreamOptions,
  ApprovalDecision,
  EscalationDecision,
  StopTarget,
} from './runtime/warden.ts';
export type { RunResult, ToolCallSummary, ToolCallOutcome } from './runtime/run-result.ts';
export type { AnyRunEvent, RunEvent, EventType, RunStatus, StopReason } from './core/events.ts';
export type { CommittedEvents, EventListener } from './runtime/warden.ts';
export type { TextDelta, TextListener } from './runtime/text-stream.ts';
export { explainEvent } from './observe/explain.ts';
export { createMetrics, WardenMetrics } from './observe/metrics.ts';
export type { MetricsOptions, BreakerState } from './observe/metrics.ts';
export { createTracing, tracingFromEnv, otlpTracesUrl, WardenTracing } from './observe/otel.ts';
export type { TracingOptions } from './observe/otel.ts';
export { traceIdOf } from './observe/otel/trace-ids.ts';
export { replayRun, replayMany, exportRun, readRunExport, RUN_EXPORT_VERSION } from './observe/replay/index.ts';
export type { ReplayReport, ReplaySummary, RunExport, DivergenceKind } from './observe/replay/index.ts';
export { applyRetention, previewRetention } from './observe/retention/index.ts';
export type { ApplyRetentionOptions, RetentionOutcome, RetentionPreview } from './observe/retention/index.ts';
export { resolveRetention, RETENTION_FLOOR_DAYS } from './core/retention.ts';
export type { RetentionPolicy, RetentionRule, ResolvedRetention } from './core/retention.ts';
export { checkDrift, raiseDriftAlerts, DRIFT_EVENT } from './observe/drift/index.ts';
export type { DriftReport, DriftOptions, DimensionDrift } from './observe/drift/index.ts';
export { rehearse, buildReport, reportText, reportHtml, resolveFaultProfile, FAULT_PROFILES, auditAgent, auditText } from './rehearse/index.ts';
export type { RehearsalOptions, RehearsalOutcome, RehearsalReport, FaultProfile, FaultRates, AuditReport, AuditFinding } from './rehearse/index.ts';
export { createSqliteStore, type SqliteStoreOptions } from './store/sqlite/sqlite-store.ts';
export type { Durability } from './store/sqlite/open-database.ts';
export { mcpTools, mcpTier, closeAllMcp } from './tools/mcp/mcp-tools.ts';
export type { McpToolsOptions, McpServerSpec, McpToolSet, McpOrigin } from './tools/mcp/mcp-tools.ts';
export { fromAiSdkTools } from './tools/adapters/ai-sdk-tools.ts';
export type { FromAiSdkToolsOptions } from './tools/adapters/ai-sdk-tools.ts';
export { fromOpenAIAgentsTools } from './tools/adapters/openai-agents-tools.ts';
export type { FromOpenAIAgentsToolsOptions, OpenAIAgentsFunctionTool } from './tools/adapters/openai-agents-tools.ts';
export { createPostgresStore, type PostgresStoreOptions } from './store/postgres/postgres-store.ts';
export type { ClaimOptions, ExpiryCutoffs, ExpiryReport, ExpirySummary, ExpiredTree, Store } from './core/ports/store.ts';
export type { ConversationFilter, ConversationRecord, ConversationStatus } from './core/ports/store.ts';
export type { ConversationOptions, HistoryPolicy, SummarizeOptions } from './agent/conversation-options.ts';
export { conversationView, type ConversationView } from './runtime/conversation-turns.ts';
export { Worker, type WorkerOptions } from './scheduler/worker.ts';
export { agentsByRecordedPath, agentsFromDir, type AgentCatalog } from './scheduler/agent-catalog.ts';
export { WardenError, isWardenError, ERROR_CODES } from './core/errors.ts';
export type { ErrorCode } from './core/errors.ts';
