import { budgetSnapshot } from '../../guard/budget.ts';
import { fleetCharges } from '../../guard/fleet-budgets.ts';
import type { Decisions } from './decisions.ts';

/**
 * The two ledger decisions, each an event and the store's operation in the same commit, so the log
 * and the shared ledger cannot disagree: reserve before money may be spent, settle after.
 */

/** Holds `amountNano` of the ceiling for a model or tool call (`budget.reserved`). */
export function reserve(d: Decisions, reservationId: string, purpose: 'model' | 'tool', amountNano: number): void {
  // Every fleet budget covering the run holds it too, in the window it is made in (settled there).
  const fleet = d.fleetBudgets?.length ? fleetCharges(d.fleetBudgets, d.state, d.now()) : [];
  const keys = fleet.length ? { fleet: fleet.map((c) => c.key) } : {};
  d.emit('budget.reserved', { reservationId, purpose, amountNano, before: budgetSnapshot(d.state), ...keys });
  // A conversation's turn (and its children) holds it in the conversation too, against its ceiling.
  const conversation = d.state.conversation ? { conversation: d.state.conversation.id } : {};
  d.budget({ kind: 'reserve', rootRunId: d.state.rootRunId, amountNano, ...(fleet.length ? { fleet } : {}), ...conversation });
}

/**
 * Charges `actualNano` against a reservation of `reservedNano` and frees the rest
 * (`budget.committed`). `assumed` marks a charge made in full because the outcome is unknown.
 */
export function settle(d: Decisions, reservationId: string, reservedNano: number, actualNano: number, options: { assumed?: boolean } = {}): void {
  const fleet = d.state.reservationFleet?.get(reservationId);
  const conversation = d.state.conversation ? { conversation: d.state.conversation.id } : {};
  d.budget({ kind: 'settle', rootRunId: d.state.rootRunId, reservedNano, actualNano, ...(fleet ? { fleet } : {}), ...conversation });
  const before = budgetSnapshot(d.state);
  d.emit('budget.committed', {
    reservationId,
    actualNano,
    releasedNano: Math.max(0, reservedNano - actualNano),
    ...(options.assumed ? { assumed: true } : {}),
    after: { ...before, spentNano: before.spentNano + actualNano, reservedNano: before.reservedNano - reservedNano },
  });
}
