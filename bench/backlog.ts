/**
 * Claims against a backlog: claim latency (p50/p99) and runs finished per minute on PostgreSQL
 * with 0, 10k, 100k and 1M runs queued, spread over 1, 10 and 1,000 tenants.
 *
 *   npm run bench:backlog             # every size up to 1M
 *   npm run bench:backlog -- --quick  # stops at 100k (for iteration)
 *   WARDEN_BENCH_PG=postgres://…      # another server (default the local test database)
 *   WARDEN_BENCH_SECONDS=3            # measuring time per cell
 *
 * The backlog is written straight into the runs table with `generate_series` (a million
 * submissions through the API would take minutes), then `WORKERS` loops each submit one run,
 * claim up to `LIMIT`, and finish what they claimed, so the backlog stays the same size while
 * it is measured. The empty-queue row of each tenant count is the baseline of its ratios.
 * PostgreSQL runs in a schema of its own, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DEFAULT_LIMITS } from '../src/core/limits.ts';
import { newEvent } from '../src/core/events.ts';
import { createPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { pgStatements } from '../src/store/postgres/statements.ts';
import type { Store } from '../src/core/ports/store.ts';

const PG_URL = process.env.WARDEN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.WARDEN_BENCH_SECONDS ?? 3);
const QUICK = process.argv.includes('--quick');
const SIZES = QUICK ? [0, 10_000, 100_000] : [0, 10_000, 100_000, 1_000_000];
const TENANTS = [1, 10, 1_000];
const WORKERS = 4;
const LIMIT = 4;
const AGENT = 'bench';

async function submit(store: Store, tenant: string): Promise<void> {
  const runId = `live-${randomBytes(8).toString('hex')}`;
  const model = { provider: 'simulated', modelId: 'sim', inputPerMTok: 1, outputPerMTok: 1 };
  const submitted = newEvent('run.submitted', { agent: AGENT, input: 'x', tenant, limits: { ...DEFAULT_LIMITS }, rootRunId: runId, parentRunId: null, model });
  const base = { runId, agent: AGENT, tenant, input: 'x', parentRunId: null, rootRunId: runId, ceilingNano: 1e12 };
  await store.createRun({ ...base, status: 'queued', createdAt: Date.now(), submitted });
}

/** Replaces the queue with `size` queued root runs over `tenants` tenants, older than anything live. */
async function fill(pool: pg.Pool, schema: string, size: number, tenants: number): Promise<void> {
  await pool.query(`TRUNCATE "${schema}".events, "${schema}".budgets, "${schema}".interventions, "${schema}".runs CASCADE`);
  if (size > 0) {
    await pool.query(
      `INSERT INTO "${schema}".runs (run_id, agent, tenant, status, root_run_id, input, last_seq, created_at, updated_at)
       SELECT 'q' || i, $3, 't' || (i % $2), 'queued', 'q' || i, 'x', 1, $4::bigint + i, $4::bigint + i
       FROM generate_series(1, $1::int) AS i`,
      [size, tenants, AGENT, Date.now() - 86_400_000],
    );
  }
  await pool.query(`VACUUM ANALYZE "${schema}".runs`);
  // Measure the steady state, not the write-back of a million freshly loaded rows: without this,
  // the checkpoint after a bulk load lands inside the measurement (needs a superuser; skipped otherwise).
  await pool.query('CHECKPOINT').catch(() => {});
}

interface Cell {
  size: number;
  tenants: number;
  p50: number;
  p99: number;
  aloneP50: number;
  aloneP99: number;
  /** Server-side execution of one claim of `LIMIT` (EXPLAIN ANALYZE, generic plan, rolled back), median of 20. */
  statementMs: number;
  perMinute: number;
}

