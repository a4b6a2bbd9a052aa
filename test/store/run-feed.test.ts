import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { isWardenError } from '../../src/core/errors.ts';
import { newEvent } from '../../src/core/events.ts';
import type { RunWatcher, Store } from '../../src/core/ports/store.ts';
import { commitsChannel } from '../../src/store/postgres/notifier.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { waitFor } from '../helpers.ts';
import { createRun, sleep } from './conformance/fixtures.ts';
import { dropSchema, PG_URL, uniqueSchema } from './pg-schema.ts';

const schema = uniqueSchema('feed');
after(() => dropSchema(schema));

/** Two stores with a pool each: two processes, as far as PostgreSQL can tell. */
const open = () => createPostgresStore({ url: PG_URL, schema, poolSize: 2 });

const step = (n: number) => [newEvent('limit.hit', { limit: 'max_steps', detail: `step ${n}` })];

/** A watcher that records what it hears. */
function recorder() {
  const seqs: number[] = [];
  const states: boolean[] = [];
  const watcher: RunWatcher = { commit: (seq) => seqs.push(seq), live: (live) => states.push(live) };
  return { watcher, seqs, states };
}

/** The backend pid of the store's listening connection (its last statement was LISTEN on this schema's commit channel, or the ping). */
async function listenerPid(admin: pg.Client): Promise<number> {
  const channel = commitsChannel(schema);
  const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`]);
  assert.equal(rows.length, 1, 'one listening connection');
  return rows[0].pid as number;
}

async function withTwo(fn: (a: Store, b: Store) => Promise<void>): Promise<void> {
  const a = await open();
  const b = await open();
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

describe('PostgreSQL run feed (followRun over LISTEN/NOTIFY)', () => {
  it("tells a follower of another store's commit within milliseconds, with the run's new seq", async () => {
    await withTwo(async (a, b) => {
      const run = await createRun(b);
      const { watcher, seqs } = recorder();
      const follow = await a.followRun?.(run.runId, watcher);
      assert.equal(follow?.live, true);
      const committedAt = performance.now();
      await b.commit({ runId: run.runId, expectedSeq: 1, events: step(1) });
      await waitFor(() => seqs.includes(2), { timeoutMs: 2_000 });
      assert.ok(performance.now() - committedAt < 500, 'delivered promptly');
      await b.appendExternal(run.runId, step(2)); // a decision or cancel from elsewhere
      await waitFor(() => seqs.includes(3), { timeoutMs: 2_000 });
      await follow?.stop();
    });
  });

  it('sends no notice for a run nobody follows, nor for a commit that did not commit', async () => {
    await withTwo(async (a, b) => {
      const raw = new pg.Client({ connectionString: PG_URL });
      await raw.connect();
      const heard: string[] = [];
      raw.on('notification', (m) => heard.push(m.payload ?? ''));
      await raw.query(`LISTEN "${commitsChannel(schema)}"`);
      try {
        const quiet = await createRun(b);
        await b.commit({ runId: quiet.runId, expectedSeq: 1, events: step(1) });
        const followed = await createRun(b);
        const { watcher } = recorder();
        const follow = await a.followRun?.(followed.runId, watcher);
        // A stale writer and a refused reservation write nothing, so they tell nothing.
        await assert.rejects(b.commit({ runId: followed.runId, expectedSeq: 7, events: step(1) }), (e) => isWardenError(e, 'STALE_WRITER'));
        const tooMuch = [{ kind: 'reserve' as const, rootRunId: followed.runId, amountNano: 10 ** 12 }];
        await assert.rejects(b.commit({ runId: followed.runId, expectedSeq: 1, events: step(1), budget: tooMuch }), (e) => isWardenError(e, 'BUDGET_EXCEEDED'));
        await b.commit({ runId: followed.runId, expectedSeq: 1, events: step(1) });
        await waitFor(() => heard.length > 0, { timeoutMs: 2_000 });
        await sleep(100);
        assert.deepEqual(heard, [`2 ${followed.runId}`]);
        await follow?.stop();
        // Once the last follower stops, the run's commits go quiet again.
        await b.commit({ runId: followed.runId, expectedSeq: 2, events: step(2) });
        await sleep(200);
        assert.deepEqual(heard, [`2 ${followed.runId}`]);
      } finally {
        await raw.end();
      }
    });
  });

  it('leaves a run id too long for a NOTIFY payload out of the notice, and wakes every follower instead', async () => {
    await withTwo(async (a, b) => {
      const long = await createRun(b, { runId: 'r'.repeat(7_500) }); // compressible, so it fits the index
      const { watcher, seqs } = recorder();
      const follow = await a.followRun?.(long.runId, watcher);
      await b.commit({ runId: long.runId, expectedSeq: 1, events: step(1) });
      await waitFor(() => seqs.length > 0, { timeoutMs: 2_000 });
      assert.deepEqual(seqs, [0]); // 0: "read the log"
      await follow?.stop();
    });
  });

  it('says live(false) when its connection is cut, listens again with backoff, then says live(true)', async () => {
    await withTwo(async (a, b) => {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      try {
        const run = await createRun(b);
        const { watcher, seqs, states } = recorder();
        const follow = await a.followRun?.(run.runId, watcher);
        const before = await listenerPid(admin);
        states.length = 0;
        await admin.query('SELECT pg_terminate_backend($1)', [before]);
        await waitFor(() => states.includes(false), { timeoutMs: 2_000 });
        assert.equal(follow?.live, false);
        await waitFor(() => states.at(-1) === true, { timeoutMs: 5_000 });
        assert.deepEqual(states, [false, true]);
        assert.notEqual(await listenerPid(admin), before);
        await b.commit({ runId: run.runId, expectedSeq: 1, events: step(1) });
        await waitFor(() => seqs.includes(2), { timeoutMs: 2_000 });
        await follow?.stop();
      } finally {
        await admin.end();
      }
    });
  });

  it('is absent from the SQLite store, whose readers of other processes poll', () => {
    const store = createSqliteStore({ path: ':memory:' });
    assert.equal(store.followRun, undefined);
    return store.close();
  });
});
