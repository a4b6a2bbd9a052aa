import type { ConversationMessage, ModelFailure, ModelTurn, TokenUsage } from './ports/model.ts';
import type { ModelServer } from './ports/model.ts';
import type { PolicyDecision } from './tiers.ts';
import type { Limits } from './limits.ts';
import type { Tier } from './tiers.ts';
import type { PlanStep } from './plan.ts';
import type { PlanIssue } from './plan.ts';

/**
 * A run is an append-only log of these events; its state is a pure fold over them (`fold.ts`).
 *
 * Schema version of the payloads below. Bump it when a payload changes shape, add the change to
 * `docs/event-log.md`, and record fixtures of the new version (`test/fixtures/event-logs/`).
 */
export const EVENT_SCHEMA_VERSION = 2;

export type StopReason =
  | 'max_steps'
  | 'max_tool_calls'
  | 'max_retries'
  | 'wall_time'
  | 'cost_ceiling'
  | 'loop_detected'
  | 'denied'
  | 'cancelled'
  | 'plan_rejected'
  | 'deadlock'
  | 'max_depth'
  | 'max_children'
  /** The run's sessions kept ending with no outcome recorded (its process or worker died each time). */
  | 'crashed'
  /** A content guard blocked the request, the final answer or a tool's result (`guard.decided` says which and why). */
  | 'guard_blocked'
  /** A fleet budget (tenant, agent or all, per window) had no room left for the next reservation. */
  | 'budget_exhausted'
  /** The final answer never matched the agent's `output` schema within `limits.maxOutputRepairs`. */
  | 'invalid_output'
  /** The conversation the run is a turn of had no room left under `limits.maxConversationCostUsd`. */
  | 'conversation_ceiling';

/** `rehearsal`: recorded by `warden rehearse` against simulated tools; only a rehearsal agent drives it. */
export type RunMode = 'live' | 'shadow' | 'rehearsal';

/** What an approval nobody decided in time turns into. */
export type ApprovalTimeoutOutcome = 'deny' | 'escalate';

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'stopped' | 'waiting_approval' | 'escalated' | 'cancelled';

export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'stopped', 'cancelled']);
export const PARKED_STATUSES: ReadonlySet<RunStatus> = new Set(['waiting_approval', 'escalated']);

export interface ErrorInfo {
  code: string;
  message: string;
}

/** A model as `run.submitted` records it: its identity and the price its calls are held to. */
export interface SubmittedModel {
  provider: string;
  modelId: string;
  inputPerMTok: number;
  outputPerMTok: number;
  /** Host and port of the provider's base URL, when the model exposes one (OpenTelemetry `server.*`). */
  server?: ModelServer;
}

/** Which model a call went to (`provider/modelId` is its key: `modelKey`). */
export interface ModelRef {
  provider: string;
  modelId: string;
}

/** Why a step went on to the next model: its breaker was open, its error cannot be retried, or the run's retries for it are spent. */
export type FallbackReason = 'breaker_open' | 'not_retryable' | 'retries_exhausted';

/** Budget figures in nano-USD, as they stood when the event was written. */
export interface BudgetSnapshot {
  spentNano: number;
  reservedNano: number;
  ceilingNano: number;
}

