import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { NewWebhookEndpoint, Store, WebhookEventType } from '../../../src/core/ports/store.ts';
import { approvalRequest, createRun, rejectsWith, uid, type ConformanceContext } from './fixtures.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function endpoint(events: WebhookEventType[] = ['approval.requested', 'run.stopped'], format: 'standard' | 'slack' = 'standard'): NewWebhookEndpoint {
  return { id: uid('wh'), url: 'http://127.0.0.1:9/hook', secret: SECRET, events, format, createdAt: Date.now() };
}

/** Runs `body` with endpoints added, and removes them (and their messages) after. */
async function withEndpoints(store: Store, endpoints: NewWebhookEndpoint[], body: () => Promise<void>): Promise<void> {
  for (const e of endpoints) await store.addWebhookEndpoint(e);
  try {
    await body();
  } finally {
    for (const e of endpoints) await store.removeWebhookEndpoint(e.id);
  }
}

/** Webhook endpoints and their outbox: queued with the commit, claimed once at a time. */
export function webhooks({ test, reopen }: ConformanceContext): void {
  describe('webhooks', () => {
    test('adds, lists and removes an endpoint; a second id is CONFLICT and a bad url INVALID_ARGUMENT', async (store) => {
      const e = endpoint();
      const added = await store.addWebhookEndpoint(e);
      assert.deepEqual(added, { ...e, enabled: true });
      assert.deepEqual(
        (await store.listWebhookEndpoints()).find((x) => x.id === e.id),
        { ...e, enabled: true },
      );
      await rejectsWith(store.addWebhookEndpoint(e), 'CONFLICT');
      await rejectsWith(store.addWebhookEndpoint({ ...endpoint(), url: 'ftp://x' }), 'INVALID_ARGUMENT');
      await rejectsWith(store.addWebhookEndpoint({ ...endpoint(), events: ['run.nope' as WebhookEventType] }), 'INVALID_ARGUMENT');
      assert.equal(await store.removeWebhookEndpoint(e.id), true);
      assert.equal(await store.removeWebhookEndpoint(e.id), false);
    });

    test('queues a committed approval.requested and run.stopped for each endpoint listening to it, in the same commit', async (store) => {
      const listens = endpoint(['approval.requested', 'run.stopped']);
      const deaf = endpoint(['escalated']);
      await withEndpoints(store, [listens, deaf], async () => {
        const run = await createRun(store, { status: 'running' });
        const i = approvalRequest();
        const requested = {
          type: 'approval.requested',
          at: i.requestedAt,
          v: 1,
          data: { approvalId: i.id, callId: 'c1', tool: 't', tier: 'delete', args: {}, argsHash: 'h', reason: 'r' },
        } as const;
        await store.commit({ runId: run.runId, expectedSeq: 1, events: [requested], interventions: [i] });
        // A stale commit writes nothing, so queues nothing.
        await rejectsWith(store.commit({ runId: run.runId, expectedSeq: 1, events: [requested] }), 'STALE_WRITER');
        await store.commit({
          runId: run.runId,
          expectedSeq: 2,
          events: [{ type: 'run.stopped', at: Date.now(), v: 1, data: { reason: 'max_steps', detail: 'x' } }],
        });

        const mine = await store.listWebhookMessages({ endpointId: listens.id });
        assert.deepEqual(mine.map((m) => [m.id, m.type]).sort(), [
          [`msg_${run.runId}_2.${listens.id}`, 'approval.requested'],
          [`msg_${run.runId}_3.${listens.id}`, 'run.stopped'],
        ]);
        const approval = mine.find((m) => m.type === 'approval.requested');
        assert.ok(approval);
        assert.deepEqual(approval.payload.type, 'approval.requested');
        assert.equal((approval.payload.data as { runId: string }).runId, run.runId);
        assert.equal((approval.payload.data as { tool: string }).tool, 't');
        assert.equal(approval.attempts, 0);
        assert.deepEqual(await store.listWebhookMessages({ endpointId: deaf.id }), []);
      });
    });

    test('queues a fact outside a run once per key', async (store) => {
      const e = endpoint(['kill_switch.changed']);
      await withEndpoints(store, [e], async () => {
        const key = uid('ks');
        assert.equal(await store.enqueueWebhook('kill_switch.changed', key, { type: 'kill_switch.changed', data: { scope: 'all' } }), 1);
        assert.equal(await store.enqueueWebhook('kill_switch.changed', key, { type: 'kill_switch.changed', data: { scope: 'all' } }), 0);
        assert.equal((await store.listWebhookMessages({ endpointId: e.id })).length, 1);
      });
    });

    test('leases a due message to one claimer, counts the attempt, and settles it delivered or retried', async (store) => {
      const e = endpoint(['kill_switch.changed']);
      await withEndpoints(store, [e], async () => {
        await store.enqueueWebhook('kill_switch.changed', uid('ks'), { n: 1 });
        const [m] = await store.claimWebhookMessages(10, 60_000);
        assert.equal(m?.attempts, 1);
        assert.deepEqual(await store.claimWebhookMessages(10, 60_000), [], 'leased: nobody else gets it');
        await store.recordWebhookAttempt(m!.id, { delivered: false, status: 503, error: 'HTTP 503', retryAt: Date.now() - 1 });
        const [again] = await store.claimWebhookMessages(10, 60_000);
        assert.equal(again?.id, m?.id);
        assert.equal(again?.attempts, 2);
        assert.equal(again?.lastStatus, 503);
        await store.recordWebhookAttempt(m!.id, { delivered: true, status: 204 });
        const [settled] = await store.listWebhookMessages({ endpointId: e.id });
        assert.equal(settled?.nextAttemptAt, null);
        assert.equal(settled?.lastStatus, 204);
        assert.ok((settled?.deliveredAt ?? 0) > 0);
        assert.deepEqual(await store.listWebhookMessages({ endpointId: e.id, pending: true }), []);
        assert.deepEqual(await store.claimWebhookMessages(10, 1), []);
      });
    });

    test('lists only the failed messages (undelivered, last attempt failed: retrying or given up), or only the others', async (store) => {
      const e = endpoint(['kill_switch.changed']);
      await withEndpoints(store, [e], async () => {
        for (let i = 0; i < 4; i++) await store.enqueueWebhook('kill_switch.changed', uid('ks'), { n: i });
        const mine = (await store.claimWebhookMessages(100, 60_000)).filter((m) => m.endpointId === e.id);
        assert.equal(mine.length, 4);
        const [ok, retrying, gaveUp, leased] = mine.map((m) => m.id) as [string, string, string, string];
        await store.recordWebhookAttempt(ok, { delivered: true, status: 200 });
        await store.recordWebhookAttempt(retrying, { delivered: false, status: 500, error: 'HTTP 500', retryAt: Date.now() + 60_000 });
        await store.recordWebhookAttempt(gaveUp, { delivered: false, status: null, error: 'ECONNREFUSED', retryAt: null });
        const ids = async (failed: boolean) => (await store.listWebhookMessages({ endpointId: e.id, failed })).map((m) => m.id).sort();
        assert.deepEqual(await ids(true), [retrying, gaveUp].sort());
        assert.deepEqual(await ids(false), [ok, leased].sort());
      });
    });

    test('counts and deletes settled messages (delivered or given up) older than a time, a batch at a time, never one still due or leased', async (store) => {
      const e = endpoint(['kill_switch.changed']);
      await withEndpoints(store, [e], async () => {
        for (let i = 0; i < 5; i++) await store.enqueueWebhook('kill_switch.changed', uid('ks'), { n: i });
        const mine = (await store.claimWebhookMessages(100, 60_000)).filter((m) => m.endpointId === e.id);
        assert.equal(mine.length, 5);
        const [delivered, gaveUp, retrying, leased, alsoDelivered] = mine.map((m) => m.id) as [string, string, string, string, string];
        await store.recordWebhookAttempt(delivered, { delivered: true, status: 200 });
        await store.recordWebhookAttempt(alsoDelivered, { delivered: true, status: 204 });
        await store.recordWebhookAttempt(gaveUp, { delivered: false, status: null, error: 'ECONNREFUSED', retryAt: null });
        await store.recordWebhookAttempt(retrying, { delivered: false, status: 503, error: 'HTTP 503', retryAt: Date.now() - 1 });
        const createdBefore = Math.max(...mine.map((m) => m.createdAt)) + 1;
        const oldest = Math.min(...mine.map((m) => m.createdAt));
        const olderThanMine = await store.settledWebhookMessages(oldest, { remove: false });
        const settled = await store.settledWebhookMessages(createdBefore, { remove: false });
        assert.equal(settled - olderThanMine, 3, 'mine: delivered twice and given up once');
        assert.equal(await store.settledWebhookMessages(createdBefore, { remove: true, limit: 1 }), 1, 'a batch is at most its limit');
        let removed = 1;
        for (let n = -1; n !== 0; removed += n) n = await store.settledWebhookMessages(createdBefore, { remove: true, limit: 2 });
        assert.equal(removed, settled);
        const left = (await store.listWebhookMessages({ endpointId: e.id })).map((m) => m.id).sort();
        assert.deepEqual(left, [retrying, leased].sort(), 'due and leased messages stay, whatever their age');
        await rejectsWith(store.settledWebhookMessages(createdBefore, { remove: true, limit: 0 }), 'INVALID_ARGUMENT');
      });
    });

    if (reopen) {
      test('hands each message to one of several concurrent claimers', async (store) => {
        const e = endpoint(['kill_switch.changed']);
        const others = [await reopen(store), await reopen(store)];
        try {
          await withEndpoints(store, [e], async () => {
            for (let n = 0; n < 30; n++) await store.enqueueWebhook('kill_switch.changed', uid('ks'), { n });
            const claimers = [store, ...others];
            const taken = await Promise.all(
              claimers.flatMap((s) => [s.claimWebhookMessages(4, 60_000), s.claimWebhookMessages(4, 60_000), s.claimWebhookMessages(4, 60_000)]),
            );
            const ids = taken.flat().map((m) => m.id);
            assert.equal(new Set(ids).size, ids.length, 'no message claimed twice');
            assert.equal(ids.length, 30);
          });
        } finally {
          for (const o of others) await o.close();
        }
      });
    }
  });
}
