import type { AnyNewEvent } from '../core/events.ts';
import {
  RUN_WEBHOOK_EVENTS,
  type BudgetOp,
  type CommitBatch,
  type ExternalAppendOptions,
  type NewIntervention,
  type WebhookEventType,
} from '../core/ports/store.ts';
import type { Op, Tx } from './dialect.ts';
import { encodeJson, toBudgetRecord, toConversationRecord, type BudgetRow, type RunHeadRow } from './rows.ts';
import { hasWebhookEvents } from './webhook-rows.ts';
import {
  budgetExceeded,
  conversationCeiling,
  fleetExhausted,
  missingConversation,
  foreignBudget,
  missingBudget,
  noSuchRun,
  staleWriter,
  undecidable,
} from './store-errors.ts';

/**
 * The writes of the `Store` port, once for every database: the order of a step's writes, its
 * seq numbers, its budget rules and the errors it ends in. The SQL is the dialect's (`Tx`).
 */

/** One commit: the writer must be current; then budget ops in order, events, interventions. */
export function* commitStep(tx: Tx, batch: CommitBatch, now: number): Op<void> {
  const { runId, expectedSeq } = batch;
  const head = yield* tx.advance(batch, expectedSeq + batch.events.length, now);
  if (!head) return yield* explainStale(tx, runId, expectedSeq);
  for (const op of batch.budget ?? []) yield* applyBudgetOp(tx, runId, head, op);
  yield* tx.insertEvents(runId, expectedSeq, batch.events);
  yield* enqueueRunWebhooks(tx, runId, head, expectedSeq, batch.events, now);
  yield* insertInterventions(tx, runId, head, batch.interventions);
  if (batch.run?.status === 'queued') yield* tx.notify(runId);
}

/** An external append: at the run's next seq, whatever it is, deciding a pending intervention if asked. */
export function* appendStep(tx: Tx, runId: string, events: readonly AnyNewEvent[], options: ExternalAppendOptions, now: number): Op<number> {
  const head = yield* tx.head(runId);
  if (!head) throw noSuchRun(runId);
  const decision = options.intervention;
  if (decision && !(yield* tx.decide(runId, decision))) throw undecidable(runId, decision.id, yield* tx.currentIntervention(decision.id), decision);
  const lastSeq = head.last_seq + events.length;
  yield* tx.insertEvents(runId, head.last_seq, events);
  yield* insertInterventions(tx, runId, head, options.interventions);
  yield* enqueueRunWebhooks(tx, runId, head, head.last_seq, events, now);
  yield* tx.patchRun(runId, head.last_seq, lastSeq, now, options.run);
  if (options.run?.status === 'queued') yield* tx.notify(runId);
  return lastSeq;
}

function* insertInterventions(tx: Tx, runId: string, head: RunHeadRow, interventions: readonly NewIntervention[] | undefined): Op<void> {
  for (const i of interventions ?? []) {
    const args = i.args === undefined ? null : encodeJson(i.args, `The args of intervention ${i.id}`);
    yield* tx.insertIntervention(runId, head, i, args, encodeJson(i.evidence ?? {}, `The evidence of intervention ${i.id}`));
  }
}

/** Called when a run row's conditional update matched nothing: unknown run, or a stale writer. */
export function* explainStale(tx: Tx, runId: string, expectedSeq: number): Op<never> {
  const found = yield* tx.lastSeq(runId);
  if (found === undefined) throw noSuchRun(runId);
  throw staleWriter(runId, expectedSeq, found);
}

