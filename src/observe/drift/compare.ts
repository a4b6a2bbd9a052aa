import { categories, driftThresholdBits, jsDivergenceBits, total, type Counts, DEFAULT_MIN_BITS, DEFAULT_Z } from './divergence.ts';
import type { RunProfile } from './profile.ts';
import { formatUsd } from '../../core/money.ts';

export type DriftDimension = 'tool_mix' | 'steps' | 'cost' | 'outcome' | 'approval_rate' | 'escalation_rate';

export interface DimensionDrift {
  dimension: DriftDimension;
  /** Jensen–Shannon divergence between the windows, bits. */
  divergenceBits: number;
  /** Above this it counts as drift (see `driftThresholdBits`). */
  thresholdBits: number;
  drifted: boolean;
  /** What moved, in words: "lookup_order 70% → 20%". */
  detail: string;
}

export interface CompareOptions {
  /** Normal deviate for the noise bound (default 3.719, p = 1e-4). */
  z?: number;
  /** Smallest shift worth an alert, bits (default 0.05). */
  minBits?: number;
}

const STEP_BINS: [number, string][] = [
  [1, '1'],
  [2, '2'],
  [3, '3'],
  [4, '4'],
  [6, '5-6'],
  [9, '7-9'],
  [14, '10-14'],
  [Infinity, '15+'],
];

function count<T>(items: readonly T[], key: (item: T) => string | string[] | Record<string, number>): Counts {
  const c: Counts = {};
  for (const item of items) {
    const k = key(item);
    if (typeof k === 'string') c[k] = (c[k] ?? 0) + 1;
    else if (Array.isArray(k)) for (const x of k) c[x] = (c[x] ?? 0) + 1;
    else for (const [x, n] of Object.entries(k)) c[x] = (c[x] ?? 0) + n;
  }
  return c;
}

function stepBin(steps: number): string {
  return STEP_BINS.find(([max]) => steps <= max)![1];
}

/** Cost bins are the baseline's deciles, so the comparison is about shape, whatever the scale. */
function costBinner(baseline: readonly RunProfile[]): (cost: number) => string {
  const sorted = baseline.map((p) => p.costNano).sort((a, b) => a - b);
  const edges = [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => sorted[Math.min(sorted.length - 1, Math.floor((d / 10) * sorted.length))]))].filter(
    (e) => e !== undefined,
  );
  return (cost) => {
    const i = edges.findIndex((e) => cost <= e);
    return i === -1 ? `>${edges.length}` : `q${i}`;
  };
}

function share(c: Counts, key: string): string {
  const n = Object.values(c).reduce((a, b) => a + b, 0);
  return n === 0 ? '0%' : `${Math.round((100 * (c[key] ?? 0)) / n)}%`;
}

/** The categories that moved most, as "name a% → b%". */
function topMoves(a: Counts, b: Counts, limit = 3): string {
  const na = Object.values(a).reduce((x, y) => x + y, 0) || 1;
  const nb = Object.values(b).reduce((x, y) => x + y, 0) || 1;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .map((k) => ({ k, d: Math.abs((b[k] ?? 0) / nb - (a[k] ?? 0) / na) }))
    .sort((x, y) => y.d - x.d)
    .slice(0, limit)
    .filter((x) => x.d > 0)
    .map((x) => `${x.k} ${share(a, x.k)} → ${share(b, x.k)}`)
    .join(', ');
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/**
 * Compares an agent's recent behaviour with its baseline, dimension by dimension. Pure: the
 * profiles in, the divergences out.
 *
 * @example
 * const dims = compareProfiles(lastWeek, today);
 * dims.filter((d) => d.drifted).map((d) => `${d.dimension}: ${d.detail}`);
 */
export function compareProfiles(baseline: readonly RunProfile[], recent: readonly RunProfile[], options: CompareOptions = {}): DimensionDrift[] {
  const z = options.z ?? DEFAULT_Z;
  const minBits = options.minBits ?? DEFAULT_MIN_BITS;
  const bin = costBinner(baseline);
  const rate = (items: readonly RunProfile[], f: (p: RunProfile) => boolean) => count(items, (p) => (f(p) ? 'yes' : 'no'));
  const tables: [DriftDimension, Counts, Counts, string][] = [];
  const tools = [count(baseline, (p) => p.tools), count(recent, (p) => p.tools)] as const;
  tables.push(['tool_mix', tools[0], tools[1], topMoves(tools[0], tools[1])]);
  const steps = [count(baseline, (p) => stepBin(p.steps)), count(recent, (p) => stepBin(p.steps))] as const;
  const meanSteps = (xs: readonly RunProfile[]) => (xs.reduce((a, p) => a + p.steps, 0) / (xs.length || 1)).toFixed(1);
  tables.push(['steps', steps[0], steps[1], `mean ${meanSteps(baseline)} → ${meanSteps(recent)} steps per run`]);
  const cost = [count(baseline, (p) => bin(p.costNano)), count(recent, (p) => bin(p.costNano))] as const;
  tables.push([
    'cost',
    cost[0],
    cost[1],
    `median ${formatUsd(median(baseline.map((p) => p.costNano)))} → ${formatUsd(median(recent.map((p) => p.costNano)))} per run`,
  ]);
  const outcome = [count(baseline, (p) => p.outcome), count(recent, (p) => p.outcome)] as const;
  tables.push([
    'outcome',
    outcome[0],
    outcome[1],
    `completed ${share(outcome[0], 'completed')} → ${share(outcome[1], 'completed')}${topMoves(outcome[0], outcome[1], 2) ? `; ${topMoves(outcome[0], outcome[1], 2)}` : ''}`,
  ]);
  const approvals = [rate(baseline, (p) => p.askedApproval), rate(recent, (p) => p.askedApproval)] as const;
  tables.push(['approval_rate', approvals[0], approvals[1], `${share(approvals[0], 'yes')} → ${share(approvals[1], 'yes')} of runs ask for approval`]);
  const escalations = [rate(baseline, (p) => p.escalated), rate(recent, (p) => p.escalated)] as const;
  tables.push(['escalation_rate', escalations[0], escalations[1], `${share(escalations[0], 'yes')} → ${share(escalations[1], 'yes')} of runs escalate`]);

  return tables.map(([dimension, a, b, detail]) => {
    const divergenceBits = jsDivergenceBits(a, b);
    // The sample sizes are the tables' totals: runs for per-run dimensions, proposed calls for the
    // tool mix (calls within a run are not independent, one reason the default z is strict).
    const thresholdBits = driftThresholdBits(categories(a, b), total(a), total(b), z, minBits);
    return { dimension, divergenceBits, thresholdBits, drifted: divergenceBits > thresholdBits, detail };
  });
}
