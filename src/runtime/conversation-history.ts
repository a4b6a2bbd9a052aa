import { conversation, foldRun, summaryMessages } from '../core/fold.ts';
import type { ConversationMessage } from '../core/ports/model.ts';
import type { ConversationHistory, RunState } from '../core/run-state.ts';
import { inputTokenBound, messagesTokenBound, planModelReservation } from '../guard/budget.ts';
import { callModel, classifyModelError, ModelCallError } from '../model/bridge.ts';
import { mayBeBilled } from '../model/model-failure.ts';
import { providerInputTokens, usageCostNano } from '../model/pricing.ts';
import { reserve, settle } from './decide/ledger.ts';
import type { RunContext } from './run-context.ts';

type Turn = ConversationHistory['turns'][number];

/**
 * Decides, once per turn and before its first model call, what the turn is told of the
 * conversation's earlier turns, and records it (`conversation.history`), so that every model call
 * of the turn, a resumed session's and a replay's included, sends the same history. It starts from
 * the history the latest earlier turn recorded and adds the turns after it, then applies the
 * agent's policy. The earlier turns have all ended: a turn runs only after the one before it.
 */
export async function decideHistory(ctx: RunContext): Promise<void> {
  const s = ctx.state;
  if (!s.conversation || s.parentRunId !== null || s.history !== null) return;
  const options = ctx.agent.conversation;
  const { base, after } = await earlierTurns(ctx, s.conversation.id, s.conversation.turn);
  let turns = [...base.turns, ...after.map((t) => ({ turn: t.turn, messages: turnMessages(t.state, options.includeTools) }))];
  let summary = base.summary;
  const policy = options.history;
  if (policy.kind === 'lastTurns') {
    turns = turns.slice(-policy.turns);
    summary = undefined;
  } else if (policy.kind === 'maxTokens') {
    turns = fit(turns, undefined, policy.tokens);
    summary = undefined;
  } else if (historyTokens(turns, summary) > policy.tokens) {
    // Keep the newest turns (at most keepTurns, and only as many as fit whole); fold the rest into the summary.
    const kept = fit(turns.slice(-policy.keepTurns), undefined, policy.tokens);
    const folded = turns.slice(0, turns.length - kept.length);
    const made = folded.length > 0 ? await summarize(ctx, policy.instructions, summary, folded) : null;
    if (made) summary = made;
    turns = fit(kept, summary, policy.tokens);
  }
  if (ctx.budgetRefusal) return; // the summary's reservation was refused: the next model step stops the run
  const earlier = s.conversation.turn - 1;
  ctx.emit('conversation.history', {
    turns,
    ...(summary ? { summary } : {}),
    dropped: earlier - turns.length,
    tokens: historyTokens(turns, summary),
  });
}

/**
 * The latest earlier turn that recorded a history (the base), and the turns after it with their
 * folded logs, oldest first. Turns that never started (cancelled while queued) recorded none.
 */
async function earlierTurns(
  ctx: RunContext,
  conversationId: string,
  turn: number,
): Promise<{ base: ConversationHistory; after: { turn: number; state: RunState }[] }> {
  const rows = (await ctx.store.listRuns({ conversationId, limit: 100_000, withoutText: true }))
    .filter((r) => r.turn !== null && r.turn < turn)
    .sort((a, b) => (b.turn ?? 0) - (a.turn ?? 0));
  const after: { turn: number; state: RunState }[] = [];
  for (const r of rows) {
    const state = foldRun(await ctx.store.loadEvents(r.runId));
    after.unshift({ turn: r.turn ?? 0, state });
    if (state.history) return { base: state.history, after };
  }
  return { base: { turns: [] }, after };
}

/**
 * What one earlier turn contributes: the user's message and the agent's answer; with
 * `includeTools`, every call and result in between (only for a turn that completed: a turn cut off
 * mid-call would leave a call with no result, which providers refuse).
 */