export interface EventPayloads {
  'run.submitted': {
    agent: string;
    input: string;
    tenant: string;
    limits: Limits;
    rootRunId: string;
    parentRunId: string | null;
    /** Absolute path of the agent module, so `warden resume` can load it again. */
    agentFile?: string;
    /** Who submitted it (an API key id on the server), so that key cannot approve its actions. */
    submittedBy?: string;
    /** `shadow`: write and delete calls are recorded, not made. `rehearsal`: a rehearsal's run (simulated tools). Absent means live. */
    mode?: RunMode;
    /** v2: the conversation this run is a turn of (turns count from 1); a child run carries its root's, to spend against it. */
    conversation?: { id: string; turn: number };
    /** For a child run: its ancestors, root first (delegation depth and cycle checks). */
    lineage?: { runId: string; agent: string }[];
    /** Model identity and price the ceiling is enforced with. */
    model: SubmittedModel & {
      /** v2: the models tried after this one, in order (`model: [primary, fallback, …]`), each with its own price. Absent: none. */
      fallbacks?: SubmittedModel[];
    };
  };
  /** An execution session began (first start, or a resume after a crash or a decision). */
  'run.started': { worker: string; session: number; resumedFrom: number };
  'budget.reserved': {
    reservationId: string;
    purpose: 'model' | 'tool';
    amountNano: number;
    before: BudgetSnapshot;
    /** Fleet budget windows the reservation is also held in (keys: scope, window, window start). */
    fleet?: string[];
  };
  'budget.committed': {
    reservationId: string;
    actualNano: number;
    releasedNano: number;
    /** Set when the outcome was unknown (crash mid-call): the whole reservation counts as spent. */
    assumed?: boolean;
    after: BudgetSnapshot;
  };
  /**
   * A call cost more than was reserved for it: the provider reported more tokens than the request
   * allowed, or added input of its own beyond the margin. The actual is what the ledger records
   * (the truth); the run stops with `cost_ceiling` right after this event.
   */
  'budget.overrun': {
    reservationId: string;
    reservedNano: number;
    actualNano: number;
    /** Tokens the reservation was sized for (input bound incl. the provider margin, output cap). */
    reservedTokens: { input: number; output: number };
    /** Tokens the provider reported. */
    actualTokens: { input: number; output: number; cacheRead?: number; cacheWrite?: number };
    /**
     * True when the provider reported nothing and the figures are Warden's upper bound: a stream
     * cut for running past `maxOutputTokens` (output = UTF-8 bytes streamed, input = as reserved).
     */
    estimated?: true;
  };
  'model.called': {
    step: number;
    attempt: number;
    maxOutputTokens: number;
    turn: ModelTurn;
    costNano: number;
    latencyMs: number;
    /** v2: the fallback that answered, when it was not the primary (`run.submitted`'s model). */
    model?: ModelRef;
  };
  'model.failed': {
    step: number;
    attempt: number;
    failure: ModelFailure;
    /** v2: the fallback that failed, when it was not the primary. */
    model?: ModelRef;
    /** Backoff before the retry, when one follows. */
    retryInMs?: number;
    willRetry: boolean;
  };
  /**
   * v2: the step goes on to the next of the agent's models (`model: [primary, fallback, …]`) after
   * attempt `attempt` got no answer from `from` (its `model.failed` comes first). `index` is `to`'s
   * place in the list (1: the first fallback). The next attempt reserves at `to`'s price.
   */
  'model.fallback': { step: number; attempt: number; from: ModelRef; to: ModelRef; index: number; reason: FallbackReason; detail: string };
  /** The model proposed a call the runtime will not run: unknown tool or invalid arguments. */
  'tool.rejected': { callId: string; tool: string; error: ErrorInfo };
  'policy.decided': {
    callId: string;
    tool: string;
    tier: Tier;
    argsHash: string;
    decision: PolicyDecision;
    /** The rule that decided: `tier:delete`, `tool:refund.approval`, `rule:<name>`, … */
    rule: string;
    reason: string;
  };
  'approval.requested': {
    approvalId: string;
    callId: string;
    tool: string;
    tier: Tier;
    args: unknown;
    argsHash: string;
    reason: string;
    /** v2: when nobody decided by then (ms since the epoch), the approval expires with `onTimeout`. Absent: it waits. */
    expiresAt?: number;
    onTimeout?: ApprovalTimeoutOutcome;
  };
  'approval.decided': { approvalId: string; callId: string; decision: 'approved' | 'denied'; by: string; reason: string; argsHash: string };
  /**
   * v2: nobody decided the approval by its `expiresAt`. `denied`: the call is refused as a person's
   * denial would be; `escalated`: an `escalated` event follows in the same append, and the person
   * who answers that escalation decides the call.
   */
  'approval.expired': { approvalId: string; callId: string; expiresAt: number; outcome: 'denied' | 'escalated'; escalationId?: string };
  'tool.denied': { callId: string; tool: string; by: string; reason: string };
  'tool.started': { callId: string; tool: string; attempt: number; idempotencyKey: string };
  'tool.succeeded': { callId: string; tool: string; attempt: number; result: unknown; durationMs: number };
  'tool.failed': {
    callId: string;
    tool: string;
    attempt: number;
    error: ErrorInfo;
    durationMs: number;
    willRetry: boolean;
    retryInMs?: number;
    /** Set when a resumed run found the call started with no recorded outcome. */
    unknownOutcome?: boolean;
  };
  /** The run waits for a person to decide something no rule can. */
  escalated: { escalationId: string; reason: string; callId?: string; evidence: Record<string, unknown> };
  'escalation.decided': {
    escalationId: string;
    /** approve: run the step as proposed (or again); edit: run it with `args`; takeover: `output` is the final answer. */
    decision: 'approve' | 'edit' | 'takeover' | 'stop';
    by: string;
    reason: string;
    args?: unknown;
    argsHash?: string;
    output?: string;
  };
  'limit.hit': { limit: StopReason; detail: string };
  /** Plan mode: the model proposed a plan (the `submit_plan` call). */
  'plan.proposed': { callId: string; planId: string; steps: PlanStep[] };
  /** The plan cannot run, for these reasons; the model is told all of them. */
  'plan.rejected': { callId: string; planId: string; issues: PlanIssue[]; rejections: number };
  'plan.verified': {
    callId: string;
    planId: string;
    /** Step ids in an order that respects every dependency. */
    order: string[];
    estimateNano: number;
    /** Steps the policy would ask a person about. */
    needsApproval: string[];
    /** True when a person approves the plan as a whole before it is accepted. */
    awaitsApproval: boolean;
  };
  /** A call that is not the plan's next step passed verification on its own. */
  'plan.amended': { callId: string; tool: string; reason: string };
  /** Why a proposed step goes ahead or goes to a person: its plan step, confidence and the verdict. */
  'step.assessed': {
    callId: string | null;
    planStep: string | null;
    deviation: boolean;
    confidence: number | null;
    threshold: number | null;
    factors: string[];
    verdict: 'proceed' | 'escalate';
    reason: string;
  };
  /** A delegation started a child run (its own log, the parent's ceiling). */
  'child.spawned': { callId: string; childRunId: string; agent: string; depth: number };
  /** The child waits for a person, so the parent waits too. */
  'child.waiting': { callId: string; childRunId: string; status: 'waiting_approval' | 'escalated'; pendingId: string; reason: string };
  /** The child the parent waited on moved on; the parent goes on. */
  'child.resumed': { callId: string; childRunId: string };
  /** Shadow mode: the call the agent would have made, and the policy decision it would have met. */
  'tool.shadowed': {
    callId: string;
    tool: string;
    tier: Tier;
    args: unknown;
    decision: PolicyDecision;
    rule: string;
    reason: string;
    /** What the model was given instead of a real result. */
    standIn: unknown;
  };
  /** A person (or the saga option) asked to reverse the run's executed calls, newest first. */
  'undo.started': { by: string; reason: string; order: { callId: string; tool: string; reversible: boolean }[] };
  'compensation.requested': { callId: string; approvalId: string; tool: string; reason: string };
  'compensation.decided': {
    callId: string;
    interventionId: string;
    /** approve: go ahead (or try again); skip: leave this call as it is; done: a person reversed it by hand. */
    decision: 'approve' | 'skip' | 'done';
    by: string;
    reason: string;
  };
  'compensation.started': { callId: string; tool: string; attempt: number; idempotencyKey: string };
  'compensation.succeeded': { callId: string; tool: string; attempt: number; result: unknown; durationMs: number };
  'compensation.failed': { callId: string; tool: string; attempt: number; error: ErrorInfo; willRetry: boolean; unknownOutcome?: boolean };
  'compensation.escalated': { callId: string; escalationId: string; tool: string; reason: string };
  'undo.completed': { reversed: string[]; skipped: string[]; irreversible: { callId: string; tool: string }[] };
  /**
   * A content guard blocked, redacted or escalated a value (allows are not recorded). The value it
   * saw is never in this event; a redacted one is what the events after it carry.
   */
  'guard.decided': { stage: 'input' | 'output' | 'toolResult'; guard: string; verdict: 'block' | 'redact' | 'escalate'; reason: string; callId?: string };
  /** A fleet budget's spend crossed one of its `alertAt` fractions in this window (announced once per threshold per window). */
  'budget.alert': { budget: string; scope: string; window: string; threshold: number; spentNano: number; limitNano: number };
  /** A circuit breaker changed state after this run's call (open: calls refused for a while). */
  'breaker.changed': { key: string; state: 'closed' | 'open' | 'half_open' };
  /** The run waited for the scheduler: a provider's rate limit, or a tool's concurrency slot. */
  'scheduler.waited': { reason: 'rate_limit' | 'tool_slot'; key: string; ms: number };
  /** A call with a `lockKey` took its lock (after waiting `waitedMs` for another holder). */
  'lock.acquired': { callId: string; key: string; waitedMs: number };
  'cancel.requested': { by: string; reason: string };
  /** `value` (v2): the answer parsed and checked against the agent's `output` schema, when it has one. */
  'run.completed': { output: string; value?: unknown };
  /**
   * v2: the final answer did not match the agent's `output` schema; the model is told why and
   * answers again (repair `repair` of `limits.maxOutputRepairs`), or the run stops `invalid_output`.
   */
  'output.rejected': { step: number; repair: number; errors: string[] };
  /**
   * v2: what a conversation's turn is told of the earlier turns, decided once before its first
   * model call by the agent's history policy: each kept turn's messages, and the summary of those
   * left out when the policy summarizes. Every model call of the turn sends these first.
   */
  'conversation.history': {
    /** The earlier turns kept whole, oldest first. */
    turns: { turn: number; messages: ConversationMessage[] }[];
    /** The model's summary of the turns before the kept ones, through turn `throughTurn`. */
    summary?: { throughTurn: number; text: string };
    /** Earlier turns left out of `turns` (summarized or dropped). */
    dropped: number;
    /** Upper bound on the tokens of the history sent (the reservation's measure). */
    tokens: number;
  };
  /**
   * v2: the history policy asked the model to summarize the earlier turns (through `throughTurn`);
   * the call's reservation and settlement are the `budget.*` events around it.
   */
  'conversation.summarized': { reservationId: string; throughTurn: number; summary: string; costNano: number; usage: TokenUsage; latencyMs: number };
  'run.failed': { error: ErrorInfo };
  'run.stopped': { reason: StopReason; detail: string };
  'run.cancelled': { by: string; reason: string };
}

