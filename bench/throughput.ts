/**
 * Throughput of the governed run loop against a bare loop, measured in the same process.
 *
 *   npm run bench:throughput            (full: 2,000 runs per row at 0 ms, 1,000 at 200 ms)
 *   npm run bench:throughput -- --quick (a tenth of that, for a smoke check)
 *   npm run bench:throughput -- --power (every SQLite row with durability 'power')
 *   npm run bench:throughput -- --no-postgres (the embedded rows and memory only)
 *
 * Workload: 5-step runs on the simulated model (four read-tool calls, then the answer), every
 * guard on and every step committed. The baseline is the same model and tool driven by a bare
 * loop that keeps nothing and checks nothing. Rows: store × model latency × concurrency.
 * Columns: runs per minute, model steps per second, runtime CPU per model step (process CPU ÷
 * steps), p50/p99 from submit to the first model call, the ratio of CPU per step to the bare
 * loop's, and KB written per step (the bytes the process handed to write(): the WAL and the
 * checkpoints that copy it back into the database file). One extra row runs on a store that
 * already holds 1M events (built once by direct inserts of a real run's rows, cached in the temp
 * directory), to compare with the empty store's row. Memory: live heap per run in flight
 * (sampled with GC mid-row at 200 ms latency), heap left after all the rows, and per run waiting
 * for a person.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { MIGRATIONS } from '../src/store/sqlite/migrations.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { defineAgent, type Agent } from '../src/agent/agent.ts';
import { defineTool } from '../src/agent/tool.ts';
import { callModel } from '../src/model/bridge.ts';
import type { ConversationMessage } from '../src/core/ports/model.ts';
import { simulated } from '../src/model/simulated.ts';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/core/ports/store.ts';
import { createWarden } from '../src/runtime/warden.ts';
import { createPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';

const quick = process.argv.includes('--quick');
const durability = process.argv.includes('--power') ? 'power' : 'process';
const scale = quick ? 0.1 : 1;
const STEPS = 5;

const lookup = defineTool({
  name: 'lookup',
  description: 'Look a record up',
  tier: 'read',
  idempotent: true,
  input: z.object({ id: z.string() }),
  execute: ({ id }) => ({ id, status: 'ok' }),
});

function agent(latencyMs: number): Agent {
  const turns = [
    ...Array.from({ length: STEPS - 1 }, (_, i) => ({ toolCalls: [{ tool: 'lookup', args: { id: `r${i}` } }], delayMs: latencyMs })),
    { text: 'All records are fine.', delayMs: latencyMs },
  ];
  return defineAgent({
    name: 'bench',
    instructions: 'Check the records.',
    model: simulated.script(turns),
    tools: [lookup],
    limits: { maxSteps: 10, maxToolCalls: 10, maxRetries: 3, maxWallMs: 120_000, maxCostUsd: 1 },
  });
}

interface Row {
  store: string;
  latencyMs: number;
  concurrency: number;
  runs: number;
  wallMs: number;
  cpuMs: number;
  firstStep: number[];
  /** Bytes handed to write() during the row (Linux /proc/self/io), when measured. */
  writtenBytes?: number;
  /** Largest live heap over the row's baseline, per run in flight (sampled with GC), when measured. */
  heapPerRunBytes?: number;
}

/** Bytes this process has passed to write() so far (Linux; 0 elsewhere). */
function writtenBytes(): number {
  try {
    return Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await job(next++);
    }),
  );
}

