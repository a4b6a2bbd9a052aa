/**
 * Promise: retention deletes only what is finished and old enough, and always whole. Whatever mix
 * of run trees a store holds — live, queued, parked, being undone, finished; roots with children in
 * any of those states; tenants with their own rules or kept for ever — deleting what a policy
 * expires removes exactly the trees that are finished throughout and last written before their
 * tenant's cutoff, and leaves every other run with its whole log, and no event without its run.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { TERMINAL_STATUSES, type RunStatus } from '../../src/core/events.ts';
import type { ExpiryCutoffs, RunPatch, RunRecord, Store } from '../../src/core/ports/store.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createRun, limitHit, seededRandom, sleep, uid } from '../store/conformance/fixtures.ts';
import { dropSchema, PG_URL, uniqueSchema } from '../store/pg-schema.ts';

const schema = uniqueSchema('inv_retention');
after(() => dropSchema(schema));

const STATES: { status: RunStatus; undo?: RunPatch['undo'] }[] = [
  { status: 'completed' },
  { status: 'stopped' },
  { status: 'failed' },
  { status: 'cancelled' },
  { status: 'completed', undo: 'done' },
  { status: 'completed', undo: 'running' },
  { status: 'stopped', undo: 'waiting_for_person' },
  { status: 'queued' },
  { status: 'running' },
  { status: 'waiting_approval' },
  { status: 'escalated' },
];

/** Builds `trees` random trees over three tenants, one write at a time (so last writes are ordered). */
async function populate(store: Store, seed: number, trees: number): Promise<string[]> {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const tenants = [uid('a'), uid('b'), uid('c')];
  for (let i = 0; i < trees; i++) {
    const tenant = pick(tenants);
    const root = await createRun(store, { tenant });
    const ids = [root.runId];
    for (let c = Math.floor(random() * 3); c > 0; c--) ids.push((await createRun(store, { tenant, rootRunId: root.runId, parentRunId: pick(ids) })).runId);
    for (const runId of ids) {
      const state = random() < 0.75 ? pick(STATES.slice(0, 5)) : pick(STATES);
      const events = Array.from({ length: 1 + Math.floor(random() * 3) }, () => limitHit());
      await store.commit({ runId, expectedSeq: 1, events, run: { status: state.status, ...(state.undo ? { undo: state.undo } : {}) } });
    }
    if (i % 7 === 0) await sleep(2); // spread the last writes over a few milliseconds
  }
  return tenants;
}

/** Which trees the promise says may go: finished throughout, no undo under way, all written before the cutoff. */
function expectedGone(runs: RunRecord[], cutoffs: ExpiryCutoffs): Set<string> {
  const byRoot = Map.groupBy(runs, (r) => r.rootRunId);
  const gone = new Set<string>();
  for (const [root, tree] of byRoot) {
    const tenant = tree.find((r) => r.runId === root)?.tenant ?? '';
    const cutoff = tenant in (cutoffs.tenants ?? {}) ? cutoffs.tenants?.[tenant] : cutoffs.default;
    const expired =
      cutoff != null && tree.every((r) => TERMINAL_STATUSES.has(r.status) && r.undo !== 'running' && r.undo !== 'waiting_for_person' && r.updatedAt < cutoff);
    if (expired) for (const r of tree) gone.add(r.runId);
  }
  return gone;
}

async function holdsOn(open: () => Promise<Store>, seed: number): Promise<void> {
  const store = await open();
  try {
    const tenants = await populate(store, seed, 40);
    const [a, b, c] = tenants as [string, string, string];
    const before = (await Promise.all(tenants.map((tenant) => store.listRuns({ tenant, limit: 1_000 })))).flat();
    const times = before.map((r) => r.updatedAt).sort((x, y) => x - y);
    // a: cut in the middle of its history; b: everything written so far; c: kept for ever.
    const cutoffs: ExpiryCutoffs = { default: null, tenants: { [a]: times[Math.floor(times.length / 2)] ?? 0, [b]: Date.now() + 1, [c]: null } };
    const gone = expectedGone(before, cutoffs);
    assert.ok(gone.size > 0 && gone.size < before.length, `seed ${seed}: a mix to tell apart (${gone.size} of ${before.length})`);

    const report = await store.deleteExpiredRuns(cutoffs, { batchSize: 3 });
    assert.equal(report.runs, gone.size, `seed ${seed}: runs deleted`);
    for (const r of before) {
      const events = await store.loadEvents(r.runId);
      if (gone.has(r.runId)) {
        assert.equal(await store.getRun(r.runId), undefined, `seed ${seed}: ${r.runId} (${r.status}) should be gone`);
        assert.deepEqual(events, [], `seed ${seed}: no event outlives its run`);
      } else {
        assert.ok(await store.getRun(r.runId), `seed ${seed}: ${r.runId} (${r.status}, undo ${r.undo}) must be kept`);
        assert.deepEqual(
          events.map((e) => e.seq),
          Array.from({ length: r.lastSeq }, (_, i) => i + 1),
          `seed ${seed}: a kept run keeps its whole log`,
        );
      }
    }
  } finally {
    await store.close();
  }
}

describe('retention deletes only finished, old enough trees, whole', () => {
  for (const seed of [1, 2, 3]) {
    it(`on SQLite, seed ${seed}`, () => holdsOn(async () => createSqliteStore({ path: ':memory:' }), seed));
  }
  it('on PostgreSQL, seed 4', () => holdsOn(() => createPostgresStore({ url: PG_URL, schema, poolSize: 2 }), 4));
});
