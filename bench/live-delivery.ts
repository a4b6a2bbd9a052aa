/**
 * How fast a commit in one process reaches a live stream (SSE) served by another, on PostgreSQL,
 * and what following runs costs the commit path.
 *
 *   npm run bench:live              (a few seconds; WARDEN_BENCH_PG=postgres://… for another server)
 *
 * Delivery: this process serves `GET /v1/runs/ID/stream` for `STREAMS` runs with polling off
 * (`streamPollMs` 60 s); a child process (another store, another pool) commits steps to those
 * runs at about `RATE` commits a second and reports when each commit call started and returned.
 * The delay is from the commit's return (its acknowledgement) to the SSE message's arrival at a
 * client in this process; both read the machine's monotonic clock (`process.hrtime`).
 *
 * Cost: commits a second with 8 writers when nobody follows their runs, then when every run is
 * followed (each commit then sends a NOTIFY, which PostgreSQL serializes across the database).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { newEvent } from '../src/core/events.ts';
import type { RunWatcher, Store } from '../src/core/ports/store.ts';
import { createApiKey } from '../src/server/api-keys.ts';
import { startServer } from '../src/server/serve.ts';
import { createPostgresStore } from '../src/store/postgres/postgres-store.ts';
import type { AgentCatalog } from '../src/scheduler/agent-catalog.ts';

const PG_URL = process.env.WARDEN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const STREAMS = 20;
const RATE = 200;
const SECONDS = Number(process.env.WARDEN_BENCH_SECONDS ?? 5);
/** CLOCK_MONOTONIC in ms: one clock for every process on the machine (Linux). */
const clock = () => Number(process.hrtime.bigint()) / 1e6;
const step = (n: number) => [newEvent('limit.hit', { limit: 'max_steps', detail: `step ${n}` })];

/** The writer process: commits round-robin to the runs it is given, printing `runId seq startedAt endedAt`. */
async function writer(schema: string, runIds: string[]): Promise<void> {
  const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 4 });
  const seqs = new Map(runIds.map((r) => [r, 1]));
  const deadline = clock() + SECONDS * 1000;
  let i = 0;
  while (clock() < deadline) {
    const runId = runIds[i++ % runIds.length] as string;
    const seq = seqs.get(runId) ?? 1;
    const started = clock();
    await store.commit({ runId, expectedSeq: seq, events: step(seq) });
    process.stdout.write(`${runId} ${seq + 1} ${started} ${clock()}\n`);
    seqs.set(runId, seq + 1);
    await new Promise((r) => setTimeout(r, 1000 / RATE));
  }
  await store.close();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const noAgents: AgentCatalog = {
  names: ['bench'],
  agentFor: async () => {
    throw new Error('this server drives nothing');
  },
};

async function delivery(schema: string): Promise<{ n: number; p50: number; p99: number; max: number; p50FromCall: number }> {
  const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 8 });
  const server = await startServer({ store, agents: noAgents, port: 0, execute: false, streamPollMs: 60_000 });
  const key = (await createApiKey(store, { name: 'bench', role: 'viewer', tenants: ['t'] })).secret;
  const arrived = new Map<string, number>();
  const runIds: string[] = [];
  const readers: Promise<void>[] = [];
  const controller = new AbortController();
  for (let i = 0; i < STREAMS; i++) {
    const runId = `live-${i}-${process.pid}`;
    await createBenchRun(store, runId);
    runIds.push(runId);
    const stream = await fetch(`${server.url}/v1/runs/${runId}/stream`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
    readers.push(
      (async () => {
        if (!stream.body) throw new Error(`no stream for ${runId}`);
        const reader = stream.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: '' }));
          if (done) return;
          const now = clock();
          buffer += value;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const id = /^id: ?(\d+)$/m.exec(buffer.slice(0, end))?.[1];
            if (id) arrived.set(`${runId} ${id}`, now);
            buffer = buffer.slice(end + 2);
          }
        }
      })(),
    );
  }
  await new Promise((r) => setTimeout(r, 300)); // every stream follows its run
  const committed = new Map<string, [number, number]>();
  const child = spawn(process.execPath, ['--conditions=warden-source', import.meta.filename, '--writer', schema, ...runIds], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const line of createInterface({ input: child.stdout })) {
    const [runId, seq, started, ended] = line.split(' ');
    committed.set(`${runId} ${seq}`, [Number(started), Number(ended)]);
  }
  await new Promise((r) => setTimeout(r, 500));
  controller.abort();
  await Promise.allSettled(readers);
  await server.close();
  await store.close();
  const delays: number[] = [];
  const fromCall: number[] = [];
  for (const [k, [started, ended]] of committed) {
    const at = arrived.get(k);
    if (at === undefined) throw new Error(`commit ${k} never reached its stream`);
    delays.push(Math.max(0, at - ended));
    fromCall.push(at - started);
  }
  delays.sort((a, b) => a - b);
  fromCall.sort((a, b) => a - b);
  return {
    n: delays.length,
    p50: percentile(delays, 50),
    p99: percentile(delays, 99),
    max: delays.at(-1) ?? Number.NaN,
    p50FromCall: percentile(fromCall, 50),
  };
}

