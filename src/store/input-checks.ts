import { WardenError, type ErrorContext } from '../errors.ts';
import type { AnyNewEvent } from '../runtime/events.ts';
import type { BudgetOp, NewIntervention, RunPatch } from './store.ts';

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
}

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
  }
}