async function governed(label: string, store: Store, latencyMs: number, concurrency: number, runs: number): Promise<Row> {
  const submittedAt = new Map<string, number>();
  const firstStep: number[] = [];
  const warden = createWarden({
    store,
    onEvent: (e) => {
      if (e.type === 'budget.reserved' && e.data.reservationId === 'm1.1') {
        const t = submittedAt.get(e.runId);
        if (t !== undefined) firstStep.push(performance.now() - t);
      }
    },
  });
  const a = agent(latencyMs);
  // Live heap per run in flight: sampled with GC while the runs wait on the model (200 ms rows).
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  // A few samples only: a full GC is not free, and this row's CPU is measured too.
  let samples = 0;
  const sampler =
    latencyMs > 0 && gc
      ? setInterval(() => {
          if (++samples > 3) return;
          gc();
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        }, 1_500)
      : null;
  const written = writtenBytes();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await pool(runs, concurrency, async () => {
    // The runtime's own run ids (time-ordered), as a user gets them.
    const t = performance.now();
    const runId = await warden.submit(a, 'check');
    submittedAt.set(runId, t);
    const result = await warden.execute(a, runId);
    if (result.status !== 'completed' || result.steps !== STEPS) throw new Error(`bench run ended ${result.status} after ${result.steps} steps`);
  });
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  if (sampler) clearInterval(sampler);
  return {
    store: label,
    latencyMs,
    concurrency,
    runs,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    firstStep,
    writtenBytes: writtenBytes() - written,
    ...(sampler ? { heapPerRunBytes: (heapPeak - heapBefore) / concurrency } : {}),
  };
}

const HISTORY_EVENTS = 1_000_000;

/**
 * A store file that already holds 1M events: one real run's rows (a 5-step run of this workload)
 * copied under new, time-ordered ids, a day's worth of runs back in time, by direct inserts in one
 * transaction. Built once per schema version and cached in the temp directory; each use copies it.
 */