export type EventType = keyof EventPayloads;

/**
 * Every event type, with the schema version that introduced it; the record makes TypeScript refuse
 * a type left out. The fold refuses a type at a version older than the one that introduced it: a
 * new type comes with a new version, so an older Warden reading a newer log says so instead of
 * skipping a decision it does not know.
 */
const EVENT_TYPE_SINCE: Record<EventType, number> = {
  'run.submitted': 1,
  'run.started': 1,
  'budget.reserved': 1,
  'budget.committed': 1,
  'budget.overrun': 1,
  'model.called': 1,
  'model.failed': 1,
  'model.fallback': 2,
  'tool.rejected': 1,
  'policy.decided': 1,
  'approval.requested': 1,
  'approval.decided': 1,
  'approval.expired': 2,
  'guard.decided': 2,
  'budget.alert': 2,
  'tool.denied': 1,
  'tool.started': 1,
  'tool.succeeded': 1,
  'tool.failed': 1,
  escalated: 1,
  'escalation.decided': 1,
  'limit.hit': 1,
  'plan.proposed': 1,
  'plan.rejected': 1,
  'plan.verified': 1,
  'plan.amended': 1,
  'step.assessed': 1,
  'child.spawned': 1,
  'child.waiting': 1,
  'child.resumed': 1,
  'tool.shadowed': 1,
  'undo.started': 1,
  'compensation.requested': 1,
  'compensation.decided': 1,
  'compensation.started': 1,
  'compensation.succeeded': 1,
  'compensation.failed': 1,
  'compensation.escalated': 1,
  'undo.completed': 1,
  'breaker.changed': 1,
  'scheduler.waited': 1,
  'lock.acquired': 1,
  'cancel.requested': 1,
  'run.completed': 1,
  'output.rejected': 2,
  'conversation.history': 2,
  'conversation.summarized': 2,
  'run.failed': 1,
  'run.stopped': 1,
  'run.cancelled': 1,
};

