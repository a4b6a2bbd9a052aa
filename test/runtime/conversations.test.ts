import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { defineAgent, type AgentConfig } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import type { AnyRunEvent, EventPayloads } from '../../src/core/events.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { simulated } from '../../src/model/simulated.ts';
import type { SimulatedView } from '../../src/model/simulated-respond.ts';
import type { SimulatedTurn } from '../../src/model/simulated-types.ts';
import { CONVERSATION_HOLD } from '../../src/runtime/conversation-turns.ts';
import type { Store } from '../../src/core/ports/store.ts';
import type { RunResult } from '../../src/runtime/run-result.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { seededRandom } from '../../src/model/seeded-random.ts';
import { dropSchema, PG_URL, uniqueSchema } from '../store/pg-schema.ts';
import { testWarden, waitFor } from '../helpers.ts';
import { Worker } from '../../src/scheduler/worker.ts';
import { replayRun } from '../../src/observe/replay/replay-run.ts';

const lookup = defineTool({
  name: 'lookup_order',
  description: 'Find an order',
  tier: 'read',
  idempotent: true,
  input: z.object({ orderId: z.string() }),
  execute: ({ orderId }) => ({ orderId, total: 250 }),
});
const refund = defineTool({
  name: 'refund',
  description: 'Refund an order',
  tier: 'write',
  input: z.object({ orderId: z.string(), amount: z.number() }),
  approval: (args) => args.amount > 100,
  execute: ({ amount }) => ({ refunded: amount }),
});

/** The support desk's model: it answers the latest message, using what the earlier turns said. */
function desk(view: SimulatedView): SimulatedTurn {
  const message = view.userMessages.at(-1) ?? '';
  const done = view.sinceMessage;
  if (message.startsWith('Summarize') || message.startsWith('Turn ') || message.startsWith('Summary so far')) {
    return { text: `Summary of ${view.userMessages.length} message(s).` };
  }
  if (message.startsWith('Where is order')) {
    const orderId = message.match(/\d+/)?.[0] ?? '';
    return done.length === 0 ? { toolCalls: [{ tool: 'lookup_order', args: { orderId } }] } : { text: `Order ${orderId} totals $250.` };
  }
  if (message.startsWith('Refund it')) {
    // "it" is only known from an earlier turn.
    const orderId = view.userMessages.map((m) => m.match(/order (\d+)/)?.[1]).find(Boolean);
    if (!orderId) return { text: 'Which order?' };
    return done.length === 0 ? { toolCalls: [{ tool: 'refund', args: { orderId, amount: 250 } }] } : { text: `Refunded $250 on order ${orderId}.` };
  }
  return { text: `You said: ${view.userMessages.join(' | ')}. I answered: ${view.answers.join(' | ')}` };
}

function deskAgent(overrides: Partial<AgentConfig> = {}) {
  return defineAgent({
    name: 'desk',
    instructions: 'Help customers with their orders.',
    model: simulated.respond(desk),
    tools: [lookup, refund],
    limits: { maxSteps: 10, maxCostUsd: 1 },
    backoff: { baseMs: 0, maxMs: 0 },
    ...overrides,
  });
}

function ofType<T extends keyof EventPayloads>(events: AnyRunEvent[], type: T): EventPayloads[T][] {
  return events.filter((e) => e.type === type).map((e) => e.data as EventPayloads[T]);
}

async function historyOf(store: Store, runId: string): Promise<EventPayloads['conversation.history']> {
  const [history] = ofType(await store.loadEvents(runId), 'conversation.history');
  assert.ok(history, `run ${runId} recorded its history`);
  return history;
}

const schema = uniqueSchema('conv');
const opened: Store[] = [];
after(async () => {
  for (const s of opened) await s.close();
  await dropSchema(schema);
});

/** The same tests on both stores: SQLite in memory, and PostgreSQL in a schema of this file's own. */
const STORES = {
  sqlite: async () => testWarden(),
  postgres: async () => {
    const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 4 });
    opened.push(store);
    return { store, warden: createWarden({ store, sleep: async () => {}, random: seededRandom(1) }) };
  },
};