async function historyStore(dir: string): Promise<string> {
  const cached = join(tmpdir(), `warden-bench-history-${HISTORY_EVENTS}-m${MIGRATIONS.length}.db`);
  if (!existsSync(cached)) {
    const building = `${cached}.building-${process.pid}`;
    const template = createSqliteStore({ path: building });
    const warden = createWarden({ store: template });
    const a = agent(0);
    const result = await warden.run(a, 'check');
    if (result.status !== 'completed') throw new Error('the template run did not complete');
    await template.close();
    const db = new DatabaseSync(building);
    const run = db.prepare('SELECT * FROM runs WHERE run_id = ?').get(result.runId) as Record<string, string | number | null>;
    const events = db.prepare('SELECT seq, type, at, v, data FROM events WHERE run_id = ? ORDER BY seq').all(result.runId) as {
      seq: number;
      type: string;
      at: number;
      v: number;
      data: string;
    }[];
    const columns = Object.keys(run);
    const insertRun = db.prepare(`INSERT INTO runs (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    const insertBudget = db.prepare('INSERT INTO budgets (root_run_id, ceiling_nano, spent_nano, reserved_nano) VALUES (?, ?, ?, 0)');
    const insertEvent = db.prepare('INSERT INTO events (run_id, seq, type, at, v, data) VALUES (?, ?, ?, ?, ?, ?)');
    const budget = db.prepare('SELECT ceiling_nano, spent_nano FROM budgets WHERE root_run_id = ?').get(result.runId) as {
      ceiling_nano: number;
      spent_nano: number;
    };
    const copies = Math.ceil(HISTORY_EVENTS / events.length);
    const start = Date.now() - 86_400_000;
    db.exec('BEGIN');
    for (let i = 0; i < copies; i++) {
      const at = start + Math.floor((i * 86_400_000) / copies);
      const id = `run_${at.toString(16).padStart(12, '0')}7${Math.random().toString(16).slice(2, 12).padEnd(10, '0')}${i.toString(16).padStart(9, '0')}`;
      const shift = at - Number(run.created_at);
      insertRun.run(
        ...columns.map((c) =>
          c === 'run_id' || c === 'root_run_id' ? id : c === 'created_at' || c === 'updated_at' ? Number(run[c]) + shift : (run[c] ?? null),
        ),
      );
      insertBudget.run(id, budget.ceiling_nano, budget.spent_nano);
      for (const e of events) insertEvent.run(id, e.seq, e.type, e.at + shift, e.v, e.data.replaceAll(result.runId, id));
    }
    db.exec('COMMIT');
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
    renameSync(building, cached);
    rmSync(`${building}-wal`, { force: true });
    rmSync(`${building}-shm`, { force: true });
  }
  const path = join(dir, 'history.db');
  copyFileSync(cached, path);
  return path;
}

/** The same model and tool in a loop that keeps nothing and checks nothing. */
async function bare(latencyMs: number, concurrency: number, runs: number): Promise<Row> {
  const a = agent(latencyMs);
  const tools = [{ name: 'lookup', description: lookup.description, inputSchema: lookup.jsonSchema }];
  const firstStep: number[] = [];
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await pool(runs, concurrency, async () => {
    const start = performance.now();
    const messages: ConversationMessage[] = [{ role: 'user', text: 'check' }];
    for (let step = 0; step < 10; step++) {
      if (step === 0) firstStep.push(performance.now() - start);
      const turn = await callModel(a.model, { system: a.instructions, messages, tools, maxOutputTokens: 4096 });
      messages.push({ role: 'assistant', text: turn.text, toolCalls: turn.toolCalls });
      if (turn.toolCalls.length === 0) break;
      const results = [];
      for (const call of turn.toolCalls)
        results.push({ callId: call.callId, tool: call.tool, output: await lookup.execute(call.args as { id: string }, undefined as never), isError: false });
      messages.push({ role: 'tool', results });
    }
  });
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { store: 'bare loop (baseline)', latencyMs, concurrency, runs, wallMs, cpuMs: (used.user + used.system) / 1000, firstStep };
}

const PG_URL = process.env.WARDEN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const AGENT_FILE = resolve('bench/agents/five-step.ts');

/** CPU time a process has used so far, ms (Linux /proc; utime + stime in clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** PostgreSQL with `workers` worker processes: submit every run, then let the workers drain the queue. */
async function postgres(workers: number, runs: number): Promise<Row> {
  const schema = `bench_${process.pid}_${workers}`;
  const url = `${PG_URL}?schema=${schema}`;
  const store = await createPostgresStore({ url, poolSize: 8 });
  const children: ChildProcess[] = [];
  try {
    const warden = createWarden({ store });
    const { default: a } = await import(AGENT_FILE);
    const submitted = new Map<string, number>();
    await pool(runs, 16, async () => {
      const runId = await warden.submit(a, 'check', { agentFile: AGENT_FILE });
      submitted.set(runId, performance.now());
    });
    const t0 = performance.now();
    for (let i = 0; i < workers; i++) {
      children.push(spawn(process.execPath, ['bin/warden.js', 'worker', '--db', url, '--concurrency', '64', '--poll-ms', '100'], { stdio: 'ignore' }));
    }
    for (;;) {
      const done = await store.listRuns({ status: 'completed', limit: runs });
      if (done.length >= runs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const wallMs = performance.now() - t0;
    const cpuMs = children.reduce((sum, c) => sum + processCpuMs(c.pid!), 0);
    return { store: `PostgreSQL, ${workers} worker${workers > 1 ? 's' : ''}`, latencyMs: 0, concurrency: 64 * workers, runs, wallMs, cpuMs, firstStep: [] };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await store.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

/** Memory a run costs while it waits for a person: heap and RSS growth over `n` parked runs. */
async function memoryPerWaitingRun(n: number): Promise<{ heapBytes: number; rssBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-mem-'));
  const store = createSqliteStore({ path: join(dir, 'waiting.db') });
  const remove = defineTool({ name: 'remove', description: 'Delete a record', tier: 'delete', input: z.object({ id: z.string() }), execute: () => ({}) });
  const a = defineAgent({
    name: 'waits',
    instructions: 'x',
    model: simulated.script([{ toolCalls: [{ tool: 'remove', args: { id: 'r1' } }] }]),
    tools: [remove],
  });
  const warden = createWarden({ store });
  gc?.();
  const before = process.memoryUsage();
  await pool(n, 100, async () => {
    const r = await warden.run(a, 'remove r1');
    if (r.status !== 'waiting_approval') throw new Error(`expected a waiting run, got ${r.status}`);
  });
  gc?.();
  const after = process.memoryUsage();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { heapBytes: Math.max(0, after.heapUsed - before.heapUsed) / n, rssBytes: Math.max(0, after.rss - before.rss) / n };
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const rows: { row: Row; base: Row }[] = [];
  gc?.();
  const heapAtStart = process.memoryUsage().heapUsed;
  let heapAfterRows = heapAtStart;
  try {
    for (const latencyMs of [0, 200]) {
      // At 200 ms a five-step run takes at least a second, so 10,000 runs a minute needs ~170 in flight.
      for (const concurrency of latencyMs === 0 ? [1, 100] : [1, 100, 200]) {
        const runs = Math.max(20, Math.round((latencyMs === 0 ? (concurrency === 1 ? 1000 : 2000) : concurrency === 1 ? 20 : concurrency * 10) * scale));
        const base = await bare(latencyMs, concurrency, runs);
        const store = createSqliteStore({ path: join(dir, `bench-${latencyMs}-${concurrency}.db`), durability });
        const row = await governed('embedded (SQLite)', store, latencyMs, concurrency, runs);
        await store.close();
        rows.push({ row, base });
        if (latencyMs === 0 && concurrency === 100) {
          const history = createSqliteStore({ path: await historyStore(dir), durability });
          rows.push({ row: await governed('embedded, 1M events stored', history, 0, 100, runs), base });
          await history.close();
          if (durability !== 'power') {
            const power = createSqliteStore({ path: join(dir, 'bench-power.db'), durability: 'power' });
            rows.push({ row: await governed("embedded, durability 'power'", power, 0, 100, runs), base });
            await power.close();
          }
        }
      }
    }
    gc?.();
    heapAfterRows = process.memoryUsage().heapUsed;
    for (const workers of process.argv.includes('--no-postgres') ? [] : [1, 2]) {
      const runs = Math.max(100, Math.round(3000 * scale));
      const base = await bare(0, 64 * workers, runs);
      rows.push({ row: await postgres(workers, runs), base });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const waiting = Math.round(100_000 * scale);
  const memory = await memoryPerWaitingRun(waiting);
  const header = [
    'store',
    'latency',
    'conc.',
    'runs',
    'runs/min',
    'steps/s',
    'CPU ms/step',
    'p50 first step ms',
    'p99 first step ms',
    'CPU/step vs bare',
    'KB written/step',
  ];
  const lines: string[][] = [];
  for (const { row, base } of rows) {
    for (const r of [row, base]) {
      const steps = r.runs * STEPS;
      const cpuPerStep = r.cpuMs / steps;
      const baseCpu = base.cpuMs / (base.runs * STEPS);
      lines.push([
        r.store,
        `${r.latencyMs} ms`,
        String(r.concurrency),
        String(r.runs),
        fmt((r.runs / r.wallMs) * 60_000),
        fmt((steps / r.wallMs) * 1000),
        fmt(cpuPerStep, 3),
        fmt(pct(r.firstStep, 50), 2),
        fmt(pct(r.firstStep, 99), 2),
        r === base ? '1.0×' : `${fmt(cpuPerStep / baseCpu, 1)}×`,
        r.writtenBytes === undefined ? '' : fmt(r.writtenBytes / steps / 1024, 1),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  const print = (cells: string[]) => console.log(`| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`);
  print(header);
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) print(l);
  const inFlight = rows
    .filter(({ row }) => row.heapPerRunBytes !== undefined)
    .map(({ row }) => `${fmt((row.heapPerRunBytes ?? 0) / 1024, 1)} KiB at ${row.concurrency} in flight`);
  const totalRuns = rows.filter(({ row }) => !row.store.startsWith('PostgreSQL')).reduce((n, { row }) => n + row.runs, 0);
  console.log(`\nLive heap per run in flight (200 ms model, peak with GC): ${inFlight.join(', ')}.`);
  console.log(`Heap left after ${totalRuns.toLocaleString('en-US')} embedded runs: ${fmt((heapAfterRows - heapAtStart) / 1024 / 1024, 1)} MiB over the start.`);
  console.log(
    `\nMemory per run waiting for approval (${waiting.toLocaleString('en-US')} waiting runs): ${fmt(memory.heapBytes)} bytes of heap, ${fmt(memory.rssBytes)} bytes of RSS${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for exact heap figures)'}.`,
  );
  console.log(
    `Node ${process.version}, ${quick ? 'quick' : 'full'} run. Steps are model calls; each run is ${STEPS} steps and ${STEPS - 1} tool calls. PostgreSQL rows: worker processes with 64 runs in flight each; CPU is the workers' (from /proc), p50/p99 not measured there.`,
  );
}

await main();
