/**
 * How long `warden` takes to start and answer a few everyday commands, as users run it (the built
 * package in `dist/`, as installed from the tarball) and as it runs inside this repository (the
 * TypeScript source, stripped by Node on every start). Bare `node -e ''` is measured in the same run
 * as the baseline, so the table reads on a busy machine too. Target: under 300 ms wall for the
 * installed form.
 *
 *   npm run bench:cli               # builds dist/ first
 *   npm run bench:cli -- --runs 20  # more samples per command
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;

const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.ts')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// The installed form: bin/warden.js with dist/ beside it and no src/ (as in the tarball).
const work = mkdtempSync(join(tmpdir(), 'warden-cli-bench-'));
const installed = join(work, 'pkg');
mkdirSync(join(installed, 'bin'), { recursive: true });
cpSync(join(ROOT, 'bin/warden.js'), join(installed, 'bin/warden.js'));
symlinkSync(join(ROOT, 'dist'), join(installed, 'dist'));
const db = join(work, 'w.db');

// A store with a few hundred runs, so `runs list` and `approvals list` have something to read.
spawnSync(process.execPath, [join(ROOT, 'bin/warden.js'), 'rehearse', join(ROOT, 'examples/support-desk.ts'), '--requests', '200', '--db', db], {
  stdio: 'ignore',
});

const COMMANDS: { label: string; args: string[] }[] = [
  { label: 'warden --version', args: ['--version'] },
  { label: 'warden --help', args: ['--help'] },
  { label: 'warden runs list', args: ['runs', 'list', '--db', db] },
  { label: 'warden approvals list', args: ['approvals', 'list', '--db', db] },
  { label: 'warden audit examples/support-desk.ts', args: ['audit', join(ROOT, 'examples/support-desk.ts')] },
];

function time(args: string[]): { p50: number; p90: number } {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    spawnSync(process.execPath, args, { stdio: 'ignore', cwd: ROOT });
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: at(0.5), p90: at(0.9) };
}

const bare = time(['-e', '']);
const rows: string[][] = [['command', 'installed p50', 'installed p90', '× bare node', 'repository p50', 'target']];
rows.push(['node -e "" (baseline)', ms(bare.p50), ms(bare.p90), '1.0', '', '']);
for (const c of COMMANDS) {
  const dist = time([join(installed, 'bin/warden.js'), ...c.args]);
  const source = time([join(ROOT, 'bin/warden.js'), ...c.args]);
  rows.push([c.label, ms(dist.p50), ms(dist.p90), (dist.p50 / bare.p50).toFixed(1), ms(source.p50), dist.p50 < 300 ? '< 300 ms ✓' : '< 300 ms ✗']);
}
rmSync(work, { recursive: true, force: true });

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
console.log(`\nCLI start-up, wall time over ${RUNS} runs each (Node ${process.version})\n`);
for (const [i, r] of rows.entries()) {
  console.log(r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}

function ms(value: number): string {
  return `${value.toFixed(0)} ms`;
}
