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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defineAgent, type Agent } from '../src/agent/agent.ts';
import { defineTool } from '../src/agent/tool.ts';
import { callModel } from '../src/model/bridge.ts';
import type { ConversationMessage } from '../src/model/port.ts';
import { simulated } from '../src/model/simulated.ts';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/store/store.ts';
import { createWarden } from '../src/runtime/warden.ts';

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
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await job(next++);
  }));
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
      for (const call of turn.toolCalls) results.push({ callId: call.callId, tool: call.tool, output: await lookup.execute(call.args as { id: string }, undefined as never), isError: false });
      messages.push({ role: 'tool', results });
    }
  });
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { store: 'bare loop (baseline)', latencyMs, concurrency, runs, wallMs, cpuMs: (used.user + used.system) / 1000, firstStep };
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const rows: { row: Row; base: Row }[] = [];
  try {
    for (const latencyMs of [0, 200]) {
      for (const concurrency of [1, 100]) {
        const runs = Math.max(20, Math.round((latencyMs === 0 ? (concurrency === 1 ? 1000 : 2000) : concurrency === 1 ? 20 : 1000) * scale));
        const base = await bare(latencyMs, concurrency, runs);
        const store = createSqliteStore({ path: join(dir, `bench-${latencyMs}-${concurrency}.db`) });
        const row = await governed('embedded (SQLite)', store, latencyMs, concurrency, runs);
        await store.close();
        rows.push({ row, base });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const print = (cells: string[]) => console.log(`| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`);
  print(header);
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) print(l);
  console.log(`\nNode ${process.version}, ${quick ? 'quick' : 'full'} run. Steps are model calls; each run is ${STEPS} steps and ${STEPS - 1} tool calls.`);
}

await main();
