import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { clockPast, createRun, limitHit, rejectsWith, uid, type ConformanceContext } from './fixtures.ts';

/** Leases: which worker drives a run. */
export function leases({ test }: ConformanceContext): void {
  describe('leases', () => {
    test('takes a free lease, renews it for its owner, and refuses another owner while it is live', async (store) => {
      const run = await createRun(store);
      const t0 = Date.now();
      assert.equal(await store.acquireLease(run.runId, 'worker-a', 60_000), true);
      const held = await store.getRun(run.runId);
      assert.equal(held?.leaseOwner, 'worker-a');
      assert.ok(held!.leaseExpiresAt! >= t0 + 60_000, 'expires ttl after now');
      assert.equal(await store.acquireLease(run.runId, 'worker-b', 60_000), false);
      assert.equal(await store.acquireLease(run.runId, 'worker-a', 120_000), true);
      const renewed = await store.getRun(run.runId);
      assert.equal(renewed?.leaseOwner, 'worker-a');
      assert.ok(renewed!.leaseExpiresAt! >= t0 + 120_000, 'a renewal moves the expiry');
    });

    test('lets another owner take a lease once it has expired', async (store) => {
      const run = await createRun(store);
      assert.equal(await store.acquireLease(run.runId, 'worker-a', 1), true);
      await clockPast((await store.getRun(run.runId))!.leaseExpiresAt!);
      assert.equal(await store.acquireLease(run.runId, 'worker-b', 60_000), true);
      assert.equal((await store.getRun(run.runId))?.leaseOwner, 'worker-b');
    });

    test('lets force take a live lease', async (store) => {
      const run = await createRun(store);
      await store.acquireLease(run.runId, 'worker-a', 60_000);
      assert.equal(await store.acquireLease(run.runId, 'worker-b', 60_000, { force: true }), true);
      assert.equal((await store.getRun(run.runId))?.leaseOwner, 'worker-b');
    });

    test('releases a lease only for its owner', async (store) => {
      const run = await createRun(store);
      await store.acquireLease(run.runId, 'worker-a', 60_000);
      await store.releaseLease(run.runId, 'worker-b');
      assert.equal((await store.getRun(run.runId))?.leaseOwner, 'worker-a');
      await store.releaseLease(run.runId, 'worker-a');
      const free = await store.getRun(run.runId);
      assert.equal(free?.leaseOwner, null);
      assert.equal(free?.leaseExpiresAt, null);
      assert.equal(await store.acquireLease(run.runId, 'worker-b', 60_000), true);
    });

    test('answers false for a lease on an unknown run', async (store) => {
      assert.equal(await store.acquireLease(uid(), 'worker-a', 60_000), false);
      await store.releaseLease(uid(), 'worker-a');
    });

    test('leaves the log alone when a lease is taken or given back', async (store) => {
      const run = await createRun(store);
      const before = await store.getRun(run.runId);
      await store.acquireLease(run.runId, 'worker-a', 60_000);
      await store.releaseLease(run.runId, 'worker-a');
      const after = await store.getRun(run.runId);
      assert.equal(after?.lastSeq, 1);
      assert.equal(after?.updatedAt, before?.updatedAt);
    });
  });

  describe('closing', () => {
    test('refuses every call after close with STORE_UNAVAILABLE, and closing twice is harmless', async (store) => {
      const run = await createRun(store);
      await store.close();
      await store.close();
      await rejectsWith(store.getRun(run.runId), 'STORE_UNAVAILABLE');
      await rejectsWith(store.loadEvents(run.runId), 'STORE_UNAVAILABLE');
      await rejectsWith(store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()] }), 'STORE_UNAVAILABLE');
      await rejectsWith(store.appendExternal(run.runId, [limitHit()]), 'STORE_UNAVAILABLE');
      await rejectsWith(store.createRun({ ...run, runId: uid(), rootRunId: uid() }), 'STORE_UNAVAILABLE');
      await rejectsWith(store.listRuns(), 'STORE_UNAVAILABLE');
      await rejectsWith(store.listInterventions(), 'STORE_UNAVAILABLE');
      await rejectsWith(store.getBudget(run.runId), 'STORE_UNAVAILABLE');
      await rejectsWith(store.getIntervention('x'), 'STORE_UNAVAILABLE');
      await rejectsWith(store.acquireLease(run.runId, 'w', 1_000), 'STORE_UNAVAILABLE');
      await rejectsWith(store.releaseLease(run.runId, 'w'), 'STORE_UNAVAILABLE');
      await rejectsWith(store.renewLease(run.runId, 'w', 1_000), 'STORE_UNAVAILABLE');
      await rejectsWith(store.claimRuns('w', { limit: 1, leaseMs: 1_000 }), 'STORE_UNAVAILABLE');
      await rejectsWith(
        store.watchRunnable(() => {}),
        'STORE_UNAVAILABLE',
      );
    });
  });
}