export function turnMessages(state: RunState, includeTools: boolean): ConversationMessage[] {
  if (includeTools && state.status === 'completed') return conversation(state);
  const answer =
    state.status === 'completed' && state.output !== null
      ? state.output
      : `[no answer: the turn ended ${state.status}${state.stopReason ? ` (${state.stopReason})` : ''}]`;
  return [
    { role: 'user', text: state.input },
    { role: 'assistant', text: answer, toolCalls: [] },
  ];
}

export function historyTokens(turns: readonly Turn[], summary: ConversationHistory['summary']): number {
  const messages = [...(summary ? summaryMessages(summary) : []), ...turns.flatMap((t) => t.messages)];
  return messagesTokenBound(messages);
}

/** Drops the oldest turns until the history fits in `tokens`. */
function fit(turns: Turn[], summary: ConversationHistory['summary'], tokens: number): Turn[] {
  let kept = turns;
  while (kept.length > 0 && historyTokens(kept, summary) > tokens) kept = kept.slice(1);
  return kept;
}

/**
 * Asks the model to summarize `folded` (after the summary so far), under a reservation of its own
 * against the turn's ceiling (and the conversation's), and records it with its cost. Null when
 * the summary could not be made (no room under the ceiling, or the call failed): the policy then
 * drops the oldest turns instead.
 */
async function summarize(
  ctx: RunContext,
  instructions: string,
  previous: ConversationHistory['summary'],
  folded: Turn[],
): Promise<{ throughTurn: number; text: string } | null> {
  const throughTurn = folded.at(-1)?.turn ?? previous?.throughTurn ?? 0;
  const transcript = [previous ? `Summary so far (through turn ${previous.throughTurn}):\n${previous.text}` : '', ...folded.map(renderTurn)]
    .filter((x) => x !== '')
    .join('\n\n');
  const request = { system: instructions, messages: [{ role: 'user' as const, text: transcript }], tools: [] };
  const plan = planModelReservation(ctx.state, ctx.pricing, inputTokenBound(request) + providerInputTokens(ctx.agent.model, ctx.pricing));
  if (!plan.ok) return null;
  const reservationId = `summary.${ctx.state.sessions}`;
  await ctx.beforeReservation();
  reserve(ctx, reservationId, 'model', plan.amountNano);
  await ctx.flush();
  if (ctx.budgetRefusal) return null;
  const started = ctx.now();
  try {
    const turn = await callModel(ctx.agent.model, { ...request, maxOutputTokens: plan.maxOutputTokens, signal: ctx.signal });
    const cost = turn.usageMissing ? plan.amountNano : usageCostNano(turn.usage, ctx.pricing);
    settle(ctx, reservationId, plan.amountNano, cost);
    const text = turn.text.trim();
    ctx.emit('conversation.summarized', { reservationId, throughTurn, summary: text, costNano: cost, usage: turn.usage, latencyMs: ctx.now() - started });
    return text === '' ? null : { throughTurn, text };
  } catch (e) {
    const failure = e instanceof ModelCallError ? e.failure : classifyModelError(e);
    const billed = mayBeBilled(failure, e instanceof ModelCallError ? e.cause : e);
    settle(ctx, reservationId, plan.amountNano, billed ? plan.amountNano : 0, { assumed: billed });
    return null;
  }
}

function renderTurn(t: Turn): string {
  const lines = t.messages.map((m) => {
    if (m.role === 'user') return `User: ${m.text}`;
    if (m.role === 'assistant') {
      const calls = m.toolCalls.map((c) => `[called ${c.tool} ${JSON.stringify(c.args)}]`).join(' ');
      return `Assistant: ${[m.text, calls].filter((x) => x !== '').join(' ')}`;
    }
    return m.results.map((r) => `[${r.tool} ${r.isError ? 'failed' : 'returned'}: ${JSON.stringify(r.output)}]`).join('\n');
  });
  return `Turn ${t.turn}:\n${lines.join('\n')}`;
}