function* applyBudgetOp(tx: Tx, runId: string, head: RunHeadRow, op: BudgetOp): Op<void> {
  // A run spends only against its own root's budget: that is what makes the ceiling per request.
  if (op.rootRunId !== head.root_run_id) throw foreignBudget(runId, head.root_run_id, op);
  if (op.kind === 'settle') {
    // Never refused: the money is already spent, and the runtime never settles above what it reserved.
    if (!(yield* tx.settle(op.rootRunId, op.reservedNano, op.actualNano))) throw missingBudget(runId, op.rootRunId);
    for (const key of op.fleet ?? []) yield* tx.settleFleet(key, op.reservedNano, op.actualNano);
    if (op.conversation !== undefined) yield* tx.settleConversation(op.conversation, op.reservedNano, op.actualNano);
    return;
  }
  const result = yield* tx.reserve(op.rootRunId, op.amountNano);
  if (!result.reserved) {
    if (!result.budget) throw missingBudget(runId, op.rootRunId);
    throw budgetExceeded(runId, op.amountNano, toBudgetRecord(result.budget));
  }
  // Every fleet window the run counts against, in the same transaction: one that has no room
  // refuses the whole commit, the ceiling's reservation included.
  for (const charge of op.fleet ?? []) {
    if (!(yield* tx.reserveFleet(charge.key, charge.limitNano, op.amountNano))) throw fleetExhausted(runId, op.amountNano, charge);
  }
  // The conversation's ceiling too: a long conversation cannot spend without bound one turn at a time.
  if (op.conversation !== undefined) {
    const held = yield* tx.reserveConversation(op.conversation, op.amountNano);
    if (!held.reserved) {
      if (!held.row) throw missingConversation(runId, op.conversation);
      throw conversationCeiling(runId, op.amountNano, toConversationRecord(held.row));
    }
  }
}

/** The ceiling rule: a reservation fits when `spent + reserved + amount ≤ ceiling` (nano-USD). */
export function fitsCeiling(budget: BudgetRow, amountNano: number): boolean {
  return budget.spent_nano + budget.reserved_nano + amountNano <= budget.ceiling_nano;
}

/** A commit with nothing but events and a run patch (no budget, no interventions, no requeue, nothing for webhooks). */
export function isPlainCommit(batch: CommitBatch): boolean {
  return !batch.budget?.length && !batch.interventions?.length && batch.run?.status !== 'queued' && !hasWebhookEvents(batch.events);
}

/** A commit's budget operations as one net change on one root (nano-USD). */
export interface NetBudget {
  root: string;
  settledReserved: number;
  settledActual: number;
  reserved: number;
}

/**
 * A commit's budget operations as one net change, when they allow it: all on one root, every
 * settle before every reserve (then checking the final total against the ceiling is the same as
 * checking each reserve in turn). Null otherwise, or when interventions, a requeue or events for
 * webhooks come along.
 */
export function netBudget(batch: CommitBatch): NetBudget | null {
  const ops = batch.budget ?? [];
  const first = ops[0];
  if (first === undefined || batch.interventions?.length || batch.run?.status === 'queued' || hasWebhookEvents(batch.events)) return null;
  const root = first.rootRunId;
  let reserving = false;
  const net = { root, settledReserved: 0, settledActual: 0, reserved: 0 };
  for (const op of ops) {
    // Fleet budgets and conversations take the transactional path (one conditional statement each).
    if (op.rootRunId !== root || op.fleet?.length || op.conversation !== undefined) return null;
    if (op.kind === 'settle') {
      if (reserving) return null;
      net.settledReserved += op.reservedNano;
      net.settledActual += op.actualNano;
    } else {
      reserving = true;
      net.reserved += op.amountNano;
    }
  }
  return net;
}

/**
 * Queues the run events among `events` (written at seq `lastSeq + 1` onwards) for the endpoints
 * that listen to them, inside the transaction that commits them. The message key is the run and
 * seq, so the webhook-id names the event.
 */
export function* enqueueRunWebhooks(tx: Tx, runId: string, head: RunHeadRow, lastSeq: number, events: readonly AnyNewEvent[], now: number): Op<void> {
  for (const [i, e] of events.entries()) {
    if (!RUN_WEBHOOK_EVENTS.has(e.type)) continue;
    const seq = lastSeq + i + 1;
    const payload = {
      type: e.type,
      timestamp: new Date(e.at).toISOString(),
      data: { runId, agent: head.agent, tenant: head.tenant, seq, ...(e.data as Record<string, unknown>) },
    };
    yield* tx.enqueueWebhooks({
      key: `msg_${runId}_${seq}`,
      type: e.type as WebhookEventType,
      payload: encodeJson(payload, `The webhook payload of ${e.type}`),
      now,
    });
  }
}
