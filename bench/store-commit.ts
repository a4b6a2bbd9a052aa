/**
 * Commits per second of the stores, on the runtime's commit shape: three events and a run patch
 * (the common step), and the same with a budget reserve + settle (a model step).
 *
 *   npm run bench:store            # SQLite file, SQLite :memory:, PostgreSQL (1 and 8 writers)
 *   WARDEN_BENCH_PG=postgres://…   # another server (default the local test database)
 *
 * SQLite on a file with one writer is the baseline every ratio is against, measured in the same
 * run. PostgreSQL runs in a schema of its own, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DEFAULT_LIMITS } from '../src/core/limits.ts';
import { newEvent } from '../src/core/events.ts';
import { createPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { BudgetOp, Store } from '../src/core/ports/store.ts';

const PG_URL = process.env.WARDEN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.WARDEN_BENCH_SECONDS ?? 2);

async function newRun(store: Store): Promise<string> {
  const runId = `bench-${randomBytes(8).toString('hex')}`;
  const model = { provider: 'simulated', modelId: 'sim', inputPerMTok: 1, outputPerMTok: 1 };
  const submitted = newEvent('run.submitted', {
    agent: 'bench',
    input: 'x',
    tenant: 't',
    limits: { ...DEFAULT_LIMITS },
    rootRunId: runId,
    parentRunId: null,
    model,
  });
  await store.createRun({
    runId,
    agent: 'bench',
    tenant: 't',
    input: 'x',
    parentRunId: null,
    rootRunId: runId,
    ceilingNano: 1e15,
    status: 'queued',
    createdAt: Date.now(),
    submitted,
  });
  return runId;
}

function step(callId: string) {
  return [
    newEvent('tool.started', { callId, tool: 'lookup', attempt: 1, idempotencyKey: callId }),
    newEvent('tool.succeeded', { callId, tool: 'lookup', attempt: 1, result: { id: 1042, total: 250 }, durationMs: 3 }),
    newEvent('limit.hit', { limit: 'max_steps', detail: 'bench' }),
  ];
}

/** `writers` concurrent writers, each on its own run, committing for `SECONDS`; commits per second. */
async function measure(store: Store, writers: number, withBudget: boolean): Promise<number> {
  const runs = await Promise.all(Array.from({ length: writers }, () => newRun(store)));
  const deadline = performance.now() + SECONDS * 1000;
  let commits = 0;
  const started = performance.now();
  await Promise.all(
    runs.map(async (runId) => {
      let seq = 1;
      for (let i = 0; performance.now() < deadline; i++) {
        const budget: BudgetOp[] | undefined = withBudget
          ? [
              { kind: 'reserve', rootRunId: runId, amountNano: 1_000 },
              { kind: 'settle', rootRunId: runId, reservedNano: 1_000, actualNano: 600 },
            ]
          : undefined;
        const events = step(`c${i}`);
        await store.commit({ runId, expectedSeq: seq, events, budget, run: { status: 'running', steps: i, costNano: i * 600 } });
        seq += events.length;
        commits++;
      }
    }),
  );
  return commits / ((performance.now() - started) / 1000);
}

interface Row {
  store: string;
  writers: number;
  plain: number;
  budget: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const schema = `bench_${process.pid}`;
  const rows: Row[] = [];
  const run = async (name: string, open: () => Promise<Store>, writers: number) => {
    const store = await open();
    try {
      rows.push({ store: name, writers, plain: await measure(store, writers, false), budget: await measure(store, writers, true) });
    } finally {
      await store.close();
    }
  };
  try {
    await run('sqlite file', async () => createSqliteStore({ path: join(dir, 'bench.db') }), 1);
    await run('sqlite :memory:', async () => createSqliteStore({ path: ':memory:' }), 1);
    await run('postgres', () => createPostgresStore({ url: PG_URL, schema, poolSize: 1 }), 1);
    await run('postgres', () => createPostgresStore({ url: PG_URL, schema, poolSize: 8 }), 8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  const base = rows[0];
  if (!base) throw new Error('no store was measured');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(8);
  const ratio = (n: number, b: number) => `${(n / b).toFixed(2)}×`.padStart(6);
  console.log(`store commits per second (${SECONDS} s each; 3 events + run patch; "+budget" adds a reserve and a settle)\n`);
  console.log('store             writers   commits/s   ratio   +budget/s   ratio   µs/commit');
  for (const r of rows) {
    const us = ((1e6 / r.plain) * r.writers).toFixed(0).padStart(9);
    console.log(
      `${r.store.padEnd(17)} ${String(r.writers).padStart(7)}    ${fmt(r.plain)}  ${ratio(r.plain, base.plain)}    ${fmt(r.budget)}  ${ratio(r.budget, base.budget)}   ${us}`,
    );
  }
  console.log('\nratio: against sqlite file, 1 writer, measured in this run. µs/commit: latency seen by one writer.');
}

await main();
