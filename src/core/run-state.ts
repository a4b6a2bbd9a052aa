// The state of a run: what the fold of its log holds. Types only; `fold.ts` builds it, and every
// layer above reads it.

import type { ErrorInfo, EventPayloads, RunMode, RunStatus, StopReason } from './events.ts';
import type { Limits } from './limits.ts';
import type { PlanStep } from './plan.ts';
import type { ConversationMessage, ModelTurn } from './ports/model.ts';
import type { PolicyDecision, Tier } from './tiers.ts';

export type CallStatus =
  | 'proposed' // the model asked for it; not yet checked
  | 'rejected' // unknown tool or invalid arguments: never run
  | 'denied' // policy or a person said no
  | 'pending_approval' // waiting for a person
  | 'ready' // allowed or approved; will run
  | 'running' // tool.started written, no outcome yet
  | 'executed'
  | 'failed' // failed after its retries
  | 'escalated' // outcome unknown, waiting for a person
  | 'skipped'; // the run ended before it could run

export interface CallState {
  callId: string;
  tool: string;
  args: unknown;
  argsHash: string;
  /** Set when the model's arguments were not JSON. */
  parseError?: string;
  step: number;
  tier?: Tier;
  status: CallStatus;
  decision?: { decision: PolicyDecision; rule: string; reason: string };
  approvalId?: string;
  approvedBy?: string;
  attempts: number;
  result?: unknown;
  error?: ErrorInfo;
  /** The message the model sees about this call when it was not executed. */
  note?: string;
  /** Plan mode: the verified plan's step this call carries out. */
  planStep?: string | null;
  /** The call departs from the plan but passed verification on its own. */
  amended?: boolean;
  /** Confidence score at assessment, when scored. */
  confidence?: number | null;
  /** A person cleared it at an escalation: it is not scored or escalated again. */
  cleared?: boolean;
  /** Shadow mode: recorded, not made; `result` is the stand-in the model got. */
  shadowed?: boolean;
  /** How many times a person edited the arguments (each edit is checked and approved afresh). */
  edits?: number;
}

export interface PlanStepState {
  step: PlanStep;
  status: 'pending' | 'matched' | 'done' | 'failed';
  callId?: string;
}

/** The plan the run follows, once verified. */
export interface ActivePlan {
  planId: string;
  callId: string;
  steps: Map<string, PlanStepState>;
  order: string[];
  /** False while a person has yet to approve the plan as a whole. */
  accepted: boolean;
  approvedBy: string | null;
  approvalId: string | null;
}

export interface TurnRecord {
  step: number;
  turn: ModelTurn;
  callIds: string[];
  /** Why this turn's answer was refused (it did not match the agent's `output` schema); told to the model. */
  rejectedOutput?: string[];
}

export interface PendingIntervention {
  id: string;
  kind: 'approval' | 'escalation';
  callId?: string;
  reason: string;
  /** Set when the intervention belongs to a child run this run waits on. */
  childRunId?: string;
  /** An approval's deadline (ms since the epoch), when it has one. */
  expiresAt?: number;
}

/** Everything the runtime needs to decide the next step, derived from the log alone. */
export interface RunState {
  runId: string;
  agent: string;
  tenant: string;
  input: string;
  rootRunId: string;
  parentRunId: string | null;
  agentFile?: string;
  limits: Limits;
  model: EventPayloads['run.submitted']['model'];
  seq: number;
  status: RunStatus;
  stopReason: StopReason | null;
  stopDetail: string | null;
  output: string | null;
  /** The final answer parsed against the agent's `output` schema (structured output); undefined otherwise. */
  outputValue?: unknown;
  /** Final answers refused for not matching the `output` schema so far. */
  outputRepairs: number;
  error: ErrorInfo | null;
  createdAt: number;
  lastEventAt: number;
  /** Time the run spent being worked on, excluding time parked waiting for a person. */
  activeMs: number;
  sessions: number;
  /** Sessions that started and left neither an end nor a park: their process or worker died. */
  crashedSessions: number;
  /** True from `run.started` until the run ends or parks; still true at the next start means a crash. */
  sessionOpen: boolean;
  /** Model calls that returned (the step count). */
  steps: number;
  /**
   * Which of the agent's models the current step calls (0: the primary; `model.fallback` moves it
   * on) and the attempt it started at, so a retry of a fallback is told from the switch to it.
   */
  stepModel: { index: number; since: number };
  /** Attempts at the current step's model call (1 on the first try). */
  stepAttempts: number;
  /** Tool executions started (first attempts only). */
  toolCalls: number;
  /** Retries of any kind so far: model, tool, and rejected proposals. */
  retries: number;
  spentNano: number;
  ceilingNano: number;
  /** Reservations written but not yet settled, by id. */
  openReservations: Map<string, number>;
  calls: Map<string, CallState>;
  turns: TurnRecord[];
  pending: PendingIntervention | null;
  cancelRequested: { by: string; reason: string } | null;
  /** Steps at which each (tool, args, result) triple was seen. */
  repeats: Map<string, RepeatRecord>;
  /** The triple the latest successful call produced. */
  lastRepeat: RepeatRecord | null;
  /** (tool, args) pairs and (tool, args, result) triples seen so far, to tell progress. */
  seen: Set<string>;
  /** Consecutive completed steps that produced nothing new. */
  stepsWithoutProgress: number;
  /** The conversation this run is a turn of (from `run.submitted`), or null for a run on its own. */
  conversation: { id: string; turn: number } | null;
  /** What this turn is told of the conversation's earlier turns (`conversation.history`); null until decided. */
  history: ConversationHistory | null;
  /** Ancestors of a child run, root first; empty for a root. */
  lineage: { runId: string; agent: string }[];
  /** Fleet budget windows each open reservation is held in, by reservation id (settled in the same windows). */
  reservationFleet?: Map<string, string[]>;
  /** True once a person decided on the request an input guard escalated (`guard_input`). */
  inputGuardCleared?: true;
  /** The plan proposed most recently (plan mode), before or after verification. */
  proposedPlan: { planId: string; callId: string; steps: PlanStep[] } | null;
  plan: ActivePlan | null;
  planRejections: number;
  /** Child runs by the delegation call that started them. */
  children: Map<string, { childRunId: string; agent: string }>;
  mode: RunMode;
  /** Calls that really ran, in the order they succeeded (what an undo reverses, newest first). */
  executedOrder: string[];
  undo: UndoState | null;
  /** How many times each thing happened (model answers, decisions, approvals, …): see `fold-tally.ts`. */
  tally: RunTally;
}

