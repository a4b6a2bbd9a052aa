import { WardenError, type ErrorContext } from '../core/errors.ts';
import type { AnyNewEvent } from '../core/events.ts';
import type { BudgetOp, ClaimOptions, ExternalAppendOptions, NewIntervention, NewRun, RunPatch, StoredBudgetRecord } from '../core/ports/store.ts';

/**
 * Checks every `Store` adapter runs on what it is asked to write, before it writes anything.
 * Money, times and counts are integers so sums stay exact and columns stay typed; a caller that
 * passes `0.5` nano-USD has a bug that should surface here, as `INVALID_ARGUMENT`, not later as
 * a rounded ledger.
 */

/**
 * Returns `value` if it is a safe integer of at least `min`; otherwise throws `INVALID_ARGUMENT`.
 *
 * @example
 * requireInteger(op.amountNano, 'reserve amountNano') // 1200
 */
export function requireInteger(value: unknown, what: string, min = 0, context: ErrorContext = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new WardenError('INVALID_ARGUMENT', `${what} must be an integer ≥ ${min}, got ${String(value)}`, { context });
  }
  return value;
}

/** A stored budget's shape: non-empty scope and window, an integer limit ≥ 1 nano-USD, fractions in (0, 1]. */
export function checkStoredBudget(b: StoredBudgetRecord): void {
  for (const [field, value] of [
    ['scope', b?.scope],
    ['window', b?.window],
  ] as const) {
    if (typeof value !== 'string' || value === '')
      throw new WardenError('INVALID_ARGUMENT', `A stored budget's ${field} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  requireInteger(b.limitNano, `Stored budget ${b.scope} ${b.window}: limitNano`, 1);
  requireInteger(b.updatedAt, `Stored budget ${b.scope} ${b.window}: updatedAt`, 0);
  if (!Array.isArray(b.alertAt) || !b.alertAt.every((a) => typeof a === 'number' && a > 0 && a <= 1))
    throw new WardenError('INVALID_ARGUMENT', `Stored budget ${b.scope} ${b.window}: alertAt must be fractions in (0, 1], got ${JSON.stringify(b.alertAt)}`);
}

/** Events must carry an integer time (ms) and schema version; the store assigns `seq`. */
export function checkEvents(events: readonly AnyNewEvent[], runId: string): void {
  if (!Array.isArray(events)) throw new WardenError('INVALID_ARGUMENT', `events must be an array, got ${typeof events}`, { context: { runId } });
  for (const event of events) {
    if (typeof event?.type !== 'string' || event.type === '') {
      throw new WardenError('INVALID_ARGUMENT', `Every event needs a type, got ${JSON.stringify(event?.type)}`, { context: { runId } });
    }
    requireInteger(event.at, `${event.type} event time (at, ms)`, 0, { runId });
    requireInteger(event.v, `${event.type} event schema version (v)`, 1, { runId });
  }
}

/** The integer columns of a run patch. */
export function checkRunPatch(patch: RunPatch | undefined, runId: string): void {
  if (!patch) return;
  if (patch.costNano !== undefined) requireInteger(patch.costNano, 'costNano', 0, { runId });
  if (patch.steps !== undefined) requireInteger(patch.steps, 'steps', 0, { runId });
  if (patch.toolCalls !== undefined) requireInteger(patch.toolCalls, 'toolCalls', 0, { runId });
  if (patch.undo !== undefined && !UNDO_PHASES.has(patch.undo)) {
    throw new WardenError('INVALID_ARGUMENT', `Run ${runId}: undo must be one of ${[...UNDO_PHASES].join(', ')}, got ${JSON.stringify(patch.undo)}`, {
      context: { runId },
    });
  }
}

const UNDO_PHASES: ReadonlySet<string> = new Set(['none', 'running', 'waiting_for_person', 'done']);

export function checkBudgetOps(ops: readonly BudgetOp[] | undefined, runId: string): void {
  for (const op of ops ?? []) {
    if (op.kind === 'reserve') {
      requireInteger(op.amountNano, 'reserve amountNano', 0, { runId });
    } else if (op.kind === 'settle') {
      requireInteger(op.reservedNano, 'settle reservedNano', 0, { runId });
      requireInteger(op.actualNano, 'settle actualNano', 0, { runId });
    } else {
      throw new WardenError('INVALID_ARGUMENT', `Unknown budget op ${JSON.stringify((op as { kind: unknown }).kind)}`, { context: { runId } });
    }
  }
}

export function checkInterventions(interventions: readonly NewIntervention[] | undefined, runId: string): void {
  for (const i of interventions ?? []) {
    if (typeof i.id !== 'string' || i.id === '') throw new WardenError('INVALID_ARGUMENT', 'An intervention needs an id', { context: { runId } });
    requireInteger(i.requestedAt, `intervention ${i.id} requestedAt`, 0, { runId });
    if (i.expiresAt !== undefined && i.expiresAt !== null) requireInteger(i.expiresAt, `intervention ${i.id} expiresAt`, 0, { runId });
  }
}

/** A new run: integer times and ceiling, and a log that starts with `run.submitted`. */
export function checkNewRun(run: NewRun): void {
  requireInteger(run.createdAt, 'createdAt', 0, { runId: run.runId });
  if (run.runId === run.rootRunId) requireInteger(run.ceilingNano, 'ceilingNano', 0, { runId: run.runId });
  if (run.submitted?.type !== 'run.submitted') {
    throw new WardenError('INVALID_ARGUMENT', `A run starts with a run.submitted event, got ${String(run.submitted?.type)}`, { context: { runId: run.runId } });
  }
  checkEvents([run.submitted], run.runId);
  const turn = run.conversation;
  if (turn) {
    const context = { runId: run.runId };
    if (run.runId !== run.rootRunId)
      throw new WardenError('INVALID_ARGUMENT', `Only a root run can be a conversation's turn; ${run.runId} is a child`, { context });
    if (typeof turn.conversationId !== 'string' || turn.conversationId === '' || turn.conversationId.length > 256)
      throw new WardenError('INVALID_ARGUMENT', `A conversation id must be a string of 1 to 256 characters, got ${JSON.stringify(turn.conversationId)}`, {
        context,
      });
    requireInteger(turn.turn, 'turn', 1, context);
    if (turn.ceilingNano !== null) requireInteger(turn.ceilingNano, 'conversation ceilingNano', 0, context);
  }
}

/** A person's decision carried by an external append: a time, and never back to pending. */
export function checkDecision(decision: ExternalAppendOptions['intervention'], runId: string): void {
  if (!decision) return;
  requireInteger(decision.decidedAt, 'decidedAt', 0, { runId });
  if ((decision.status as string) === 'pending') {
    throw new WardenError('INVALID_ARGUMENT', `A decision cannot set intervention ${decision.id} back to pending`, { context: { runId } });
  }
}

/** A lease length: finite and not negative (fractions are rounded up by the store). */
export function checkTtl(ttlMs: unknown, runId?: string): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new WardenError('INVALID_ARGUMENT', `ttlMs must be a finite number ≥ 0, got ${String(ttlMs)}`, { context: runId ? { runId } : {} });
  }
  return ttlMs;
}

/** `claimRuns` options: a worker name, a positive limit and a lease length. */
export function checkClaim(worker: unknown, options: ClaimOptions): void {
  if (typeof worker !== 'string' || worker === '') throw new WardenError('INVALID_ARGUMENT', 'A claim needs the worker name');
  requireInteger(options?.limit, 'claim limit', 1);
  checkTtl(options.leaseMs);
  if (options.agents !== undefined && !Array.isArray(options.agents)) {
    throw new WardenError('INVALID_ARGUMENT', 'claim agents must be an array of agent names');
  }
}

/** Record namespaces and keys: short, printable, non-empty. */
export function checkRecordKey(ns: string, key: string): void {
  for (const [what, v] of [
    ['namespace', ns],
    ['key', key],
  ] as const) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 512) {
      throw new WardenError('INVALID_ARGUMENT', `A record ${what} must be a string of 1 to 512 characters, got ${JSON.stringify(v)}`);
    }
  }
}
