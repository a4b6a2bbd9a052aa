import { WardenError } from '../core/errors.ts';
import type { BudgetOp, BudgetRecord, ConversationRecord, FleetCharge } from '../core/ports/store.ts';
import type { InterventionRow } from './rows.ts';
import { formatUsd } from '../core/money.ts';

/**
 * The typed errors every SQL store throws for the port's rules, worded the same whichever
 * database said no, so a caller (or a person reading a log) cannot tell the stores apart.
 */

export function noSuchRun(runId: string): WardenError {
  return new WardenError('NOT_FOUND', `No run with id "${runId}"`, { context: { runId } });
}

export function runExists(runId: string): WardenError {
  return new WardenError('CONFLICT', `Run ${runId} already exists; run ids must be unique`, { context: { runId } });
}

export function rootWithoutBudget(runId: string, rootRunId: string): WardenError {
  return new WardenError('NOT_FOUND', `Child run ${runId} names root run ${rootRunId}, which has no budget; create the root run first`, {
    context: { runId, rootRunId },
  });
}

export function staleWriter(runId: string, expectedSeq: number, foundSeq: number): WardenError {
  return new WardenError(
    'STALE_WRITER',
    `Run ${runId} has moved on: expected last seq ${expectedSeq}, found ${foundSeq}; reload its events and retry. Nothing was written`,
    { context: { runId, expectedSeq, foundSeq } },
  );
}

/** A budget op that names a root other than the run's own: the ceiling is per request. */
export function foreignBudget(runId: string, ownRoot: string, op: BudgetOp): WardenError {
  return new WardenError('INVALID_ARGUMENT', `Run ${runId} belongs to root ${ownRoot} but its budget op names ${op.rootRunId}`, {
    context: { runId, rootRunId: op.rootRunId },
  });
}

export function missingBudget(runId: string, rootRunId: string): WardenError {
  return new WardenError('NOT_FOUND', `No budget for root run ${rootRunId}`, { context: { runId, rootRunId } });
}

/** A reservation the ceiling refused, with the figures the store saw when it refused. */
export function budgetExceeded(runId: string, amountNano: number, b: BudgetRecord): WardenError {
  return new WardenError(
    'BUDGET_EXCEEDED',
    `Reserving ${formatUsd(amountNano, { exact: true })} would take root run ${b.rootRunId} to ${formatUsd(b.spentNano + b.reservedNano + amountNano, { exact: true })}, ` +
      `above its ceiling of ${formatUsd(b.ceilingNano, { exact: true })} (spent ${formatUsd(b.spentNano, { exact: true })}, reserved ${formatUsd(b.reservedNano, { exact: true })}). Nothing was written`,
    {
      context: { runId, rootRunId: b.rootRunId, spentNano: b.spentNano, reservedNano: b.reservedNano, ceilingNano: b.ceilingNano, amountNano },
    },
  );
}

/** A fleet budget window had no room for the reservation: the commit is refused whole. */
export function fleetExhausted(runId: string, amountNano: number, charge: FleetCharge): WardenError {
  const [scope, window] = charge.key.split('|');
  return new WardenError(
    'BUDGET_EXHAUSTED',
    `Reserving ${formatUsd(amountNano, { exact: true })} would take the ${window} budget of ${scope} above its ${formatUsd(charge.limitNano, { exact: true })}. Nothing was written`,
    { context: { runId, budget: charge.key, limitNano: charge.limitNano, amountNano } },
  );
}

/** Why deciding intervention `id` changed no row, given what the store holds for it now. */
export function undecidable(runId: string, id: string, row: InterventionRow | undefined, decision?: { status: string; decidedAt: number }): WardenError {
  if (!row) return new WardenError('NOT_FOUND', `No intervention with id "${id}"`, { context: { runId } });
  if (row.run_id !== runId) {
    return new WardenError('INVALID_ARGUMENT', `Intervention ${id} belongs to run ${row.run_id}, not ${runId}`, { context: { runId } });
  }
  if (row.status === 'pending' && row.expires_at !== null && decision) {
    const when = new Date(row.expires_at).toISOString();
    return decision.status === 'expired'
      ? new WardenError('CONFLICT', `Approval ${id} does not expire until ${when}; nothing was written`, { context: { runId } })
      : new WardenError('APPROVAL_EXPIRED', `Approval ${id} expired at ${when}, before this decision; nothing was written`, {
          context: { runId, expiresAt: row.expires_at },
        });
  }
  return new WardenError('CONFLICT', `Intervention ${id} was already decided (${row.status} by ${row.decided_by ?? 'unknown'}); nothing was written`, {
    context: { runId, status: row.status, decidedBy: row.decided_by },
  });
}

/** The conversation's ceiling had no room for the reservation: the commit is refused whole. */
export function conversationCeiling(runId: string, amountNano: number, c: ConversationRecord): WardenError {
  const ceiling = c.ceilingNano ?? 0;
  return new WardenError(
    'CONVERSATION_CEILING',
    `Reserving ${formatUsd(amountNano, { exact: true })} would take conversation ${c.conversationId} to ${formatUsd(c.spentNano + c.reservedNano + amountNano, { exact: true })}, ` +
      `above its ceiling of ${formatUsd(ceiling, { exact: true })} (spent ${formatUsd(c.spentNano, { exact: true })}, reserved ${formatUsd(c.reservedNano, { exact: true })}). Nothing was written`,
    { context: { runId, conversationId: c.conversationId, spentNano: c.spentNano, reservedNano: c.reservedNano, ceilingNano: ceiling, amountNano } },
  );
}

export function missingConversation(runId: string, conversationId: string): WardenError {
  return new WardenError('NOT_FOUND', `No conversation with id "${conversationId}"`, { context: { runId, conversationId } });
}

/** Why the store would not make a run a conversation's turn (see `CreateOutcome`). */
export function turnRefused(
  runId: string,
  conversationId: string,
  turn: number,
  outcome: 'conversation-mismatch' | 'conversation-closed' | 'turn-taken',
): WardenError {
  const context = { runId, conversationId, turn };
  if (outcome === 'conversation-closed')
    return new WardenError('CONVERSATION_CLOSED', `Conversation ${conversationId} was cancelled; it takes no more messages. Nothing was written`, { context });
  if (outcome === 'conversation-mismatch')
    return new WardenError('CONFLICT', `Conversation ${conversationId} belongs to another tenant or agent; start a new conversation. Nothing was written`, {
      context,
    });
  return new WardenError(
    'CONFLICT',
    `Turn ${turn} of conversation ${conversationId} is not the next one (another message came first); read it again and retry. Nothing was written`,
    {
      context,
    },
  );
}