for (const [kind, open] of Object.entries(STORES))
  describe(`conversations (${kind})`, () => {
    it('runs three turns where the second waits for approval, the third waits behind it and then sees both earlier turns', async () => {
      const { warden, store } = await open();
      const agent = deskAgent();
      const conversation = 'chat-1';
      const first = await warden.run(agent, 'Where is order 1042?', { conversation });
      assert.equal(first.status, 'completed');
      assert.equal(first.output, 'Order 1042 totals $250.');
      assert.deepEqual(first.conversation, { id: conversation, turn: 1 });

      const second = await warden.run(agent, 'Refund it, please.', { conversation });
      assert.equal(second.status, 'waiting_approval', 'the model found the order in the first turn and asked to refund it');
      assert.deepEqual(
        second.toolCalls.map((c) => c.args),
        [{ orderId: '1042', amount: 250 }],
      );

      const third = await warden.run(agent, 'Thanks. What have we said?', { conversation });
      assert.equal(third.status, 'queued', 'the third message waits for the second turn');
      assert.deepEqual(
        (await store.loadEvents(third.runId)).map((e) => e.type),
        ['run.submitted'],
        'nothing of the third turn ran beside the second',
      );
      assert.equal((await store.getRun(third.runId))?.leaseOwner, CONVERSATION_HOLD);
      assert.equal((await warden.execute(agent, third.runId)).status, 'queued', 'driving it again still waits');

      await warden.approve(second.pending!.id, { by: 'ana' });
      const secondDone = await warden.execute(agent, second.runId);
      assert.equal(secondDone.status, 'completed');
      assert.equal(secondDone.output, 'Refunded $250 on order 1042.');
      assert.equal((await store.getRun(third.runId))?.leaseOwner, null, 'the end of turn 2 freed turn 3');

      const thirdDone = await warden.execute(agent, third.runId);
      assert.equal(thirdDone.status, 'completed');
      assert.equal(
        thirdDone.output,
        'You said: Where is order 1042? | Refund it, please. | Thanks. What have we said?. I answered: Order 1042 totals $250. | Refunded $250 on order 1042.',
      );
      const history = await historyOf(store, third.runId);
      assert.deepEqual(
        history.turns.map((t) => t.turn),
        [1, 2],
      );
      assert.equal(history.dropped, 0);

      const record = await store.getConversation(conversation);
      assert.equal(record?.turns, 3);
      const spent = [first, secondDone, thirdDone].reduce((sum, r) => sum + r.costUsd, 0);
      assert.ok(Math.abs((record?.spentNano ?? 0) / 1e9 - spent) < 1e-9, 'the conversation spent what its turns spent');
      assert.equal(record?.reservedNano, 0);
    });

    it('replays a turn offline from its own log, sending the history it was told', async () => {
      const { warden, store } = await open();
      const agent = deskAgent();
      await warden.run(agent, 'Where is order 77?', { conversation: 'replayed' });
      const second = await warden.run(agent, 'Refund it.', { conversation: 'replayed' });
      await warden.approve(second.pending!.id, { by: 'ana' });
      const done = await warden.execute(agent, second.runId);
      assert.equal(done.output, 'Refunded $250 on order 77.');
      const report = await replayRun(await store.loadEvents(second.runId), { agent });
      assert.equal(report.identical, true, JSON.stringify(report.divergence));
      assert.equal(report.identicalSteps, 2);
      assert.equal(report.replayed.costUsd, report.recorded.costUsd, 'the replayed calls sent what the live ones sent');
    });

    it('sends the earlier turns tool calls and results too when the agent includes tools', async () => {
      const { warden, store } = await open();
      const agent = deskAgent({ conversation: { includeTools: true } });
      await warden.run(agent, 'Where is order 7?', { conversation: 'c' });
      const second = await warden.run(agent, 'And now?', { conversation: 'c' });
      const history = await historyOf(store, second.runId);
      assert.deepEqual(
        history.turns[0]?.messages.map((m) => m.role),
        ['user', 'assistant', 'tool', 'assistant'],
      );
    });

    it('stops a turn at the conversation ceiling while each turn is under its own', async () => {
      const { warden, store } = await open();
      const agent = deskAgent({
        model: simulated.respond(desk, { inputPerMTok: 20, outputPerMTok: 20 }),
        limits: { maxSteps: 10, maxCostUsd: 1, maxOutputTokens: 512, maxConversationCostUsd: 0.1 },
      });
      const results = [];
      for (let i = 1; i <= 20; i++) {
        const r = await warden.run(agent, `Tell me something, ${i}.`, { conversation: 'budget' });
        results.push(r);
        if (r.status !== 'completed') break;
      }
      const last = results.at(-1)!;
      assert.equal(last.status, 'stopped');
      assert.equal(last.stopReason, 'conversation_ceiling');
      assert.match(last.stopDetail ?? '', /would take conversation budget to .* above its ceiling of \$0\.1/);
      assert.ok(results.length > 2, `several turns ran before the ceiling (${results.length})`);
      for (const r of results) assert.ok(r.costUsd < r.ceilingUsd / 10, `turn cost ${r.costUsd} stayed far under its own ceiling ${r.ceilingUsd}`);
      const c = await store.getConversation('budget');
      assert.ok((c?.spentNano ?? Infinity) <= 0.1e9, `the conversation spent ${c?.spentNano} nano-USD, within its 0.1 USD`);
      assert.equal(c?.reservedNano, 0);
    });

    it('refuses a message past limits.maxConversationTurns and one to a cancelled conversation', async () => {
      const { warden, store } = await open();
      const agent = deskAgent({ limits: { maxSteps: 10, maxCostUsd: 1, maxConversationTurns: 2 } });
      await warden.run(agent, 'One.', { conversation: 'short' });
      await warden.run(agent, 'Two.', { conversation: 'short' });
      await assert.rejects(warden.run(agent, 'Three.', { conversation: 'short' }), (e) => isWardenError(e, 'CONVERSATION_CLOSED'));
      assert.equal((await store.listRuns({ conversationId: 'short' })).length, 2, 'nothing was written for the refused message');

      await warden.run(agent, 'One.', { conversation: 'other' });
      await warden.cancelConversation('other', { by: 'ana' });
      await assert.rejects(warden.run(agent, 'Again.', { conversation: 'other' }), (e) => isWardenError(e, 'CONVERSATION_CLOSED'));
      const other = deskAgent({ name: 'billing' });
      await assert.rejects(warden.run(other, 'Hi.', { conversation: 'short' }), (e) => isWardenError(e, 'CONFLICT'));
    });

    it('cancelling a conversation cancels its live turn and the one queued behind it', async () => {
      const { warden, store } = await open();
      const agent = deskAgent();
      await warden.run(agent, 'Where is order 9?', { conversation: 'x' });
      const waiting = await warden.run(agent, 'Refund it.', { conversation: 'x' });
      assert.equal(waiting.status, 'waiting_approval');
      const queued = await warden.run(agent, 'Hello?', { conversation: 'x' });
      assert.equal(queued.status, 'queued');
      const cancelled = await warden.cancelConversation('x', { by: 'ana', reason: 'customer left' });
      assert.deepEqual(
        cancelled.map((r) => r.status),
        ['cancelled', 'cancelled'],
      );
      assert.equal((await store.getConversation('x'))?.status, 'cancelled');
      const [approval] = await store.listInterventions({ runId: waiting.runId });
      assert.notEqual(approval?.status, 'pending', 'its approval is closed with it');
    });

    it('keeps the history under a token budget at turn 50', async () => {
      const { warden, store } = await open();
      const prompts: number[] = [];
      const model = simulated.respond((view) => {
        prompts.push(JSON.stringify(view.userMessages).length + JSON.stringify(view.answers).length);
        return { text: `Noted point ${view.userMessages.length}: ${'a considered reply '.repeat(10)}` };
      });
      const agent = deskAgent({ model, conversation: { history: { maxTokens: 2_000 } } });
      let last: RunResult<unknown> | undefined;
      for (let i = 1; i <= 50; i++) last = await warden.run(agent, `Point ${i}: ${'some detail '.repeat(8)}`, { conversation: 'long' });
      assert.equal(last?.status, 'completed');
      const history = await historyOf(store, last!.runId);
      assert.ok(history.tokens <= 2_000, `history of ${history.tokens} tokens`);
      assert.ok(history.dropped > 30, `older turns were left out (${history.dropped})`);
      assert.equal(history.turns.at(-1)?.turn, 49, 'the newest turns are the ones kept');
      // The model saw about as much at turn 50 as at turn 15: the request stopped growing.
      assert.ok(prompts[49]! <= prompts[14]! * 1.1, `prompt at turn 50 (${prompts[49]}) vs turn 15 (${prompts[14]})`);
      // And the reservation's input bound counted what was sent: the same for the same history.
      const reserved = ofType(await store.loadEvents(last!.runId), 'budget.reserved');
      assert.ok(reserved.length >= 1);
    });

    it('summarizes older turns with the model, recording the summary and its cost, and stays under the budget', async () => {
      const { warden, store } = await open();
      const agent = deskAgent({ conversation: { history: { summarize: { maxTokens: 700, keepTurns: 2 } } } });
      const runs = [];
      for (let i = 1; i <= 8; i++) runs.push(await warden.run(agent, `Note ${i}: ${'the customer said more '.repeat(4)}`, { conversation: 'sum' }));
      const summaries = [];
      for (const r of runs) summaries.push(...ofType(await store.loadEvents(r.runId), 'conversation.summarized'));
      assert.ok(summaries.length >= 1, 'the model summarized at least once');
      assert.ok(summaries.every((s) => s.costNano > 0 && s.summary.startsWith('Summary of')));
      const last = runs.at(-1)!;
      const events = await store.loadEvents(last.runId);
      const history = await historyOf(store, last.runId);
      assert.ok(history.summary, 'the last turn starts from a summary');
      assert.ok(history.tokens <= 700);
      assert.equal(history.turns.at(-1)?.turn, 7, 'the newest turn is kept whole');
      assert.equal(history.summary.throughTurn, (history.turns[0]?.turn ?? 0) - 1, 'the summary covers every turn before the kept ones');
      // A summary made in this turn is paid from this turn's reservation, settled like any call.
      const made = ofType(events, 'conversation.summarized');
      for (const s of made) {
        const settled = ofType(events, 'budget.committed').find((c) => c.reservationId === s.reservationId);
        assert.equal(settled?.actualNano, s.costNano);
      }
    });
  });

