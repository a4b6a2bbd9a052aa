/**
 * The database's write load per step on PostgreSQL: round trips (statements), bytes of WAL and
 * bytes of table and index growth per model step, over a fixed workload. The figures behind
 * `docs/scaling.md`.
 *
 *   npm run bench:db-load                 (200 five-step runs, 3 rounds; WARDEN_BENCH_PG=… for another server)
 *
 * Workload: the throughput benchmark's five-step run (four read-tool calls, then the answer) on
 * the simulated model, 200 runs, 20 in flight, every step committed, through `createWarden` on a
 * PostgreSQL store. Statements are counted by wrapping `query` on every pooled connection (BEGIN
 * and COMMIT counted apart). WAL is `pg_current_wal_lsn()` before and after: it is the whole
 * server's, so other work on a shared server inflates it; the lowest of the rounds is reported.
 * Storage is `pg_total_relation_size` of the schema's tables before and after (this schema's own).
 */
import pg from 'pg';
import agent from './agents/five-step.ts';
import { createWarden } from '../src/runtime/warden.ts';
import { createPostgresStore } from '../src/store/postgres/postgres-store.ts';

const PG_URL = process.env.WARDEN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = 200;
const IN_FLIGHT = 20;
/** Model steps per run of the workload (bench/agents/five-step.ts). */
const STEPS = 5;
const ROUNDS = 3;

interface Counts {
  statements: number;
  /** Statements that write (INSERT, UPDATE or DELETE anywhere in them): each is a commit unless inside BEGIN … COMMIT. */
  writes: number;
  transactions: number;
  sentBytes: number;
}

/** A pool whose connections count what they send. */
function countingPool(counts: Counts): pg.Pool {
  const pool = new pg.Pool({ connectionString: PG_URL, max: IN_FLIGHT + 1 });
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const q = args[0];
      const text = typeof q === 'string' ? q : ((q as { text?: string })?.text ?? '');
      if (/^(BEGIN|COMMIT|ROLLBACK)\b/.test(text)) counts.transactions++;
      else {
        counts.statements++;
        if (/\b(INSERT|UPDATE|DELETE)\b/i.test(text)) counts.writes++;
      }
      const values = (typeof q === 'object' && q && 'values' in q ? (q as { values: unknown[] }).values : args[1]) as unknown[] | undefined;
      counts.sentBytes += Buffer.byteLength(text) + Buffer.byteLength(JSON.stringify(values ?? []));
      return query(...args);
    };
  });
  return pool;
}

async function round(schema: string, admin: pg.Client): Promise<Counts & { walBytes: number; tableBytes: number; steps: number }> {
  const counts: Counts = { statements: 0, writes: 0, transactions: 0, sentBytes: 0 };
  const pool = countingPool(counts);
  const store = await createPostgresStore({ pool, schema });
  const warden = createWarden({ store });
  const size = async () =>
    Number(
      (
        await admin.query(
          `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS b FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
          [schema],
        )
      ).rows[0].b,
    );
  await admin.query('CHECKPOINT').catch(() => {}); // settles full-page images so rounds compare
  const sizeBefore = await size();
  const lsnBefore = (await admin.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l as string;
  Object.assign(counts, { statements: 0, writes: 0, transactions: 0, sentBytes: 0 });
  let next = 0;
  let steps = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < RUNS) {
        const i = next++;
        const runId = `load_${schema}_${i}`;
        await warden.submit(agent, 'check', { runId });
        const result = await warden.execute(agent, runId);
        if (result.status !== 'completed') throw new Error(`run ended ${result.status}`);
        steps += result.steps;
      }
    }),
  );
  const walBytes = Number((await admin.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [lsnBefore])).rows[0].d);
  await admin.query(`VACUUM ${schema === '' ? '' : `"${schema}".events`}`).catch(() => {});
  const tableBytes = (await size()) - sizeBefore;
  await store.close();
  await pool.end();
  return { ...counts, walBytes, tableBytes, steps };
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const results: (Counts & { walBytes: number; tableBytes: number; steps: number })[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const schema = `bench_load_${process.pid}_${r}`;
      try {
        results.push(await round(schema, admin));
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
    }
  } finally {
    await admin.end();
  }
  const per = (f: (x: (typeof results)[number]) => number) => Math.min(...results.map((x) => f(x) / x.steps));
  const steps = results[0]?.steps ?? 0;
  console.log(`\nPostgreSQL write load per model step: ${RUNS} five-step runs (${steps} model steps), ${IN_FLIGHT} in flight, lowest of ${ROUNDS} rounds:\n`);
  console.log('| per model step | value |');
  console.log('|---|---:|');
  console.log(`| statements (round trips, BEGIN/COMMIT apart) | ${per((x) => x.statements).toFixed(2)} |`);
  console.log(`| of which write (INSERT/UPDATE/DELETE) | ${per((x) => x.writes).toFixed(2)} |`);
  console.log(`| BEGIN/COMMIT/ROLLBACK | ${per((x) => x.transactions).toFixed(2)} |`);
  console.log(`| bytes sent by the client (SQL text + values) | ${Math.round(per((x) => x.sentBytes)).toLocaleString('en-US')} |`);
  console.log(`| WAL bytes (whole server; an upper bound) | ${Math.round(per((x) => x.walBytes)).toLocaleString('en-US')} |`);
  console.log(`| table + index growth, bytes | ${Math.round(per((x) => x.tableBytes)).toLocaleString('en-US')} |`);
  const perRun = (f: (x: (typeof results)[number]) => number) => Math.min(...results.map((x) => f(x) / RUNS));
  console.log(
    `\nper run (${STEPS} model steps, submit included): ${perRun((x) => x.statements).toFixed(1)} statements, ${perRun((x) => x.writes).toFixed(1)} writes`,
  );
}

await main();
