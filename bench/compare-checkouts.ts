/**
 * Is a change free? Runs the embedded hot path — 2,000 five-step runs on SQLite, the simulated model
 * at 0 ms, 100 in flight — in two checkouts of Warden, alternating, several rounds, and prints the
 * median of each. Alternating cancels most of a noisy machine's drift; the medians, not one run,
 * are what to compare.
 *
 *   git worktree add /tmp/warden-before <ref> && (cd /tmp/warden-before && npm ci)
 *   npm run bench:compare -- /tmp/warden-before . [--rounds 5]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const RUNS = 2_000;
const IN_FLIGHT = 100;
const STEPS = 5;

interface Sample {
  runsPerMin: number;
  cpuMsPerStep: number;
}

/** One measurement in this process, with the Warden of `root` (its public API, as a user sees it). */
async function measure(root: string): Promise<Sample> {
  const warden = await import(pathToFileURL(join(root, 'src/index.ts')).href);
  const { z } = await import(pathToFileURL(join(root, 'node_modules/zod/index.js')).href);
  const lookup = warden.defineTool({
    name: 'lookup',
    description: 'Look a record up',
    tier: 'read',
    idempotent: true,
    input: z.object({ id: z.string() }),
    execute: ({ id }: { id: string }) => ({ id, status: 'ok' }),
  });
  const turns = [
    ...Array.from({ length: STEPS - 1 }, (_, i) => ({ toolCalls: [{ tool: 'lookup', args: { id: `r${i}` } }] })),
    { text: 'All records are fine.' },
  ];
  const agent = warden.defineAgent({
    name: 'bench',
    instructions: 'Check the records.',
    model: warden.simulated.script(turns),
    tools: [lookup],
    limits: { maxSteps: 10, maxToolCalls: 10, maxRetries: 3, maxWallMs: 120_000, maxCostUsd: 1 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'warden-compare-'));
  const store = warden.createSqliteStore({ path: join(dir, 'bench.db') });
  const runtime = warden.createWarden({ store });
  let started = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (started < RUNS) {
        started++;
        const result = await runtime.run(agent, 'check');
        if (result.status !== 'completed' || result.steps !== STEPS) throw new Error(`bench run ended ${result.status} after ${result.steps} steps`);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { runsPerMin: (RUNS / wallMs) * 60_000, cpuMsPerStep: (used.user + used.system) / 1000 / (RUNS * STEPS) };
}

function inChild(root: string): Sample {
  const out = spawnSync(process.execPath, ['--conditions=warden-source', import.meta.filename, '--one', root], { cwd: root, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`measuring ${root} failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '') as Sample;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function main(args: string[]): Promise<void> {
  if (args[0] === '--one' && args[1]) {
    process.stdout.write(`${JSON.stringify(await measure(resolve(args[1])))}\n`);
    return;
  }
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 5;
  const roots = args.filter((a, i) => !a.startsWith('--') && i !== roundsAt + 1).map((a) => resolve(a));
  if (roots.length !== 2 || !(rounds >= 1)) {
    process.stderr.write('usage: node bench/compare-checkouts.ts BEFORE_DIR AFTER_DIR [--rounds N]\n');
    process.exit(2);
  }
  const samples = new Map<string, Sample[]>(roots.map((r) => [r, []]));
  for (let i = 0; i < rounds; i++) for (const root of roots) samples.get(root)?.push(inChild(root));
  const rows = roots.map((root) => {
    const s = samples.get(root) ?? [];
    return { root, runsPerMin: median(s.map((x) => x.runsPerMin)), cpu: median(s.map((x) => x.cpuMsPerStep)) };
  });
  const [before, after] = rows;
  if (!before || !after) return;
  process.stdout.write(`| checkout | median runs/min | median CPU ms/step |\n|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.root} | ${Math.round(r.runsPerMin).toLocaleString('en-US')} | ${r.cpu.toFixed(3)} |\n`);
  process.stdout.write(
    `\nafter ÷ before: runs/min ${(after.runsPerMin / before.runsPerMin).toFixed(2)}×, CPU per step ${(after.cpu / before.cpu).toFixed(2)}× (${rounds} alternating rounds of ${RUNS} runs, ${IN_FLIGHT} in flight)\n`,
  );
}

await main(process.argv.slice(2));
