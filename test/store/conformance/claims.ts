import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Store } from '../../../src/core/ports/store.ts';
import { newEvent } from '../../../src/core/events.ts';
import { approvalRequest, clockPast, createRun, rejectsWith, sleep, toolDenied, uid, type ConformanceContext } from './fixtures.ts';

/** Runs of one test, by agent name, so claims never pick up another test's runs on a shared database. */
function agentOf(): string {
  return uid('agent');
}

async function decide(store: Store, runId: string, approvalId: string): Promise<void> {
  const decided = newEvent('approval.decided', { approvalId, callId: 'c', decision: 'approved', by: 'ana', reason: 'ok', argsHash: 'sha256:abc' });
  await store.appendExternal(runId, [decided], {
    run: { status: 'queued' },
    intervention: { id: approvalId, status: 'approved', decidedBy: 'ana', decisionReason: 'ok', decidedAt: Date.now() },
  });
}

/** How workers find work: claims, heartbeats, takeover of lapsed leases, wake-ups. */
export function claims({ test, reopen }: ConformanceContext): void {
  describe('claiming runs', () => {
    test('claims fairly across tenants: a burst from one cannot starve another', async (store) => {
      const agent = agentOf();
      const t = 1_700_000_000_000;
      const burst = [];
      for (let i = 0; i < 6; i++) burst.push(await createRun(store, { agent, tenant: 'big', createdAt: t + i }));
      const small = [
        await createRun(store, { agent, tenant: 'small', createdAt: t + 10 }),
        await createRun(store, { agent, tenant: 'small', createdAt: t + 11 }),
      ];
      const claimed = (await store.claimRuns('worker-a', { limit: 4, leaseMs: 60_000, agents: [agent] })).map((r) => r.runId).sort();
      assert.deepEqual(claimed, [burst[0]?.runId, burst[1]?.runId, small[0]?.runId, small[1]?.runId].sort());
    });

    test('takes turns across tenants when more are waiting than a claim takes: an old burst does not go first whole', async (store) => {
      const agent = agentOf();
      const t = 1_700_000_000_000;
      const tenants = [uid('ta'), uid('tb'), uid('tc')];
      for (let i = 0; i < 5; i++) await createRun(store, { agent, tenant: tenants[0], createdAt: t + i });
      await createRun(store, { agent, tenant: tenants[1], createdAt: t + 10 });
      await createRun(store, { agent, tenant: tenants[2], createdAt: t + 20 });
      const served: string[] = [];
      for (let i = 0; i < 3; i++) {
        for (const r of await store.claimRuns('w', { limit: 1, leaseMs: 60_000, agents: [agent] })) served.push(r.tenant);
      }
      assert.deepEqual([...served].sort(), [...tenants].sort(), 'three claims of one served three tenants');
    });

    test('finds a run of its agent behind a tenant backlog of other agents', async (store) => {
      const agent = agentOf();
      const other = agentOf();
      const tenant = uid('t');
      for (let i = 0; i < 20; i++) await createRun(store, { agent: other, tenant, createdAt: 1_700_000_000_000 + i });
      const mine = await createRun(store, { agent, tenant, createdAt: 1_700_000_001_000 });
      const claimed = await store.claimRuns('w', { limit: 5, leaseMs: 60_000, agents: [agent] });
      assert.deepEqual(
        claimed.map((r) => r.runId),
        [mine.runId],
      );
    });

    test('serves a released run again, and one whose worker gave it back queued after its lease lapsed', async (store) => {
      const agent = agentOf();
      const released = await createRun(store, { agent });
      const lapsed = await createRun(store, { agent });
      assert.equal((await store.claimRuns('w', { limit: 2, leaseMs: 60_000, agents: [agent] })).length, 2);
      await store.releaseLease(released.runId, 'w');
      await store.acquireLease(lapsed.runId, 'w', 1, { force: true });
      await clockPast((await store.getRun(lapsed.runId))!.leaseExpiresAt!);
      const again = await store.claimRuns('w2', { limit: 5, leaseMs: 60_000, agents: [agent] });
      assert.deepEqual(new Set(again.map((r) => r.runId)), new Set([released.runId, lapsed.runId]));
      assert.deepEqual(await store.claimRuns('w3', { limit: 5, leaseMs: 60_000, agents: [agent] }), []);
    });

    test('claims queued root runs oldest first, up to the limit, and leases them to the worker', async (store) => {
      const agent = agentOf();
      const t = 1_700_000_000_000;
      const runs = [];
      for (let i = 0; i < 4; i++) runs.push(await createRun(store, { agent, createdAt: t + i }));
      const claimed = await store.claimRuns('worker-a', { limit: 3, leaseMs: 60_000, agents: [agent] });
      assert.deepEqual(
        claimed.map((r) => r.runId),
        runs.slice(0, 3).map((r) => r.runId),
      );
      for (const r of claimed) {
        assert.equal(r.leaseOwner, 'worker-a');
        assert.ok(r.leaseExpiresAt! > Date.now() + 50_000);
        assert.equal((await store.getRun(r.runId))?.leaseOwner, 'worker-a');
      }
      assert.deepEqual(
        (await store.claimRuns('worker-b', { limit: 10, leaseMs: 60_000, agents: [agent] })).map((r) => r.runId),
        [runs[3]?.runId],
      );
      assert.deepEqual(await store.claimRuns('worker-c', { limit: 10, leaseMs: 60_000, agents: [agent] }), []);
    });

    test('passes over child runs, parked and finished runs, and runs of other agents', async (store) => {
      const agent = agentOf();
      const root = await createRun(store, { agent });
      await createRun(store, { agent, rootRunId: root.runId });
      const parked = await createRun(store, { agent });
      await store.commit({
        runId: parked.runId,
        expectedSeq: 1,
        events: [toolDenied()],
        interventions: [approvalRequest()],
        run: { status: 'waiting_approval' },
      });
      const done = await createRun(store, { agent });
      await store.commit({ runId: done.runId, expectedSeq: 1, events: [], run: { status: 'completed', output: 'ok' } });
      await createRun(store, { agent: agentOf() });
      const claimed = await store.claimRuns('w', { limit: 10, leaseMs: 60_000, agents: [agent] });
      assert.deepEqual(
        claimed.map((r) => r.runId),
        [root.runId],
      );
      assert.deepEqual(await store.claimRuns('w', { limit: 10, leaseMs: 60_000, agents: [] }), []);
    });

    test('takes over a running run whose lease lapsed, and not one whose lease is live', async (store) => {
      const agent = agentOf();
      const lapsed = await createRun(store, { agent });
      const live = await createRun(store, { agent });
      for (const [run, ttl] of [
        [lapsed, 1],
        [live, 60_000],
      ] as const) {
        await store.acquireLease(run.runId, 'dead-worker', ttl);
        await store.commit({ runId: run.runId, expectedSeq: 1, events: [], run: { status: 'running' } });
      }
      await clockPast((await store.getRun(lapsed.runId))!.leaseExpiresAt!);
      const claimed = await store.claimRuns('rescuer', { limit: 10, leaseMs: 60_000, agents: [agent] });
      assert.deepEqual(
        claimed.map((r) => [r.runId, r.status, r.leaseOwner]),
        [[lapsed.runId, 'running', 'rescuer']],
      );
    });

    test('claims a parked run again once a decision queues it', async (store) => {
      const agent = agentOf();
      const run = await createRun(store, { agent });
      const approval = approvalRequest();
      assert.equal((await store.claimRuns('w', { limit: 1, leaseMs: 60_000, agents: [agent] })).length, 1);
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [toolDenied()], interventions: [approval], run: { status: 'waiting_approval' } });
      await store.releaseLease(run.runId, 'w');
      assert.deepEqual(await store.claimRuns('w', { limit: 1, leaseMs: 60_000, agents: [agent] }), []);
      await decide(store, run.runId, approval.id);
      assert.deepEqual(
        (await store.claimRuns('w2', { limit: 1, leaseMs: 60_000, agents: [agent] })).map((r) => r.runId),
        [run.runId],
      );
    });

    test('never hands one run to two of many concurrent claimers', async (store) => {
      const agent = agentOf();
      const ids = new Set<string>();
      for (let i = 0; i < 30; i++) ids.add((await createRun(store, { agent })).runId);
      const other = reopen ? await reopen(store) : store;
      try {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).claimRuns(`w${i}`, { limit: 5, leaseMs: 60_000, agents: [agent] })),
        );
        const claimed = results.flat().map((r) => r.runId);
        assert.equal(new Set(claimed).size, claimed.length, 'a run was claimed twice');
        assert.equal(claimed.length, 30);
        assert.deepEqual(new Set(claimed), ids);
      } finally {
        if (other !== store) await other.close();
      }
    });

    test('refuses a claim without a worker or with a bad limit with INVALID_ARGUMENT', async (store) => {
      await rejectsWith(store.claimRuns('', { limit: 1, leaseMs: 1_000 }), 'INVALID_ARGUMENT');
      await rejectsWith(store.claimRuns('w', { limit: 0, leaseMs: 1_000 }), 'INVALID_ARGUMENT');
      await rejectsWith(store.claimRuns('w', { limit: 1, leaseMs: Number.NaN }), 'INVALID_ARGUMENT');
    });
  });

  describe('lease heartbeats', () => {
    test('renews a lease only for the owner that still holds it', async (store) => {
      const run = await createRun(store);
      await store.acquireLease(run.runId, 'worker-a', 1_000);
      const before = (await store.getRun(run.runId))!.leaseExpiresAt!;
      assert.equal(await store.renewLease(run.runId, 'worker-a', 120_000), true);
      assert.ok((await store.getRun(run.runId))!.leaseExpiresAt! >= before + 100_000);
      assert.equal(await store.renewLease(run.runId, 'worker-b', 120_000), false);
      await store.acquireLease(run.runId, 'worker-b', 60_000, { force: true });
      assert.equal(await store.renewLease(run.runId, 'worker-a', 120_000), false, 'a lost lease stays lost');
      assert.equal((await store.getRun(run.runId))?.leaseOwner, 'worker-b');
      assert.equal(await store.renewLease(uid(), 'worker-a', 1_000), false);
    });
  });

  describe('wake-ups', () => {
    test('tells watchers when a run is submitted or queued again by a decision, until they stop', async (store) => {
      const heard: string[] = [];
      const stop = await store.watchRunnable((runId) => heard.push(runId));
      const run = await createRun(store);
      const approval = approvalRequest();
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [toolDenied()], interventions: [approval], run: { status: 'waiting_approval' } });
      await decide(store, run.runId, approval.id);
      await waitUntil(() => heard.filter((id) => id === run.runId).length >= 2);
      await stop();
      // A second watcher, still listening, is the signal: once it has heard the next run, a stopped
      // watcher that still got calls would have heard it too (no sleep that hopes it was long enough).
      const still: string[] = [];
      const stopStill = await store.watchRunnable((runId) => still.push(runId));
      const after = await createRun(store);
      await waitUntil(() => still.includes(after.runId));
      await stopStill();
      assert.ok(!heard.includes(after.runId), 'no calls after stop');
    });
  });
}

async function waitUntil(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a notification');
    await sleep(5);
  }
}