/** Commits a second by `writers` concurrent writers, each on its own run, with or without a follower on every run. */
async function commitRate(schema: string, writers: number, followed: boolean): Promise<number> {
  const store = await createPostgresStore({ url: PG_URL, schema, poolSize: writers });
  const follower = await createPostgresStore({ url: PG_URL, schema, poolSize: 2 });
  const runIds: string[] = [];
  const follows = [];
  for (let i = 0; i < writers; i++) {
    const runId = `rate-${followed}-${i}-${process.pid}`;
    await createBenchRun(store, runId);
    runIds.push(runId);
    const quiet: RunWatcher = { commit: () => {}, live: () => {} };
    if (followed) follows.push(await (follower.followRun as NonNullable<Store['followRun']>)(runId, quiet));
  }
  let commits = 0;
  const deadline = performance.now() + 3_000;
  await Promise.all(
    runIds.map(async (runId) => {
      for (let seq = 1; performance.now() < deadline; seq++) {
        await store.commit({ runId, expectedSeq: seq, events: step(seq) });
        commits++;
      }
    }),
  );
  for (const f of follows) await f.stop();
  await store.close();
  await follower.close();
  return commits / 3;
}

async function createBenchRun(store: Store, runId: string): Promise<void> {
  const submitted = newEvent('run.submitted', {
    agent: 'bench',
    input: 'x',
    tenant: 't',
    limits: { maxSteps: 10, maxToolCalls: 10, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: 1, maxDepth: 2, maxChildren: 4 },
    rootRunId: runId,
    parentRunId: null,
    model: { provider: 'simulated', modelId: 'sim', inputPerMTok: 1, outputPerMTok: 1 },
  } as never);
  await store.createRun({
    runId,
    agent: 'bench',
    tenant: 't',
    input: 'x',
    parentRunId: null,
    rootRunId: runId,
    ceilingNano: 1e15,
    status: 'running',
    createdAt: Date.now(),
    submitted,
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === '--writer') return writer(process.argv[3] as string, process.argv.slice(4));
  const schema = `bench_live_${process.pid}`;
  try {
    const d = await delivery(schema);
    const quiet = await commitRate(schema, 8, false);
    const loud = await commitRate(schema, 8, true);
    console.log(`\nCommit in one process → SSE message in another (PostgreSQL LISTEN/NOTIFY, polling off), ${STREAMS} streams, ~${RATE} commits/s:\n`);
    console.log('| commits | p50 ms | p99 ms | max ms | p50 from commit call ms | target |');
    console.log('|---:|---:|---:|---:|---:|---|');
    console.log(
      `| ${d.n} | ${d.p50.toFixed(1)} | ${d.p99.toFixed(1)} | ${d.max.toFixed(1)} | ${d.p50FromCall.toFixed(1)} | p99 < 50 ms ${d.p99 < 50 ? '✓' : '✗'} |`,
    );
    console.log('\nWhat following costs the commit path (8 writers, a commit of one event each):\n');
    console.log('| runs | commits/s | ratio |');
    console.log('|---|---:|---:|');
    console.log(`| nobody follows them (no NOTIFY) | ${Math.round(quiet).toLocaleString('en-US')} | 1.00× |`);
    console.log(`| every run followed (a NOTIFY per commit) | ${Math.round(loud).toLocaleString('en-US')} | ${(loud / quiet).toFixed(2)}× |`);
  } finally {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

await main();
