import { TERMINAL_STATUSES, type AnyRunEvent, type RunMode, type RunStatus, type StopReason } from './events.ts';
import { foldRun } from './fold.ts';
import { type RunTally, totalRetries } from './fold-tally.ts';
import { nanoToUsd } from './money.ts';
import { PLAN_TOOL } from './plan.ts';
import type { CallState, CompensationStatus, RunState } from './run-state.ts';
import type { Tier } from './tiers.ts';

/** How a tool call ended up, as reported to users (`--json`, the API). */
export type ToolCallOutcome =
  | 'executed'
  | 'denied'
  | 'pending_approval'
  | 'rejected'
  | 'failed'
  | 'escalated'
  /** Shadow mode: recorded with its policy decision, not made. */
  | 'shadowed'
  | 'running'
  | 'queued'
  | 'skipped';

export const TOOL_CALL_OUTCOMES: readonly ToolCallOutcome[] = [
  'executed',
  'shadowed',
  'denied',
  'rejected',
  'failed',
  'pending_approval',
  'escalated',
  'running',
  'queued',
  'skipped',
];

/** The outcome of one call as every view names it. */
export function callOutcome(c: CallState, runStatus: RunStatus): ToolCallOutcome {
  if (c.shadowed) return 'shadowed';
  switch (c.status) {
    case 'proposed':
    case 'ready':
      return TERMINAL_STATUSES.has(runStatus) ? 'skipped' : 'queued';
    default:
      return c.status;
  }
}

/**
 * Where an undo stands, for the run as a whole: `none` (never asked), `running`,
 * `waiting_for_person` (a compensation waits for an approval, or failed and a person decides),
 * `done` (every call reversed, skipped by a person or left as irreversible).
 */
export type UndoPhase = 'none' | 'running' | 'waiting_for_person' | 'done';

/** One compensation's state in words: what it is, not how the engine tracks it. */
export type UndoStepLabel = 'planned' | 'running' | 'retrying' | 'waiting_for_person' | 'failed_waiting_for_person' | 'done' | 'skipped' | 'irreversible';

/** Names a compensation's state for people (`warden undo`, the summary). */
export function undoStepLabel(status: CompensationStatus): UndoStepLabel {
  switch (status) {
    case 'pending':
    case 'approved':
      return 'planned';
    case 'approval':
      return 'waiting_for_person';
    case 'escalated':
      return 'failed_waiting_for_person';
    case 'retry':
      return 'retrying';
    default:
      return status;
  }
}

/**
 * A run's figures, derived from its log alone (the fold and its tally). Every view — `warden run`,
 * `runs show`/`list`, the API and dashboard, replay, rehearsal, metrics, OpenTelemetry — reads
 * these and counts nothing of its own.
 */
export interface RunProjection {
  runId: string;
  agent: string;
  mode: RunMode;
  status: RunStatus;
  stopReason: StopReason | null;
  stopDetail: string | null;
  /** Model turns that returned an answer. */
  steps: number;
  /** Model calls: answered (= steps) and failed attempts. */
  modelCalls: { answered: number; failed: number };
  /**
   * Which models answered (`provider/modelId` → answers) and the steps that fell back to the next
   * model, by why. Only the primary's key unless the agent has fallbacks and one was used.
   */
  models: { answeredBy: Record<string, number>; fallbacks: number; fallbacksByReason: Record<string, number> };
  toolCalls: {
    /** Calls that started (first attempts; the plan submission and shadowed calls never start). What `maxToolCalls` counts and `runs list` shows. */
    ran: number;
    ranByTier: Record<Tier, number>;
    /** Calls the model proposed, the plan submission not included. */
    proposed: number;
    /** Where each proposed call ended up (sums to `proposed`). */
    byStatus: Record<ToolCallOutcome, number>;
    /** Executions that finished: succeeded, or failed after their retries. */
    finished: { succeeded: number; failed: number };
  };
  /** Plan mode: plan submissions (`submit_plan` calls), kept apart from tool calls. */
  plan: { submitted: number; rejected: number; verified: number; accepted: boolean };
  /** Policy decisions and rejections; a call a person edits is checked again, so these can exceed `proposed`. */
  decisions: RunTally['decisions'];
  retries: { total: number; model: number; tool: number; rejected: number };
  /** Approvals asked of a person and how they closed; `expiredDenied`/`expiredEscalated`: nobody decided in time (`approval.expired`). */
  approvals: { requested: number; approved: number; denied: number; expiredDenied: number; expiredEscalated: number; waiting: boolean };
  escalations: { total: number; byReason: Record<string, number>; waiting: boolean };
  /** Confidence gate: assessments of calls and final answers; below the threshold; sent to a person. */
  assessments: RunTally['assessments'];
  /** Shadow mode: calls recorded, not made. */
  shadowed: number;
  children: number;
  undo: { phase: UndoPhase; steps: Partial<Record<UndoStepLabel, number>>; compensationsRun: number };
  costNano: number;
  costUsd: number;
  ceilingNano: number;
  overruns: number;
  events: number;
}

