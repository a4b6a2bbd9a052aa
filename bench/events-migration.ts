/**
 * How long migration 14 (events partitioned by month, with a jsonb payload) takes to convert a
 * store in place, and what the events take on disk before and after.
 *
 *   npm run bench:events-migration [-- <events>]   # default 1,000,000; 20 events a run, one every 40 s
 *   WARDEN_BENCH_PG=postgres://…                    # another server (default the local test database)
 *
 * Builds a schema at migration 12 in a schema of its own, fills it with SQL, times the migration
 * and drops the schema.
 */
import pg from 'pg';
import { migratePostgres, PG_MIGRATIONS } from '../src/store/postgres/migrations.ts';

const PG_URL = process.env.WARDEN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = Number(process.argv[2] ?? 1_000_000);
const BEFORE_14 = PG_MIGRATIONS.filter((m) => m.id < 14);

async function main(): Promise<void> {
  const schema = `bench_events_${process.pid}`;
  const s = `"${schema}"`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  try {
    await migratePostgres(pool, schema, Date.now(), BEFORE_14);
    await pool.query(
      `INSERT INTO ${s}.runs (run_id, agent, tenant, status, root_run_id, input, last_seq, created_at, updated_at)
       SELECT 'r' || i, 'a', 't', 'completed', 'r' || i, 'x', 20, 0, 0 FROM generate_series(1, $1::int) i`,
      [Math.ceil(EVENTS / 20)],
    );
    const data = JSON.stringify({
      callId: 'c1',
      tool: 'lookup',
      attempt: 1,
      result: { id: 1042, total: 250, note: 'a longer result text '.repeat(10) },
      durationMs: 3,
    });
    await pool.query(
      `INSERT INTO ${s}.events (run_id, seq, type, at, v, data)
       SELECT 'r' || (1 + (i - 1) / 20), 1 + (i - 1) % 20, 'tool.succeeded', $2::bigint - i::bigint * 40000, 2, $3 FROM generate_series(1, $1::int) i`,
      [EVENTS, Date.now(), data],
    );
    const size = async (table: string) =>
      (
        await pool.query(
          `SELECT pg_size_pretty(coalesce(sum(pg_total_relation_size(c.oid)), 0)) AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relkind = 'r' AND (c.relname = $2 OR c.relname LIKE $2 || '\\_%')`,
          [schema, table],
        )
      ).rows[0].size as string;
    const before = await size('events');
    const started = performance.now();
    await migratePostgres(pool, schema);
    const seconds = (performance.now() - started) / 1000;
    const days = Math.round((EVENTS * 40_000) / 86_400_000);
    console.log(
      `migration 14 on ${EVENTS.toLocaleString('en-US')} events over ${days} days: ${seconds.toFixed(1)} s; events ${before} before, ${await size('events')} after`,
    );
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await pool.end();
  }
}

await main();
