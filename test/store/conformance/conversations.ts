import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { newEvent } from '../../../src/core/events.ts';
import type { Store } from '../../../src/core/ports/store.ts';
import { createRun, limitHit, newRun, rejectsWith, seqs, uid, type ConformanceContext } from './fixtures.ts';

function reserved(amountNano: number) {
  const before = { spentNano: 0, reservedNano: 0, ceilingNano: 0 };
  return newEvent('budget.reserved', { reservationId: `res-${amountNano}`, purpose: 'model', amountNano, before });
}

/** Creates turns 1..n of a new conversation and returns their run ids. */
async function turns(store: Store, conversationId: string, n: number, options: { ceilingNano?: number | null; tenant?: string } = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let turn = 1; turn <= n; turn++) {
    const run = await createRun(store, { tenant: options.tenant ?? 'acme', conversation: { conversationId, turn, ceilingNano: options.ceilingNano ?? null } });
    ids.push(run.runId);
  }
  return ids;
}

/** Conversations: turns created in order with their runs, and a ceiling held with each reservation. */
export function conversations({ test }: ConformanceContext): void {
  describe('conversations', () => {
    test('creates a conversation with its first turn and numbers the runs that follow as its turns', async (store) => {
      const id = uid('conv');
      const ids = await turns(store, id, 3, { ceilingNano: 5_000 });
      const c = await store.getConversation(id);
      assert.equal(c?.turns, 3);
      assert.equal(c?.status, 'open');
      assert.equal(c?.ceilingNano, 5_000);
      assert.equal(c?.spentNano, 0);
      assert.equal(c?.agent, 'support');
      assert.equal(c?.tenant, 'acme');
      const listed = await store.listRuns({ conversationId: id });
      assert.deepEqual(
        listed.map((r) => [r.runId, r.turn]).sort((a, b) => Number(a[1]) - Number(b[1])),
        ids.map((runId, i) => [runId, i + 1]),
      );
      assert.ok(listed.every((r) => r.conversationId === id));
      const alone = await createRun(store);
      const record = await store.getRun(alone.runId);
      assert.equal(record?.conversationId, null);
      assert.equal(record?.turn, null);
    });

    test('refuses a turn that is not the next one, and one from another agent or tenant, writing nothing', async (store) => {
      const id = uid('conv');
      await turns(store, id, 1);
      const skipped = uid();
      await rejectsWith(store.createRun(newRun({ runId: skipped, conversation: { conversationId: id, turn: 3, ceilingNano: null } })), 'CONFLICT');
      assert.equal(await store.getRun(skipped), undefined);
      const again = uid();
      await rejectsWith(createRun(store, { runId: again, conversation: { conversationId: id, turn: 1, ceilingNano: null } }), 'CONFLICT');
      assert.equal(await store.getRun(again), undefined);
      const other = uid();
      await rejectsWith(createRun(store, { runId: other, agent: 'billing', conversation: { conversationId: id, turn: 2, ceilingNano: null } }), 'CONFLICT');
      await rejectsWith(createRun(store, { runId: other, tenant: 'globex', conversation: { conversationId: id, turn: 2, ceilingNano: null } }), 'CONFLICT');
      assert.equal(await store.getRun(other), undefined);
      const fresh = uid('conv');
      await rejectsWith(createRun(store, { conversation: { conversationId: fresh, turn: 2, ceilingNano: null } }), 'CONFLICT');
      assert.equal(await store.getConversation(fresh), undefined);
      assert.equal((await store.getConversation(id))?.turns, 1);
    });

    test('gives one turn number to one of two messages that race for it', async (store) => {
      const id = uid('conv');
      await turns(store, id, 1);
      const outcomes = await Promise.allSettled([1, 2, 3].map(() => createRun(store, { conversation: { conversationId: id, turn: 2, ceilingNano: null } })));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      assert.equal((await store.getConversation(id))?.turns, 2);
    });

    test('takes no turn into a cancelled conversation', async (store) => {
      const id = uid('conv');
      await turns(store, id, 2);
      assert.equal(await store.closeConversation(id, Date.now()), true);
      assert.equal(await store.closeConversation(id, Date.now()), false);
      assert.equal((await store.getConversation(id))?.status, 'cancelled');
      await rejectsWith(createRun(store, { conversation: { conversationId: id, turn: 3, ceilingNano: null } }), 'CONVERSATION_CLOSED');
      assert.equal((await store.getConversation(id))?.turns, 2);
    });

    test('holds each reservation against the conversation ceiling too, across turns, and refuses the one that would cross it', async (store) => {
      const id = uid('conv');
      const [first, second] = await turns(store, id, 2, { ceilingNano: 1_000 });
      const a = mustBe(first);
      const b = mustBe(second);
      await store.commit({ runId: a, expectedSeq: 1, events: [reserved(700)], budget: [{ kind: 'reserve', rootRunId: a, amountNano: 700, conversation: id }] });
      await store.commit({
        runId: a,
        expectedSeq: 2,
        events: [limitHit()],
        budget: [{ kind: 'settle', rootRunId: a, reservedNano: 700, actualNano: 600, conversation: id }],
      });
      assert.deepEqual(pick(await store.getConversation(id)), { spentNano: 600, reservedNano: 0 });
      // The second turn's own ceiling (1_000_000) has room; the conversation's has 400 left.
      const error = await rejectsWith(
        store.commit({ runId: b, expectedSeq: 1, events: [reserved(401)], budget: [{ kind: 'reserve', rootRunId: b, amountNano: 401, conversation: id }] }),
        'CONVERSATION_CEILING',
      );
      assert.equal(error.context.conversationId, id);
      assert.equal(error.context.spentNano, 600);
      assert.equal(error.context.ceilingNano, 1_000);
      assert.deepEqual(seqs(await store.loadEvents(b)), [1]);
      assert.equal((await store.getBudget(b))?.reservedNano, 0, 'the refused commit took nothing from the turn budget either');
      await store.commit({ runId: b, expectedSeq: 1, events: [reserved(400)], budget: [{ kind: 'reserve', rootRunId: b, amountNano: 400, conversation: id }] });
      assert.deepEqual(pick(await store.getConversation(id)), { spentNano: 600, reservedNano: 400 });
    });

    test('holds concurrent reservations of two turns within the conversation ceiling', async (store) => {
      const id = uid('conv');
      const runs = await turns(store, id, 2, { ceilingNano: 1_000 });
      const attempts = runs.flatMap((runId) =>
        [0, 1, 2].map(async (i) => {
          const events = [reserved(300 + i)];
          return store.commit({ runId, expectedSeq: 1, events, budget: [{ kind: 'reserve', rootRunId: runId, amountNano: 300, conversation: id }] });
        }),
      );
      const outcomes = await Promise.allSettled(attempts);
      const held = outcomes.filter((o) => o.status === 'fulfilled').length;
      assert.ok(held <= 3 && held >= 1, `at most three reservations of 300 fit under 1_000, ${held} were held`);
      assert.ok(((await store.getConversation(id))?.reservedNano ?? 0) <= 1_000);
    });

    test('lists conversations by tenant and agent, most recently updated first', async (store) => {
      const tenant = uid('tenant');
      const older = uid('conv');
      const newer = uid('conv');
      await turns(store, older, 1, { tenant });
      await new Promise((r) => setTimeout(r, 5));
      await turns(store, newer, 1, { tenant });
      const listed = await store.listConversations({ tenant });
      assert.deepEqual(
        listed.map((c) => c.conversationId),
        [newer, older],
      );
      assert.deepEqual(await store.listConversations({ tenant, agent: 'billing' }), []);
      assert.equal((await store.listConversations({ tenant, limit: 1 })).length, 1);
    });
  });
}

function mustBe(id: string | undefined): string {
  assert.ok(id);
  return id;
}

function pick(c: { spentNano: number; reservedNano: number } | undefined) {
  return c && { spentNano: c.spentNano, reservedNano: c.reservedNano };
}