/** The earlier turns of a conversation as one turn sends them to the model (`conversation.history`). */
export interface ConversationHistory {
  turns: { turn: number; messages: ConversationMessage[] }[];
  summary?: { throughTurn: number; text: string };
}

export interface RepeatRecord {
  tool: string;
  args: unknown;
  steps: number[];
}

export type CompensationStatus =
  | 'pending' // will run
  | 'irreversible' // no compensation declared: left alone
  | 'approval' // waits for a person
  | 'approved' // a person said go (or try again)
  | 'running' // compensation.started written, no outcome yet
  | 'retry' // failed, will be tried again
  | 'done'
  | 'skipped' // a person said leave it
  | 'escalated'; // failed after its retries: a person decides

export interface CompensationState {
  callId: string;
  tool: string;
  status: CompensationStatus;
  attempts: number;
  approvalId?: string;
  escalationId?: string;
  result?: unknown;
}

/** An undo in progress or done: the run's executed calls, newest first, and where each stands. */
export interface UndoState {
  status: 'running' | 'completed';
  by: string;
  order: string[];
  compensations: Map<string, CompensationState>;
  /** The intervention the undo waits for, if any. */
  waiting: string | null;
}

/**
 * The counts of a run that its state does not keep: how many times something happened, as opposed
 * to where things stand. The fold keeps them (`RunState.tally`) through `TALLY` below, and the
 * projection (`projection.ts`) reads them; metrics count the same events through `tallyEvent`, so
 * every view of a run agrees on every figure.
 */
export interface RunTally {
  /** Model calls that returned an answer (one per step). */
  modelAnswers: number;
  /** Model calls that failed, by failure kind (`rate_limited`, `server_error`, …). */
  modelFailures: Record<string, number>;
  /** Model answers by the model that gave them (`provider/modelId`): the primary's, and each fallback's. */
  answeredBy: Record<string, number>;
  /** Steps that went on to a fallback model, by why (`breaker_open`, `not_retryable`, `retries_exhausted`). */
  fallbacks: Record<string, number>;
  /** Tool calls the model proposed; the plan submission (`submit_plan`) is counted in `planSubmissions`, not here. */
  proposed: number;
  planSubmissions: number;
  plansRejected: number;
  plansVerified: number;
  /**
   * Checks proposed calls met: `rejected` (unknown tool, invalid arguments or plan deviation, the
   * plan submission excluded), or the policy's decision. A call a person edits or sends back at an
   * escalation is checked again, so these can exceed `proposed`.
   */
  decisions: { allow: number; approve: number; deny: number; rejected: number };
  /** Tool calls that started (first attempts only: what `maxToolCalls` counts), by the tier the policy saw. */
  ran: Record<Tier, number>;
  /** Tool executions that finished: succeeded, or failed after their retries. */
  executions: { succeeded: number; failed: number };
  /** Shadow mode: write and delete calls recorded, not made. */
  shadowed: number;
  /** Retries: model calls, tool calls, and rejected proposals (the model is asked again). */
  retries: { model: number; tool: number; rejected: number };
  /** Approvals asked of a person (the plan's included) and how they closed: decided, or expired with nobody deciding (then denied, or escalated). */
  approvals: { requested: number; approved: number; denied: number; expiredDenied: number; expiredEscalated: number };
  /** Escalations to a person, by reason (`low_confidence`, `unknown_outcome`, …). */
  escalations: Record<string, number>;
  /** Confidence-gate assessments (`step.assessed`): of calls and final answers, and how many went to a person. */
  assessments: { total: number; belowThreshold: number; escalated: number };
  /** Calls that cost more than was reserved for them. */
  overruns: number;
  /** Child runs started by delegation. */
  children: number;
  /** Compensations (undo): started first attempts, succeeded, failed for good (then escalated). */
  compensations: { started: number; succeeded: number; failed: number };
  /** Final answers refused for not matching the agent's `output` schema (each sent back to the model). */
  outputsRejected: number;
  /** Content guards that did not simply allow a value: blocked, redacted or escalated it. */
  guards: { block: number; redact: number; escalate: number };
}
