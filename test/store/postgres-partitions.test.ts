import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { newEvent } from '../../src/core/events.ts';
import { migratePostgres, PG_MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { ensureEventPartitions, monthPartitions } from '../../src/store/postgres/partitions.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { createRun, limitHit } from './conformance/fixtures.ts';
import { dropSchema, PG_URL, uniqueSchema } from './pg-schema.ts';

async function withPool<T>(fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

async function withSchema(prefix: string, fn: (schema: string) => Promise<void>): Promise<void> {
  const schema = uniqueSchema(prefix);
  try {
    await fn(schema);
  } finally {
    await dropSchema(schema);
  }
}

/** The first instant of the UTC month `offset` months from now, ms. */
function monthStart(offset: number, now = new Date()): number {
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1);
}

function monthName(at: number): string {
  const d = new Date(at);
  return `events_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

const DAY = 86_400_000;

describe('PostgreSQL events: monthly partitions and a jsonb payload (migration 14)', () => {
  it('converts a store made by migrations 1–13 in place: data byte for byte, payload as jsonb with \\u0000 and lone surrogates replaced', () =>
    withSchema('conf_v12', async (schema) => {
      const texts = [
        JSON.stringify({
          nul: 'a\u0000b',
          cut: 'emoji cut \ud83d',
          low: '\ude00 alone',
          pair: 'ok 😀',
          literal: 'not escapes: \\u0000 \\ud83d',
          deep: { list: ['\u0000\ud83d\u0000'] },
        }),
        JSON.stringify({ plain: 'ünïcødé ✓', n: 1e21, quote: '"\\' }),
        JSON.stringify({ high: '\ud83d\u0000' }),
      ];
      const old = monthStart(-2) + 3 * DAY;
      const ats = [old, old + 1, Date.now()];
      await withPool(async (pool) => {
        await migratePostgres(
          pool,
          schema,
          Date.now(),
          PG_MIGRATIONS.filter((m) => m.id < 14),
        );
        const s = `"${schema}"`;
        await pool.query(
          `INSERT INTO ${s}.runs (run_id, agent, tenant, status, root_run_id, input, last_seq, created_at, updated_at) VALUES ('old-1', 'a', 'acme', 'completed', 'old-1', 'x', 3, $1, $2)`,
          [old, Date.now()],
        );
        for (const [i, data] of texts.entries()) {
          await pool.query(`INSERT INTO ${s}.events (run_id, seq, type, at, v, data) VALUES ('old-1', $1, 'model.called', $2, 2, $3)`, [i + 1, ats[i], data]);
        }
      });

      const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 1 });
      assert.deepEqual(
        (await store.loadEvents('old-1')).map((e) => e.data),
        texts.map((t) => JSON.parse(t)),
      );
      // A commit with the same awkward payload still lands (a plain jsonb column would refuse it).
      await store.commit({ runId: 'old-1', expectedSeq: 3, events: [newEvent('limit.hit', { limit: 'max_steps', detail: 'a\u0000\ud83d' })] });
      await store.close();

      const rows = await withPool(
        async (pool) =>
          (await pool.query(`SELECT seq, data, payload, at_time, tableoid::regclass::text AS part FROM "${schema}".events WHERE run_id = 'old-1' ORDER BY seq`))
            .rows,
      );
      assert.deepEqual(
        rows.slice(0, 3).map((r) => r.data),
        texts,
      );
      assert.deepEqual(rows[0].payload, {
        nul: 'a\ufffdb',
        cut: 'emoji cut \ufffd',
        low: '\ufffd alone',
        pair: 'ok 😀',
        literal: 'not escapes: \\u0000 \\ud83d',
        deep: { list: ['\ufffd\ufffd\ufffd'] },
      });
      assert.deepEqual(rows[1].payload, JSON.parse(texts[1] ?? ''));
      assert.deepEqual(rows[2].payload, { high: '\ufffd\ufffd' });
      assert.equal(rows[3].payload.detail, 'a\ufffd\ufffd');
      assert.deepEqual(
        rows.map((r) => (r.at_time as Date).getTime()),
        [...ats, rows[3].at_time.getTime()],
      );
      assert.deepEqual(
        rows.map((r) => r.part.replace(/^.*\./, '')),
        [monthName(old), monthName(old), monthName(Date.now()), monthName(Date.now())],
      );
    }));

  it('makes the coming months on open, and splits a month out of the default partition with its rows', () =>
    withSchema('conf_parts', async (schema) => {
      const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 1 });
      const months = await withPool((pool) => monthPartitions(pool, schema));
      assert.deepEqual(
        months.map((m) => m.from),
        [0, 1, 2, 3].map((i) => monthStart(i)),
      );
      // An event six months ahead has no month yet: it waits in the default partition.
      const run = await createRun(store);
      const later = monthStart(6) + DAY;
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [newEvent('limit.hit', { limit: 'max_steps', detail: 'later' }, later)] });
      await store.close();
      const partOf = (pool: pg.Pool) =>
        pool.query(`SELECT tableoid::regclass::text AS part FROM "${schema}".events WHERE seq = 2`).then((r) => r.rows[0]?.part as string);
      await withPool(async (pool) => {
        assert.match(await partOf(pool), /events_default$/);
        const created = await ensureEventPartitions(pool, schema, `"${schema}"`, later);
        assert.ok(created.includes(monthName(later)), created.join());
        assert.match(await partOf(pool), new RegExp(`${monthName(later)}$`));
      });
      const reopened = await createPostgresStore({ url: PG_URL, schema, poolSize: 1 });
      assert.deepEqual(
        (await reopened.loadEvents(run.runId)).map((e) => e.seq),
        [1, 2],
      );
      await reopened.close();
    }));

  it('drops a past month whose every event belongs to an expired tree, and deletes the rest in batches', () =>
    withSchema('conf_drop', async (schema) => {
      const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 2 });
      const [m3, m2] = [monthStart(-3) + DAY, monthStart(-2) + DAY];
      const old = (at: number) => newEvent('limit.hit', { limit: 'max_steps', detail: 'old' }, at);
      const stopped = { status: 'stopped', stopReason: 'max_steps' } as const;
      // gone: every event in m2; spanning: m2 and this month; kept: m3, of a tenant kept for ever; recent: this month.
      const gone = await createRun(store, { tenant: 'short', createdAt: m2 });
      await store.commit({ runId: gone.runId, expectedSeq: 1, events: [old(m2 + 1)], run: stopped });
      const spanning = await createRun(store, { tenant: 'short', createdAt: m2 });
      await store.commit({ runId: spanning.runId, expectedSeq: 1, events: [limitHit()], run: stopped });
      const kept = await createRun(store, { tenant: 'long', createdAt: m3 });
      await store.commit({ runId: kept.runId, expectedSeq: 1, events: [old(m3 + 1)], run: stopped });
      const recent = await createRun(store, { tenant: 'short' });
      await store.commit({ runId: recent.runId, expectedSeq: 1, events: [limitHit()], run: stopped });
      await withPool((pool) => ensureEventPartitions(pool, schema, `"${schema}"`, m3));

      const cutoffs = { default: null, tenants: { short: Date.now() + DAY, long: null } };
      const report = await store.deleteExpiredRuns(cutoffs, { batchSize: 10 });
      assert.deepEqual(report.partitionsDropped, [monthName(m2), monthName(monthStart(-1))], 'the all-expired month and the empty one');
      assert.deepEqual([report.trees, report.runs, report.events], [3, 3, 6]);
      for (const r of [gone, spanning, recent]) {
        assert.equal(await store.getRun(r.runId), undefined);
        assert.deepEqual(await store.loadEvents(r.runId), []);
      }
      assert.equal((await store.loadEvents(kept.runId)).length, 2);
      const months = (await withPool((pool) => monthPartitions(pool, schema))).map((m) => m.name);
      assert.ok(months.includes(monthName(m3)) && !months.includes(monthName(m2)));
      await store.close();
    }));
});
