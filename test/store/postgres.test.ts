import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { isWardenError, mustExist } from '../../src/core/errors.ts';
import { appliedPostgresMigrations, PG_MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { pgStatements } from '../../src/store/postgres/statements.ts';
import { readFileSync } from 'node:fs';
import { newEvent } from '../../src/core/events.ts';
import { describeStoreConformance } from './conformance.ts';
import { createRun, sleep } from './conformance/fixtures.ts';
import { dropSchema, PG_URL, uniqueSchema, urlWithSchema } from './pg-schema.ts';

const schema = uniqueSchema('conf');
const spare = uniqueSchema('conf_spare');
after(async () => {
  await dropSchema(schema);
  await dropSchema(spare);
});

const open = () => createPostgresStore({ url: PG_URL, schema, poolSize: 4 });

describeStoreConformance('postgres', open, { reopen: async () => open() });

async function withPool<T>(fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

describe('PostgreSQL store specifics', () => {
  it('claims with work bounded by the batch: a backlog, and finished runs in front of it, are not read', async () => {
    const fresh = uniqueSchema('conf_backlog');
    try {
      await (await createPostgresStore({ url: PG_URL, schema: fresh, poolSize: 1 })).close();
      const buffers = await withPool(async (pool) => {
        const t = `"${fresh}".runs`;
        const insert = `INSERT INTO ${t} (run_id, agent, tenant, status, root_run_id, input, last_seq, created_at, updated_at)
          SELECT $1 || i, 'a', 't' || (i % $3), $4, $1 || i, 'x', 1, $5::bigint + i, $5::bigint + i FROM generate_series(1, $2::int) AS i`;
        // Finished runs older than the queue (a tenant's history), then the queue itself.
        await pool.query(insert, ['done', 10_000, 3, 'completed', 1_000]);
        await pool.query(insert, ['q', 30_000, 3, 'queued', 1_000_000]);
        await pool.query(`ANALYZE ${t}`);
        const text = pgStatements(fresh).claim.text;
        const used: number[] = [];
        for (const mode of ['force_generic_plan', 'force_custom_plan']) {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query(`SET LOCAL plan_cache_mode = ${mode}`);
            await client.query(`PREPARE claim_probe_${mode}(text, bigint, bigint, int, text[], text) AS ${text}`);
            const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE claim_probe_${mode}('w', 2, 1, 4, ARRAY['a'], '')`);
            const plan = rows[0]['QUERY PLAN'][0].Plan;
            used.push(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']);
            await client.query('ROLLBACK');
          } finally {
            client.release();
          }
        }
        return used;
      });
      // A claim of 4 reads a few hundred 8 KiB pages at most; the window it replaced read them all.
      for (const b of buffers) assert.ok(b < 1_000, `a claim read ${b} buffers`);
    } finally {
      await dropSchema(fresh);
    }
  });

  it('runs the refund query docs/store.md shows, and it finds only refunds above $100 from the last week', async () => {
    const fresh = uniqueSchema('conf_query');
    try {
      const store = await createPostgresStore({ url: PG_URL, schema: fresh, poolSize: 1 });
      const asked = (amount: unknown, at = Date.now()) => {
        const turn = {
          text: '',
          toolCalls: [{ callId: `c-${String(amount)}`, tool: 'refund', args: { orderId: 'o-1', amount } }],
          usage: { inputTokens: 1, outputTokens: 1 },
          finishReason: 'tool-calls',
        };
        return newEvent('model.called', { step: 1, attempt: 1, maxOutputTokens: 100, turn, costNano: 0, latencyMs: 1 }, at);
      };
      const run = await createRun(store);
      const week = 7 * 86_400_000;
      const events = [asked(250), asked(50), asked('150'), asked(999, Date.now() - week - 60_000), asked(101)];
      await store.commit({ runId: run.runId, expectedSeq: 1, events });
      await store.close();
      const doc = readFileSync(new URL('../../docs/store.md', import.meta.url), 'utf8');
      const sql = mustExist(/### Querying the log in SQL[\s\S]*?```sql\n([\s\S]*?)```/.exec(doc)?.[1], 'the query block').replaceAll('warden.', `"${fresh}".`);
      const rows = await withPool(async (pool) => (await pool.query(sql)).rows);
      assert.deepEqual(
        rows.map((r) => [r.run_id, r.call_id, Number(r.amount)]),
        [
          [run.runId, 'c-250', 250],
          [run.runId, 'c-101', 101],
        ],
      );
      assert.ok(rows.every((r) => r.asked_at instanceof Date));
    } finally {
      await dropSchema(fresh);
    }
  });

  it('takes the schema from the URL and records each migration once, by id and name', async () => {
    await (await createPostgresStore({ url: urlWithSchema(spare) })).close();
    await (await createPostgresStore({ url: urlWithSchema(spare) })).close();
    const applied = await withPool((pool) => appliedPostgresMigrations(pool, spare));
    assert.deepEqual(
      applied.map((m) => [m.id, m.name]),
      PG_MIGRATIONS.map((m) => [m.id, m.name]),
    );
  });

  it('migrates once when many workers open the same new schema at the same moment', async () => {
    const fresh = uniqueSchema('conf_race');
    try {
      const stores = await Promise.all(Array.from({ length: 5 }, () => createPostgresStore({ url: PG_URL, schema: fresh, poolSize: 1 })));
      await Promise.all(stores.map((s) => s.close()));
      assert.equal((await withPool((pool) => appliedPostgresMigrations(pool, fresh))).length, PG_MIGRATIONS.length);
    } finally {
      await dropSchema(fresh);
    }
  });

  it('refuses to open an unmigrated schema when told not to migrate', async () => {
    const fresh = uniqueSchema('conf_none');
    try {
      await assert.rejects(
        createPostgresStore({ url: PG_URL, schema: fresh, migrate: false }),
        (e) => isWardenError(e, 'STORE_UNAVAILABLE') && /warden migrate/.test(e.message),
      );
    } finally {
      await dropSchema(fresh);
    }
  });

  it('refuses a schema written by a newer Warden with STORE_UNAVAILABLE', async () => {
    const fresh = uniqueSchema('conf_new');
    try {
      await (await createPostgresStore({ url: PG_URL, schema: fresh })).close();
      await withPool((pool) => pool.query(`INSERT INTO "${fresh}".schema_migrations VALUES ($1, 'from-the-future', 0)`, [PG_MIGRATIONS.length + 1]));
      await assert.rejects(
        createPostgresStore({ url: PG_URL, schema: fresh }),
        (e) => isWardenError(e, 'STORE_UNAVAILABLE') && /newer than this Warden/.test(e.message),
      );
    } finally {
      await dropSchema(fresh);
    }
  });

  it('refuses a schema name that is not a plain identifier with INVALID_CONFIG', async () => {
    await assert.rejects(createPostgresStore({ url: PG_URL, schema: 'x"; DROP TABLE runs; --' }), (e) => isWardenError(e, 'INVALID_CONFIG'));
  });

  it('reports an unreachable server as STORE_UNAVAILABLE, with the password redacted', async () => {
    const url = 'postgres://warden:secret@127.0.0.1:1/test';
    await assert.rejects(
      createPostgresStore({ url }),
      (e) => isWardenError(e, 'STORE_UNAVAILABLE') && !/secret/.test(e.message) && (e as Error).cause !== undefined,
    );
  });

  it('uses a pool it is given and leaves it open on close', async () => {
    await withPool(async (pool) => {
      const store = await createPostgresStore({ pool, schema });
      const run = await createRun(store);
      await store.close();
      const { rows } = await pool.query(`SELECT last_seq FROM "${schema}".runs WHERE run_id = $1`, [run.runId]);
      assert.equal(rows[0].last_seq, 1);
    });
  });

  it('wakes a watcher on another connection (LISTEN/NOTIFY) when a run is submitted', async () => {
    const watcher = await open();
    const submitter = await open();
    try {
      const heard: string[] = [];
      const stop = await watcher.watchRunnable((id) => heard.push(id));
      const run = await createRun(submitter);
      for (let i = 0; i < 200 && !heard.includes(run.runId); i++) await sleep(10);
      assert.ok(heard.includes(run.runId));
      await stop();
    } finally {
      await watcher.close();
      await submitter.close();
    }
  });

  it('keeps a schema to itself: another schema on the same database sees none of its runs', async () => {
    const mine = await open();
    const theirs = await createPostgresStore({ url: urlWithSchema(spare) });
    try {
      const run = await createRun(mine);
      assert.equal(await theirs.getRun(run.runId), undefined);
    } finally {
      await mine.close();
      await theirs.close();
    }
  });
});
