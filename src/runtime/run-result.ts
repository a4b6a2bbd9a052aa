import type { Tier } from '../core/tiers.ts';
import { nanoToUsd } from '../core/money.ts';
import type { ErrorInfo, RunMode, RunStatus, StopReason } from '../core/events.ts';
import type { RunState } from '../core/run-state.ts';
import { callOutcome, projectState, type RunProjection, type ToolCallOutcome } from '../core/projection.ts';

export type { ToolCallOutcome };

export interface ToolCallSummary {
  callId: string;
  step: number;
  tool: string;
  tier: Tier | null;
  status: ToolCallOutcome;
  args: unknown;
  /** The rule that decided, e.g. `tier:delete`. */
  rule: string | null;
  approvalId: string | null;
  approvedBy: string | null;
  attempts: number;
  error: ErrorInfo | null;
  /** The policy decision the call met (for a shadowed call: the one it would have met). */
  decision?: 'allow' | 'approve' | 'deny';
}

/** The public summary of a run: a contract (`--json`, the HTTP API). */
/**
 * A run as its log says it is. `output` is the final answer: the text, or — for an agent with an
 * `output` schema — the value parsed from it, typed from the schema (`RunResult<z.infer<…>>`).
 */
export interface RunResult<T = string> {
  runId: string;
  agent: string;
  tenant: string;
  status: RunStatus;
  /** Null when the run completed (or is not finished). */
  stopReason: StopReason | null;
  stopDetail: string | null;
  output: T | null;
  /** The final answer as the model wrote it (for a structured answer, its JSON text). */
  outputText: string | null;
  error: ErrorInfo | null;
  /** `shadow` when write and delete calls were recorded, not made. */
  mode: RunMode;
  /** What this run itself spent. */
  costUsd: number;
  ceilingUsd: number;
  /**
   * What the whole request spent: this run, its retries and every child run (the ledger the
   * ceiling is enforced on). Equal to `costUsd` for a run that delegated nothing.
   */
  requestCostUsd?: number;
  steps: number;
  retries: number;
  toolCalls: ToolCallSummary[];
  /** What the run waits for, when it is parked. */
  pending: { kind: 'approval' | 'escalation'; id: string; callId: string | null; tool: string | null; args: unknown; reason: string } | null;
  parentRunId: string | null;
  rootRunId: string;
  /** The conversation the run is a turn of, and which turn; absent for a run on its own. */
  conversation?: { id: string; turn: number };
  events: number;
  createdAt: string;
  activeMs: number;
  /** The run's figures (`core/projection.ts`): the same in every view. `toolCalls` above lists every call, the plan submission included. */
  summary: RunProjection;
}

export function toRunResult(state: RunState): RunResult<unknown> {
  const toolCalls: ToolCallSummary[] = [];
  for (const c of state.calls.values()) {
    toolCalls.push({
      callId: c.callId,
      step: c.step,
      tool: c.tool,
      tier: c.tier ?? null,
      status: callOutcome(c, state.status),
      args: c.args,
      rule: c.decision?.rule ?? null,
      approvalId: c.approvalId ?? null,
      approvedBy: c.approvedBy ?? null,
      attempts: c.attempts,
      error: c.error ?? null,
      ...(c.decision ? { decision: c.decision.decision } : {}),
    });
  }
  const pendingCall = state.pending?.callId ? state.calls.get(state.pending.callId) : undefined;
  return {
    runId: state.runId,
    agent: state.agent,
    tenant: state.tenant,
    mode: state.mode,
    status: state.status,
    stopReason: state.stopReason,
    stopDetail: state.stopDetail,
    output: state.outputValue !== undefined ? state.outputValue : state.output,
    outputText: state.output,
    error: state.error,
    costUsd: nanoToUsd(state.spentNano),
    ceilingUsd: nanoToUsd(state.ceilingNano),
    steps: state.steps,
    retries: state.retries,
    toolCalls,
    pending: state.pending
      ? {
          kind: state.pending.kind,
          id: state.pending.id,
          callId: state.pending.callId ?? null,
          tool: pendingCall?.tool ?? null,
          args: pendingCall?.args ?? null,
          reason: state.pending.reason,
        }
      : null,
    parentRunId: state.parentRunId,
    rootRunId: state.rootRunId,
    ...(state.conversation ? { conversation: { ...state.conversation } } : {}),
    events: state.seq,
    createdAt: new Date(state.createdAt).toISOString(),
    activeMs: state.activeMs,
    summary: projectState(state),
  };
}
