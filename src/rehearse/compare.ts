import { nanoToUsd } from '../core/money.ts';
import { seededRandom, seedFrom } from '../model/seeded-random.ts';
import type { RehearsalOutcome } from './rehearsal.ts';
import type { RunSummary } from './run-summary.ts';
import { round } from './stats.ts';

/**
 * A change compared before it ships: the same requests (same seed, so the same request gets the
 * same behaviour draws on both sides until the change makes them part) run on BEFORE and AFTER,
 * and each figure's difference with a 95% confidence interval from a paired bootstrap over the
 * requests: resample request indices with replacement, recompute both sides on the same resample.
 * A difference is significant when its interval excludes zero.
 */
export const COMPARE_METHOD = 'paired bootstrap over requests (1,000 resamples, 95% percentile interval); significant when the interval excludes 0';
const RESAMPLES = 1000;

export interface CompareRow {
  metric: string;
  before: number;
  after: number;
  difference: number;
  ci95: [number, number];
  significant: boolean;
}

export interface CompareReport {
  before: string;
  after: string;
  requests: number;
  seed: number;
  volumePerDay: number;
  method: string;
  rows: CompareRow[];
}

interface Metric {
  name: string;
  /** The figure on one side, over the runs at `idx`. */
  value: (runs: readonly RunSummary[], idx: Uint32Array, ceilingUsd: number) => number;
  digits: number;
}

const per1000 = (test: (r: RunSummary) => number) => (runs: readonly RunSummary[], idx: Uint32Array) => {
  let n = 0;
  for (const i of idx) n += test(runs[i]!);
  return (n / idx.length) * 1000;
};

function costQuantiles(runs: readonly RunSummary[], idx: Uint32Array): Float64Array {
  const costs = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) costs[k] = runs[idx[k]!]!.spentNano;
  return costs.sort();
}

const quantile = (sorted: Float64Array, p: number) => nanoToUsd(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0);

export function compareRehearsals(before: RehearsalOutcome, after: RehearsalOutcome, volumePerDay: number): CompareReport {
  const n = Math.min(before.runs.length, after.runs.length);
  const a = before.runs.slice(0, n);
  const b = after.runs.slice(0, n);
  const reasons = [...new Set([...a, ...b].map((r) => r.stopReason).filter((r) => r !== null))].sort();
  const metrics: Metric[] = [
    ...reasons.map((reason) => ({ name: `stopped by ${reason} per 1,000`, value: per1000((r) => (r.stopReason === reason ? 1 : 0)), digits: 1 })),
    { name: 'completed per 1,000', value: per1000((r) => (r.status === 'completed' ? 1 : 0)), digits: 1 },
    { name: 'cost p50 (USD)', value: (runs, idx) => quantile(costQuantiles(runs, idx), 0.5), digits: 7 },
    { name: 'cost p99 (USD)', value: (runs, idx) => quantile(costQuantiles(runs, idx), 0.99), digits: 7 },
    {
      name: `projected daily cost at ${volumePerDay.toLocaleString('en-US')} (USD)`,
      value: (runs, idx) => (per1000((r) => nanoToUsd(r.spentNano))(runs, idx) / 1000) * volumePerDay,
      digits: 2,
    },
    { name: 'approvals per 1,000', value: per1000((r) => r.approvalsRequested), digits: 1 },
    { name: 'escalations per 1,000', value: per1000((r) => r.escalations), digits: 1 },
    { name: 'denied by policy per 1,000', value: per1000((r) => r.deniedByPolicy), digits: 1 },
    { name: 'loops caught per 1,000', value: per1000((r) => (r.loopCaughtAtStep !== null ? 1 : 0)), digits: 1 },
    { name: 'ceiling headroom over cost p99 (USD)', value: (runs, idx, ceiling) => ceiling - quantile(costQuantiles(runs, idx), 0.99), digits: 7 },
  ];
  const ceilingA = nanoToUsd(a[0]?.ceilingNano ?? 0);
  const ceilingB = nanoToUsd(b[0]?.ceilingNano ?? 0);
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seedFrom(before.seed, 'compare-bootstrap'));
  const diffs = metrics.map(() => new Float64Array(RESAMPLES));
  const idx = new Uint32Array(n);
  for (let s = 0; s < RESAMPLES && n > 0; s++) {
    for (let k = 0; k < n; k++) idx[k] = Math.floor(random() * n);
    metrics.forEach((m, j) => {
      diffs[j]![s] = m.value(b, idx, ceilingB) - m.value(a, idx, ceilingA);
    });
  }
  const rows = metrics.map((m, j): CompareRow => {
    const vb = m.value(a, all, ceilingA);
    const va = m.value(b, all, ceilingB);
    const sorted = diffs[j]!.sort();
    const lo = sorted[Math.floor(0.025 * RESAMPLES)] ?? 0;
    const hi = sorted[Math.ceil(0.975 * RESAMPLES) - 1] ?? 0;
    return {
      metric: m.name,
      before: round(vb, m.digits),
      after: round(va, m.digits),
      difference: round(va - vb, m.digits),
      ci95: [round(lo, m.digits), round(hi, m.digits)],
      significant: n > 0 && (lo > 0 || hi < 0),
    };
  });
  return { before: before.agent.name, after: after.agent.name, requests: n, seed: before.seed, volumePerDay, method: COMPARE_METHOD, rows };
}

/** The comparison as a table for a terminal. */
export function compareText(c: CompareReport, beforeLabel: string, afterLabel: string): string {
  const head = ['', 'before', 'after', 'difference', '95% interval', ''];
  const table = [
    head,
    ...c.rows.map((r) => [
      r.metric,
      String(r.before),
      String(r.after),
      `${r.difference > 0 ? '+' : ''}${r.difference}`,
      `[${r.ci95[0]}, ${r.ci95[1]}]`,
      r.significant ? 'significant' : r.difference === 0 ? 'same' : 'not significant',
    ]),
  ];
  const widths = head.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return [
    `Compared on ${c.requests.toLocaleString('en-US')} requests, seed ${c.seed}: before ${beforeLabel}, after ${afterLabel}`,
    `Significance: ${c.method}.`,
    '',
    ...table.map((row) => `  ${row.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')}`.trimEnd()),
    '',
  ].join('\n');
}
