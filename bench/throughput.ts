/**
 * Throughput of the governed run loop against a bare loop, measured in the same process.
 *
 *   npm run bench:throughput            (full: 2,000 runs per row at 0 ms, 1,000 at 200 ms)
 *   npm run bench:throughput -- --quick (a tenth of that, for a smoke check)
 *
 * Workload: 5-step runs on the simulated model (four read-tool calls, then the answer), every
 * guard on and every step committed. The baseline is the same model and tool driven by a bare
 * loop that keeps nothing and checks nothing. Rows: store × model latency × concurrency.
 * Columns: runs per minute, model steps per second, runtime CPU per model step (process CPU ÷
 * steps), p50/p99 from submit to the first model call, and the ratio of CPU per step to the
 * bare loop's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
}

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
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await pool(runs, concurrency, async (i) => {
    const runId = `run_b${label.length}${latencyMs}c${concurrency}n${i}x${Math.random().toString(16).slice(2, 8)}`;
    submittedAt.set(runId, performance.now());
    await warden.submit(a, 'check', { runId });
    const result = await warden.execute(a, runId);
    if (result.status !== 'completed' || result.steps !== STEPS) throw new Error(`bench run ended ${result.status} after ${result.steps} steps`);
  });
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { store: label, latencyMs, concurrency, runs, wallMs, cpuMs: (used.user + used.system) / 1000, firstStep };
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
  const gc = (globalThis as { gc?: () => void }).gc;
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
  try {
    for (const latencyMs of [0, 200]) {
      // At 200 ms a five-step run takes at least a second, so 10,000 runs a minute needs ~170 in flight.
      for (const concurrency of latencyMs === 0 ? [1, 100] : [1, 100, 200]) {
        const runs = Math.max(20, Math.round((latencyMs === 0 ? (concurrency === 1 ? 1000 : 2000) : concurrency === 1 ? 20 : concurrency * 10) * scale));
        const base = await bare(latencyMs, concurrency, runs);
        const store = createSqliteStore({ path: join(dir, `bench-${latencyMs}-${concurrency}.db`) });
        const row = await governed('embedded (SQLite)', store, latencyMs, concurrency, runs);
        await store.close();
        rows.push({ row, base });
      }
    }
    for (const workers of [1, 2]) {
      const runs = Math.max(100, Math.round(3000 * scale));
      const base = await bare(0, 64 * workers, runs);
      rows.push({ row: await postgres(workers, runs), base });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const waiting = Math.round(100_000 * scale);
  const memory = await memoryPerWaitingRun(waiting);
  const header = ['store', 'latency', 'conc.', 'runs', 'runs/min', 'steps/s', 'CPU ms/step', 'p50 first step ms', 'p99 first step ms', 'CPU/step vs bare'];
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
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  const print = (cells: string[]) => console.log(`| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`);
  print(header);
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) print(l);
  console.log(
    `\nMemory per run waiting for approval (${waiting.toLocaleString('en-US')} waiting runs): ${fmt(memory.heapBytes)} bytes of heap, ${fmt(memory.rssBytes)} bytes of RSS${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for exact heap figures)'}.`,
  );
  console.log(
    `Node ${process.version}, ${quick ? 'quick' : 'full'} run. Steps are model calls; each run is ${STEPS} steps and ${STEPS - 1} tool calls. PostgreSQL rows: worker processes with 64 runs in flight each; CPU is the workers' (from /proc), p50/p99 not measured there.`,
  );
}

await main();
