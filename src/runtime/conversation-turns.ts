import type { Agent } from '../agent/agent.ts';
import { isWardenError, WardenError } from '../core/errors.ts';
import { TERMINAL_STATUSES, type RunStatus } from '../core/events.ts';
import { usdToNano } from '../core/money.ts';
import type { ConversationRecord, NewTurn, RunRecord, Store } from '../core/ports/store.ts';

/**
 * The lease owner of a turn held back behind an earlier turn of its conversation that is still
 * live: no worker claims it until the earlier turn ends (which frees it at once) or the hold
 * lapses (then it is checked again).
 */
export const CONVERSATION_HOLD = 'conversation-hold';

const LIVE: RunStatus[] = ['queued', 'running', 'waiting_approval', 'escalated'];

/**
 * The next turn of conversation `id` for a message to `agent` from `tenant`, as the store must
 * create it. Refuses (`CONVERSATION_CLOSED`) a cancelled conversation and a message past
 * `limits.maxConversationTurns`; `CONFLICT` for a conversation of another agent or tenant.
 */
export async function nextTurn(store: Store, id: string, agent: Agent, tenant: string): Promise<NewTurn> {
  if (typeof id !== 'string' || id.trim() === '' || id.length > 256)
    throw new WardenError('INVALID_ARGUMENT', `A conversation id must be a string of 1 to 256 characters, got ${JSON.stringify(id)}`);
  const c = await store.getConversation(id);
  if (c && (c.agent !== agent.name || c.tenant !== tenant)) {
    throw new WardenError('CONFLICT', `Conversation ${id} is with agent "${c.agent}" for tenant "${c.tenant}", not "${agent.name}" for "${tenant}"`, {
      context: { conversationId: id },
    });
  }
  if (c?.status === 'cancelled')
    throw new WardenError('CONVERSATION_CLOSED', `Conversation ${id} was cancelled; start a new one`, { context: { conversationId: id } });
  const turn = (c?.turns ?? 0) + 1;
  const max = agent.limits.maxConversationTurns;
  if (max !== undefined && turn > max) {
    throw new WardenError('CONVERSATION_CLOSED', `Conversation ${id} has had its ${max} turns (limits.maxConversationTurns); start a new one`, {
      context: { conversationId: id, turns: c?.turns ?? 0 },
    });
  }
  const cost = agent.limits.maxConversationCostUsd;
  return { conversationId: id, turn, ceilingNano: cost === undefined ? null : usdToNano(cost) };
}

/** Whether a refused turn may be asked for again: another message took its number first. */
export async function turnWasTaken(store: Store, e: unknown, turn: NewTurn): Promise<boolean> {
  if (!isWardenError(e, 'CONFLICT')) return false;
  return ((await store.getConversation(turn.conversationId))?.turns ?? 0) >= turn.turn;
}

/** The earliest earlier turn of the conversation that has not ended, which the turn must wait for. */
export async function blockingTurn(store: Store, conversationId: string, turn: number): Promise<RunRecord | undefined> {
  const live = await store.listRuns({ conversationId, status: LIVE, limit: 100_000, withoutText: true });
  return live.filter((r) => r.turn !== null && r.turn < turn).sort((a, b) => (a.turn ?? 0) - (b.turn ?? 0))[0];
}

/**
 * After a turn ended: the conversation's next turn, if it is queued, is released from its hold so
 * a worker (or the caller) may drive it now. Returns its run id, or null.
 */
export async function releaseNextTurn(store: Store, conversationId: string, turn: number): Promise<string | null> {
  const later = await store.listRuns({ conversationId, status: 'queued', limit: 100_000, withoutText: true });
  const next = later.filter((r) => r.turn !== null && r.turn > turn).sort((a, b) => (a.turn ?? 0) - (b.turn ?? 0))[0];
  if (!next) return null;
  if (next.leaseOwner === CONVERSATION_HOLD) await store.releaseLease(next.runId, CONVERSATION_HOLD);
  return next.runId;
}

/** The turns of a conversation, in order. */
export async function listTurns(store: Store, conversationId: string): Promise<RunRecord[]> {
  const runs = await store.listRuns({ conversationId, limit: 100_000 });
  return runs.filter((r) => r.turn !== null).sort((a, b) => (a.turn ?? 0) - (b.turn ?? 0));
}

export function isLive(status: RunStatus): boolean {
  return !TERMINAL_STATUSES.has(status);
}

/** A conversation and its turns, oldest first: what `warden conversations show` and the API return. */
export interface ConversationView extends ConversationRecord {
  turnRuns: RunRecord[];
}

/**
 * Reads a conversation and its turns; `NOT_FOUND` when there is none.
 *
 * @example
 * const { turns, spentNano, turnRuns } = await conversationView(store, 'chat-2001');
 * for (const run of turnRuns) console.log(run.turn, run.input, run.output);
 */
export async function conversationView(store: Store, conversationId: string): Promise<ConversationView> {
  const c = await store.getConversation(conversationId);
  if (!c) throw new WardenError('NOT_FOUND', `No conversation with id "${conversationId}"`, { context: { conversationId } });
  return { ...c, turnRuns: await listTurns(store, conversationId) };
}