export const EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(EVENT_TYPE_SINCE));

/** Whether schema version `v` defines `type` (every version defines the types of the ones before it). */
export function definesEventType(v: number, type: string): boolean {
  const since = (EVENT_TYPE_SINCE as Record<string, number | undefined>)[type];
  return since !== undefined && since <= v;
}

/** An event as stored: its place in the run's log, when, and the payload's schema version. */
export interface RunEvent<T extends EventType = EventType> {
  runId: string;
  seq: number;
  type: T;
  /** Milliseconds since the epoch. */
  at: number;
  v: number;
  data: EventPayloads[T];
}

/** An event not yet written: the store assigns `runId` and `seq`. */
export interface NewEvent<T extends EventType = EventType> {
  type: T;
  at: number;
  v: number;
  data: EventPayloads[T];
}

export type AnyRunEvent = { [T in EventType]: RunEvent<T> }[EventType];
export type AnyNewEvent = { [T in EventType]: NewEvent<T> }[EventType];

/** A model's key in the trace, its breaker and metrics: `provider/modelId`. */
export function modelKey(model: ModelRef): string {
  return `${model.provider}/${model.modelId}`;
}

/**
 * The model a `model.called` or `model.failed` went to, as `run.submitted` lists it (identity,
 * price, server): the fallback it names, else the primary.
 */
export function modelCalled(submitted: EventPayloads['run.submitted']['model'], ref: ModelRef | undefined): SubmittedModel {
  if (!ref) return submitted;
  return submitted.fallbacks?.find((f) => f.provider === ref.provider && f.modelId === ref.modelId) ?? { ...ref, inputPerMTok: 0, outputPerMTok: 0 };
}

export function newEvent<T extends EventType>(type: T, data: EventPayloads[T], at = Date.now()): NewEvent<T> {
  return { type, at, v: EVENT_SCHEMA_VERSION, data };
}