function sum(values: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(values)) n += v;
  return n;
}

/** Where the run's undo stands. */
export function undoPhase(s: RunState): UndoPhase {
  if (!s.undo) return 'none';
  if (s.undo.status === 'completed') return 'done';
  return s.undo.waiting !== null ? 'waiting_for_person' : 'running';
}

/**
 * The figures the store keeps on the run's row (`steps`, `tool_calls`, `undo`), by the
 * projection's definitions, so `runs list` says what `runs show` says.
 */
export function rowFigures(s: RunState): { steps: number; toolCalls: number; undo: UndoPhase } {
  return { steps: s.steps, toolCalls: s.toolCalls, undo: undoPhase(s) };
}

/**
 * The projection of a folded run.
 *
 * @example
 * const p = projectState(foldRun(events));
 * `${p.steps} steps · ${p.toolCalls.ran} tool calls run`;
 */
export function projectState(s: RunState): RunProjection {
  const t = s.tally;
  const byStatus = Object.fromEntries(TOOL_CALL_OUTCOMES.map((o) => [o, 0])) as Record<ToolCallOutcome, number>;
  for (const c of s.calls.values()) if (c.tool !== PLAN_TOOL) byStatus[callOutcome(c, s.status)]++;
  const undoSteps: Partial<Record<UndoStepLabel, number>> = {};
  for (const c of s.undo?.compensations.values() ?? []) {
    const label = undoStepLabel(c.status);
    undoSteps[label] = (undoSteps[label] ?? 0) + 1;
  }
  const failed = sum(t.modelFailures);
  const row = rowFigures(s);
  return {
    runId: s.runId,
    agent: s.agent,
    mode: s.mode,
    status: s.status,
    stopReason: s.stopReason,
    stopDetail: s.stopDetail,
    steps: row.steps,
    modelCalls: { answered: t.modelAnswers, failed },
    models: { answeredBy: { ...t.answeredBy }, fallbacks: sum(t.fallbacks), fallbacksByReason: { ...t.fallbacks } },
    toolCalls: { ran: row.toolCalls, ranByTier: { ...t.ran }, proposed: t.proposed, byStatus, finished: { ...t.executions } },
    plan: { submitted: t.planSubmissions, rejected: t.plansRejected, verified: t.plansVerified, accepted: s.plan?.accepted === true },
    decisions: { ...t.decisions },
    retries: { total: totalRetries(t), ...t.retries },
    approvals: { ...t.approvals, waiting: s.pending?.kind === 'approval' },
    escalations: { total: sum(t.escalations), byReason: { ...t.escalations }, waiting: s.pending?.kind === 'escalation' },
    assessments: { ...t.assessments },
    shadowed: t.shadowed,
    children: t.children,
    undo: { phase: row.undo, steps: undoSteps, compensationsRun: t.compensations.started },
    costNano: s.spentNano,
    costUsd: nanoToUsd(s.spentNano),
    ceilingNano: s.ceilingNano,
    overruns: t.overruns,
    events: s.seq,
  };
}

/** The projection of a run's whole log. */
export function projectRun(events: readonly AnyRunEvent[]): RunProjection {
  return projectState(foldRun(events));
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The projection's figures in one line of words, the same in `runs show`, `warden run` and replay:
 * `3 steps · 2 tool calls run (3 proposed: 2 executed, 1 denied) · plan submitted once · 1 retry`.
 */
export function figuresLine(p: RunProjection): string {
  const parts = [plural(p.steps, 'step'), `${plural(p.toolCalls.ran, 'tool call')} run`];
  const statuses = TOOL_CALL_OUTCOMES.filter((o) => p.toolCalls.byStatus[o] > 0).map((o) => `${p.toolCalls.byStatus[o]} ${o.replace('_', ' ')}`);
  if (p.toolCalls.proposed > 0) parts[1] += ` (${p.toolCalls.proposed} proposed: ${statuses.join(', ')})`;
  if (p.plan.submitted > 0) {
    const rejected = p.plan.rejected ? `, ${p.plan.rejected} rejected` : '';
    parts.push(`plan submitted ${p.plan.submitted === 1 ? 'once' : `${p.plan.submitted} times`}${rejected} (not counted as a tool call)`);
  }
  parts.push(plural(p.retries.total, 'retry', 'retries'));
  if (p.models.fallbacks > 0) {
    const by = Object.entries(p.models.answeredBy).map(([key, n]) => `${key} ${n}`);
    parts.push(`${plural(p.models.fallbacks, 'fallback')} (answered by ${by.join(', ')})`);
  }
  return parts.join(' · ');
}

/** The undo phase in words (`runs list`, `runs show`). */
export const UNDO_PHASE_WORDS: Readonly<Record<UndoPhase, string>> = Object.freeze({
  none: '',
  running: 'undo running',
  waiting_for_person: 'undo waiting for a person',
  done: 'undone',
});