/** The claim statement's own execution time at the current backlog, as the store runs it (generic plan). */
async function statementMs(pool: pg.Pool, schema: string): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    await client.query('DEALLOCATE ALL');
    await client.query(`PREPARE backlog_claim(text, bigint, bigint, int, text[], text) AS ${pgStatements(schema).claim.text}`);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      await client.query('BEGIN');
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE backlog_claim('x', 2, ${Date.now()}, ${LIMIT}, ARRAY['${AGENT}'], '')`);
      await client.query('ROLLBACK');
      times.push(Number(rows[0]['QUERY PLAN'][0]['Execution Time']));
    }
    return times.sort((a, b) => a - b)[10] ?? Number.NaN;
  } finally {
    client.release();
  }
}

/** One claimer alone: `n` claims that each find work (an empty queue gets `LIMIT` runs first), each followed by giving its leases back (not timed). */
async function alone(store: Store, size: number, n = 100): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    if (size === 0) await Promise.all(Array.from({ length: LIMIT }, () => submit(store, 't0')));
    const t0 = performance.now();
    const claimed = await store.claimRuns('alone', { limit: LIMIT, leaseMs: 60_000, agents: [AGENT] });
    latencies.push(performance.now() - t0);
    for (const run of claimed) await store.releaseLease(run.runId, 'alone');
  }
  return latencies.sort((a, b) => a - b);
}

async function measure(store: Store, tenants: number): Promise<{ latencies: number[]; finished: number; seconds: number }> {
  const latencies: number[] = [];
  let finished = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      let n = 0;
      while (performance.now() < end) {
        await Promise.all(Array.from({ length: LIMIT }, () => submit(store, `t${(w + n++) % tenants}`)));
        const t0 = performance.now();
        const claimed = await store.claimRuns(`w${w}`, { limit: LIMIT, leaseMs: 60_000, agents: [AGENT] });
        latencies.push(performance.now() - t0);
        for (const run of claimed) {
          await store.commit({ runId: run.runId, expectedSeq: run.lastSeq, events: [], run: { status: 'completed', output: 'ok' } });
          finished++;
        }
      }
    }),
  );
  return { latencies, finished, seconds: (performance.now() - start) / 1000 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const schema = `bench_backlog_${process.pid}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const store = await createPostgresStore({ url: PG_URL, schema, poolSize: WORKERS + 1 });
  const cells: Cell[] = [];
  try {
    for (const tenants of TENANTS) {
      for (const size of SIZES) {
        await fill(pool, schema, size, tenants);
        await measure(store, tenants); // warm-up: plans, connections
        await fill(pool, schema, size, tenants);
        const { latencies, finished, seconds } = await measure(store, tenants);
        if (size === 0) await pool.query(`UPDATE "${schema}".runs SET status = 'completed' WHERE status = 'queued'`);
        latencies.sort((a, b) => a - b);
        const solo = await alone(store, size);
        if (size === 0) await Promise.all(Array.from({ length: LIMIT }, () => submit(store, 't0')));
        const cell = {
          size,
          tenants,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          aloneP50: percentile(solo, 50),
          aloneP99: percentile(solo, 99),
          statementMs: await statementMs(pool, schema),
          perMinute: (finished / seconds) * 60,
        };
        cells.push(cell);
        console.error(
          `  ${size} queued, ${tenants} tenants: p50 ${cell.p50.toFixed(2)} ms, p99 ${cell.p99.toFixed(2)} ms, alone p50 ${cell.aloneP50.toFixed(2)} ms p99 ${cell.aloneP99.toFixed(2)} ms, statement ${cell.statementMs.toFixed(2)} ms, ${Math.round(cell.perMinute)} runs/min`,
        );
      }
    }
  } finally {
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
  console.log(`\nPostgreSQL claims against a backlog (${WORKERS} workers, claims of ${LIMIT}, ${SECONDS} s per cell)\n`);
  console.log('| queued | tenants | claim p50 | claim p99 | alone p50 | alone p99 | statement | runs/min | vs empty |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of cells) {
    const empty = cells.find((x) => x.tenants === c.tenants && x.size === 0);
    const ratio = empty ? c.perMinute / empty.perMinute : Number.NaN;
    console.log(
      `| ${c.size.toLocaleString('en')} | ${c.tenants.toLocaleString('en')} | ${c.p50.toFixed(2)} ms | ${c.p99.toFixed(2)} ms | ${c.aloneP50.toFixed(2)} ms | ${c.aloneP99.toFixed(2)} ms | ${c.statementMs.toFixed(2)} ms | ${Math.round(c.perMinute).toLocaleString('en')} | ${ratio.toFixed(2)} |`,
    );
  }
}

await main();