describe('conversations driven by a worker', () => {
  it('claims the turns of one conversation one at a time, in order, each after the one before has ended', async () => {
    const { store, warden } = testWarden();
    const ended: number[] = [];
    const model = simulated.respond((view) => ({ text: `Answer to ${view.userMessages.at(-1)} after ${view.answers.length} answer(s).`, delayMs: 20 }));
    const agent = deskAgent({ model });
    const worker = new Worker({
      store,
      agents: { names: ['desk'], agentFor: async () => agent },
      concurrency: 4,
      pollMs: 20,
      warden: { sleep: async () => {} },
      onRunEnd: (r) => {
        if (r.conversation && r.status === 'completed') ended.push(r.conversation.turn);
      },
      onError: (e) => assert.fail(String(e)),
    });
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) ids.push(await warden.submit(agent, `message ${i}`, { conversation: 'worked' }));
    const done = worker.start();
    try {
      await waitFor(async () => (await store.getRun(ids[3]!))?.status === 'completed', { timeoutMs: 20_000, message: 'the fourth turn to complete' });
    } finally {
      await worker.stop();
      await done;
    }
    for (const [i, id] of ids.entries()) {
      const r = await warden.inspect(id);
      assert.equal(r.output, `Answer to message ${i + 1} after ${i} answer(s).`, 'each turn saw every answer before it');
    }
    assert.deepEqual(ended, [1, 2, 3, 4], 'each turn completed once, in order');
  });
});
