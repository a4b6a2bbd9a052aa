import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { ExpiryCutoffs, RunPatch, Store } from '../../../src/core/ports/store.ts';
import { approvalRequest, cancelRequested, clockPast, createRun, limitHit, rejectsWith, uid, type ConformanceContext } from './fixtures.ts';

/**
 * Retention: which run trees a policy's cutoffs expire, and deleting them whole. The database may
 * be shared with other tests, so each test has tenants of its own and looks only at them, and
 * deletes either by tenant cutoff (the default keeps everything) or by root run id.
 */
export function retention({ test }: ConformanceContext): void {
  describe('retention', () => {
    test('expires a finished tree only once its last write is before the cutoff, and deletes it whole', async (store) => {
      const tenant = uid('tenant');
      const root = await createRun(store, { tenant });
      const child = await createRun(store, { tenant, rootRunId: root.runId });
      await finish(store, child.runId);
      await store.commit({ runId: root.runId, expectedSeq: 1, events: [limitHit(), limitHit()], run: stopped, interventions: [approvalRequest()] });
      const last = Math.max(...(await Promise.all([root, child].map(async (r) => (await store.getRun(r.runId))?.updatedAt ?? 0))));

      const at = (cutoff: number): ExpiryCutoffs => ({ default: null, tenants: { [tenant]: cutoff } });
      assert.deepEqual(await store.listExpiredRuns(at(last)), [], 'a run written at the cutoff is kept');
      assert.deepEqual(await store.summarizeExpired(at(last)), []);

      const cutoffs = at(last + 1);
      assert.deepEqual(await store.listExpiredRuns(cutoffs), [{ rootRunId: root.runId, tenant, runIds: [root.runId, child.runId] }]);
      const [summary] = await store.summarizeExpired(cutoffs);
      assert.equal(summary?.tenant, tenant);
      assert.deepEqual([summary?.trees, summary?.runs, summary?.events], [1, 2, 3 + 2]);
      assert.ok((summary?.bytes ?? 0) > 500, `bytes ${summary?.bytes}`);
      assert.ok((summary?.oldestAt ?? 0) <= (summary?.newestAt ?? 0) && summary?.newestAt === last);

      const report = await store.deleteExpiredRuns(cutoffs);
      assert.deepEqual([report.trees, report.runs, report.events], [1, 2, 5]);
      for (const r of [root, child]) {
        assert.equal(await store.getRun(r.runId), undefined);
        assert.deepEqual(await store.loadEvents(r.runId), []);
      }
      assert.deepEqual(await store.listInterventions({ runId: root.runId }), []);
      assert.equal(await store.getBudget(root.runId), undefined);
    });

    test('never expires a live, queued, parked or undoing run, nor the tree it is in, whatever its age', async (store) => {
      const tenant = uid('tenant');
      const queued = await createRun(store, { tenant });
      const running = await createRun(store, { tenant });
      await store.commit({ runId: running.runId, expectedSeq: 1, events: [limitHit()], run: { status: 'running' } });
      const waiting = await createRun(store, { tenant });
      await store.commit({
        runId: waiting.runId,
        expectedSeq: 1,
        events: [limitHit()],
        run: { status: 'waiting_approval' },
        interventions: [approvalRequest()],
      });
      const escalated = await createRun(store, { tenant });
      await store.commit({ runId: escalated.runId, expectedSeq: 1, events: [limitHit()], run: { status: 'escalated' } });
      const undoing = await createRun(store, { tenant });
      await store.commit({ runId: undoing.runId, expectedSeq: 1, events: [limitHit()], run: { ...stopped, undo: 'waiting_for_person' } });
      const parent = await createRun(store, { tenant });
      await finish(store, parent.runId);
      const child = await createRun(store, { tenant, rootRunId: parent.runId });
      await store.commit({ runId: child.runId, expectedSeq: 1, events: [limitHit()], run: { status: 'waiting_approval' } });
      const done = await createRun(store, { tenant });
      await finish(store, done.runId);

      const cutoffs = { default: null, tenants: { [tenant]: Date.now() + 86_400_000 } };
      assert.deepEqual(
        (await store.listExpiredRuns(cutoffs)).map((t) => t.rootRunId),
        [done.runId],
      );
      const report = await store.deleteExpiredRuns(cutoffs);
      assert.deepEqual([report.trees, report.runs], [1, 1]);
      for (const kept of [queued, running, waiting, escalated, undoing, parent, child]) {
        assert.ok(await store.getRun(kept.runId), `${kept.runId} was kept`);
        assert.ok((await store.loadEvents(kept.runId)).length >= 1);
      }
      assert.equal(await store.getRun(done.runId), undefined);
    });

    test("applies a tenant's own cutoff over the default, and keeps a tenant set to keep for ever", async (store) => {
      const [keep, short, other] = [uid('keep'), uid('short'), uid('other')];
      const runs = {
        keep: await createRun(store, { tenant: keep }),
        short: await createRun(store, { tenant: short }),
        other: await createRun(store, { tenant: other }),
      };
      for (const r of Object.values(runs)) await finish(store, r.runId);
      const future = Date.now() + 86_400_000;
      const cutoffs = { default: future, tenants: { [keep]: null, [short]: future } };
      const mine = (await store.summarizeExpired(cutoffs)).filter((s) => [keep, short, other].includes(s.tenant)).map((s) => s.tenant);
      assert.deepEqual(mine.sort(), [other, short].sort());
      // The default also expires other tests' runs in a shared database: delete only these.
      const report = await store.deleteExpiredRuns(cutoffs, { rootRunIds: Object.values(runs).map((r) => r.runId) });
      assert.equal(report.trees, 2);
      assert.ok(await store.getRun(runs.keep.runId));
      assert.equal(await store.getRun(runs.short.runId), undefined);
      assert.equal(await store.getRun(runs.other.runId), undefined);
      // A cutoff in the past of every run keeps them all.
      const kept = await createRun(store, { tenant: short });
      await finish(store, kept.runId);
      assert.equal((await store.deleteExpiredRuns({ default: null, tenants: { [short]: 1 } })).trees, 0);
      assert.ok(await store.getRun(kept.runId));
    });

    test('deletes in batches of batchSize trees, each in its own transaction, and pages the listing', async (store) => {
      const tenant = uid('tenant');
      const roots: string[] = [];
      for (let i = 0; i < 5; i++) {
        const root = await createRun(store, { tenant });
        const child = await createRun(store, { tenant, rootRunId: root.runId });
        await finish(store, child.runId);
        await finish(store, root.runId);
        roots.push(root.runId);
      }
      const cutoffs = { default: null, tenants: { [tenant]: Date.now() + 86_400_000 } };
      const first = await store.listExpiredRuns(cutoffs, { limit: 2 });
      const rest = await store.listExpiredRuns(cutoffs, { limit: 10, afterRootRunId: first.at(-1)?.rootRunId ?? '' });
      assert.deepEqual(
        [...first, ...rest].map((t) => t.rootRunId),
        [...roots].sort(byCodeUnit),
      );
      assert.ok([...first, ...rest].every((t) => t.runIds.length === 2));

      const report = await store.deleteExpiredRuns(cutoffs, { batchSize: 2 });
      assert.deepEqual([report.trees, report.runs, report.events, report.batches], [5, 10, 20, 3]);
      assert.deepEqual(await store.listRuns({ tenant }), []);
    });

    test('passes over a listed tree that was written to after the cutoff, when its batch runs', async (store) => {
      const tenant = uid('tenant');
      const run = await createRun(store, { tenant });
      await finish(store, run.runId);
      const cutoff = ((await store.getRun(run.runId))?.updatedAt ?? 0) + 1;
      const cutoffs = { default: null, tenants: { [tenant]: cutoff } };
      assert.equal((await store.listExpiredRuns(cutoffs)).length, 1);
      await clockPast(cutoff);
      await store.appendExternal(run.runId, [cancelRequested()]);
      const report = await store.deleteExpiredRuns(cutoffs, { rootRunIds: [run.runId] });
      assert.equal(report.trees, 0);
      assert.equal((await store.loadEvents(run.runId)).length, 3);
    });

    test('keeps everything when every cutoff is null, and refuses malformed cutoffs', async (store) => {
      const run = await createRun(store);
      await finish(store, run.runId);
      assert.deepEqual(await store.summarizeExpired({ default: null }), []);
      assert.deepEqual(await store.deleteExpiredRuns({ default: null, tenants: { acme: null } }), {
        trees: 0,
        runs: 0,
        events: 0,
        batches: 0,
        partitionsDropped: [],
      });
      assert.ok(await store.getRun(run.runId));
      await rejectsWith(store.summarizeExpired({ default: -1 }), 'INVALID_ARGUMENT');
      await rejectsWith(store.deleteExpiredRuns({ default: null, tenants: { acme: 1.5 } }), 'INVALID_ARGUMENT');
      await rejectsWith(store.deleteExpiredRuns({ default: null }, { batchSize: 0 }), 'INVALID_ARGUMENT');
    });
  });
}

const stopped: RunPatch = { status: 'stopped', stopReason: 'max_steps' };

/** Ends a run that has only `run.submitted` (seq 1) with a limit hit. */
async function finish(store: Store, runId: string): Promise<void> {
  await store.commit({ runId, expectedSeq: 1, events: [limitHit()], run: stopped });
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
