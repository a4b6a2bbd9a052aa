import { nanoToUsd } from '../core/money.ts';
import type { AgentEventRecord, InterventionRecord, RunRecord } from '../core/ports/store.ts';

/**
 * The windows the overview offers, each cut into buckets of one size. Buckets are aligned to
 * multiples of their size (UTC), so a chart does not shift as the clock moves within a bucket;
 * the last bucket is the one `now` falls in and is still filling.
 */
export const OVERVIEW_WINDOWS = {
  '1h': { spanMs: 3_600_000, bucketMs: 5 * 60_000 },
  '24h': { spanMs: 86_400_000, bucketMs: 3_600_000 },
  '7d': { spanMs: 7 * 86_400_000, bucketMs: 6 * 3_600_000 },
  '30d': { spanMs: 30 * 86_400_000, bucketMs: 86_400_000 },
} as const;

export type OverviewWindow = keyof typeof OVERVIEW_WINDOWS;

/** Statuses after which a run's cost no longer changes. */
const SETTLED = new Set(['completed', 'stopped', 'failed', 'cancelled']);

/** Where one window starts and ends, and its buckets' size: `from` is aligned, `to` is the end of the bucket `now` is in. */
export function windowBounds(window: OverviewWindow, now: number): { from: number; to: number; bucketMs: number } {
  const { spanMs, bucketMs } = OVERVIEW_WINDOWS[window];
  const to = (Math.floor(now / bucketMs) + 1) * bucketMs;
  return { from: to - spanMs, to, bucketMs };
}

/** What the store gave for one window: rows at or after its start, and whether a listing stopped at its cap. */
export interface OverviewInput {
  window: OverviewWindow;
  /** ms since the epoch. */
  now: number;
  /** Runs created in the window (any others are ignored), of the agents and tenants asked about. */
  runs: readonly RunRecord[];
  /** Interventions requested in the window, of the same runs' agents and tenants. */
  interventions: readonly InterventionRecord[];
  /** `drift.detected` records of the agents asked about. */
  drift: readonly AgentEventRecord[];
  /** The agent's cost ceiling per request, USD; null for several agents or when unknown. */
  ceilingUsd: number | null;
  /** How many rows each listing may return; a listing that returned this many may have left some out. */
  cap: number;
  /** Whether the runs listing (newest first) or the interventions listing (oldest first) returned `cap` rows. */
  truncated: { runs: boolean; interventions: boolean };
}

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

/** The overview of one window: everything is per bucket (arrays as long as `buckets`) or a total over the window. */
export interface Overview {
  window: OverviewWindow;
  from: number;
  to: number;
  bucketMs: number;
  /** Each bucket's start, ms since the epoch. */
  buckets: number[];
  totals: { runs: number; requests: number; approvals: number; escalations: number };
  /** Runs created in each bucket, by the status they have now. */
  runsByStatus: Record<string, number[]>;
  /** Runs that stopped, by reason, over the window. */
  stopReasons: Record<string, number>;
  /**
   * Cost per request: a root run and the child runs under it, settled (completed, stopped, failed,
   * cancelled), in USD. Bucketed by the root's creation.
   */
  costPerRequest: {
    requests: number;
    p50: number | null;
    p99: number | null;
    max: number | null;
    histogram: HistogramBin[];
    p50ByBucket: (number | null)[];
    p99ByBucket: (number | null)[];
    ceilingUsd: number | null;
  };
  /** Interventions requested per 100 runs created, per bucket; null where no run was created. */
  per100Runs: { approvals: (number | null)[]; escalations: (number | null)[] };
  /** From request to decision, ms, of the approvals requested in the window and decided since. */
  timeToDecision: { decided: number; p50: number | null; p99: number | null; histogram: HistogramBin[] };
  /** Drift alerts in the window: when, its bucket, and which dimensions drifted. */
  drift: { at: number; bucket: number; agent: string; dimensions: string[] }[];
  /** The bounds of what was read: see `OverviewInput.truncated`. `coveredFrom` is the oldest run read when the runs were cut. */
  sample: { cap: number; truncated: { runs: boolean; interventions: boolean }; coveredFrom: number };
}

/**
 * Aggregates one window of store rows into the overview's series. Pure: the same rows and clock
 * give the same overview, so the charts can be tested without a store.
 *
 * @example
 * const o = buildOverview({ window: '24h', now: Date.now(), runs, interventions: [], drift: [], ceilingUsd: 0.05, cap: 20_000, truncated: { runs: false, interventions: false } });
 * o.runsByStatus.completed; // [0, 0, …, 3] — one count per hour
 */
export function buildOverview(input: OverviewInput): Overview {
  const { from, to, bucketMs } = windowBounds(input.window, input.now);
  const n = Math.round((to - from) / bucketMs);
  const buckets = Array.from({ length: n }, (_, i) => from + i * bucketMs);
  const bucketOf = (t: number) => (t >= from && t < to ? Math.floor((t - from) / bucketMs) : -1);
  const zeros = () => new Array<number>(n).fill(0);

  const runs = input.runs.filter((r) => bucketOf(r.createdAt) >= 0);
  const runsPerBucket = zeros();
  const runsByStatus: Record<string, number[]> = {};
  const stopReasons: Record<string, number> = {};
  for (const r of runs) {
    const b = bucketOf(r.createdAt);
    runsPerBucket[b] = (runsPerBucket[b] ?? 0) + 1;
    const series = runsByStatus[r.status] ?? zeros();
    runsByStatus[r.status] = series;
    series[b] = (series[b] ?? 0) + 1;
    if (r.stopReason) stopReasons[r.stopReason] = (stopReasons[r.stopReason] ?? 0) + 1;
  }

  // A request's cost is its root's and its children's; children whose root is outside the window are left out.
  const requestNano = new Map<string, number>();
  for (const r of runs) if (r.parentRunId === null) requestNano.set(r.runId, 0);
  for (const r of runs) if (requestNano.has(r.rootRunId)) requestNano.set(r.rootRunId, (requestNano.get(r.rootRunId) ?? 0) + r.costNano);
  const costs: number[] = [];
  const costsByBucket: number[][] = Array.from({ length: n }, () => []);
  for (const r of runs) {
    if (r.parentRunId !== null || !SETTLED.has(r.status)) continue;
    const usd = nanoToUsd(requestNano.get(r.runId) ?? 0);
    costs.push(usd);
    costsByBucket[bucketOf(r.createdAt)]?.push(usd);
  }
  costs.sort((a, b) => a - b);
  for (const list of costsByBucket) list.sort((a, b) => a - b);

  const inWindow = input.interventions.filter((i) => bucketOf(i.requestedAt) >= 0);
  const per = (kind: InterventionRecord['kind']) => {
    const counts = zeros();
    for (const i of inWindow) {
      const b = bucketOf(i.requestedAt);
      if (i.kind === kind) counts[b] = (counts[b] ?? 0) + 1;
    }
    return counts.map((c, b) => (runsPerBucket[b] ? (c / (runsPerBucket[b] ?? 1)) * 100 : null));
  };
  const waits = inWindow
    .filter((i) => i.kind === 'approval' && i.decidedAt !== null)
    .map((i) => Math.max(0, (i.decidedAt ?? i.requestedAt) - i.requestedAt))
    .sort((a, b) => a - b);

  const drift = input.drift
    .filter((d) => d.type === 'drift.detected' && bucketOf(d.at) >= 0)
    .sort((a, b) => a.at - b.at)
    .map((d) => ({ at: d.at, bucket: bucketOf(d.at), agent: d.agent, dimensions: driftedDimensions(d.data) }));

  return {
    window: input.window,
    from,
    to,
    bucketMs,
    buckets,
    totals: {
      runs: runs.length,
      requests: costs.length,
      approvals: inWindow.filter((i) => i.kind === 'approval').length,
      escalations: inWindow.filter((i) => i.kind === 'escalation').length,
    },
    runsByStatus,
    stopReasons,
    costPerRequest: {
      requests: costs.length,
      p50: percentile(costs, 50),
      p99: percentile(costs, 99),
      max: costs.at(-1) ?? null,
      histogram: histogram(costs),
      p50ByBucket: costsByBucket.map((c) => percentile(c, 50)),
      p99ByBucket: costsByBucket.map((c) => percentile(c, 99)),
      ceilingUsd: input.ceilingUsd,
    },
    per100Runs: { approvals: per('approval'), escalations: per('escalation') },
    timeToDecision: { decided: waits.length, p50: percentile(waits, 50), p99: percentile(waits, 99), histogram: histogram(waits, 10, DURATION_STEPS) },
    drift,
    sample: {
      cap: input.cap,
      truncated: input.truncated,
      coveredFrom: input.truncated.runs ? runs.reduce((oldest, r) => Math.min(oldest, r.createdAt), to) : from,
    },
  };
}

/** Nearest-rank percentile of ascending `sorted`; null when it is empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

/** Bin widths that read as time (ms): 1 s, 5 s, 15 s, 30 s, 1 min, 5 min … 1 day, then whole days. */
export const DURATION_STEPS = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400].map((s) => s * 1000);

/**
 * Bins from 0 with a round width, about `target` of them, so the axis reads $0.002, $0.004 …
 * rather than $0.00173: 1, 2 or 5 × a power of ten, or the smallest of `steps` that is wide
 * enough (time reads better in minutes than in 20-second units). All zeros give one bin [0, 0].
 */
export function histogram(sorted: readonly number[], target = 10, steps?: readonly number[]): HistogramBin[] {
  const max = sorted.at(-1);
  if (max === undefined) return [];
  if (max <= 0) return [{ from: 0, to: 0, count: sorted.length }];
  const wanted = max / target;
  const last = steps?.at(-1);
  const width = steps && last ? (steps.find((s) => s >= wanted) ?? Math.ceil(wanted / last) * last) : roundStep(wanted);
  const bins = Math.max(1, Math.floor(max / width) + 1);
  const out = Array.from({ length: bins }, (_, i) => ({ from: tidy(i * width), to: tidy((i + 1) * width), count: 0 }));
  for (const v of sorted) {
    const bin = out[Math.min(bins - 1, Math.max(0, Math.floor(v / width)))];
    if (bin) bin.count++; // always: the index is clamped to [0, bins - 1]
  }
  return out;
}

/** The smallest 1, 2 or 5 × 10^k at or above `x`. */
function roundStep(x: number): number {
  const power = 10 ** Math.floor(Math.log10(x));
  const m = x / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

/** Drops floating-point dust (0.30000000000000004) from a bin edge. */
function tidy(x: number): number {
  return Number(x.toPrecision(12));
}

/** The names of the dimensions a `drift.detected` record says drifted (its data is agent-wide; counts stay out). */
function driftedDimensions(data: Record<string, unknown>): string[] {
  const dims = Array.isArray(data.dimensions) ? data.dimensions : [];
  return dims.map((d) => (d && typeof d === 'object' && 'dimension' in d ? String(d.dimension) : '')).filter(Boolean);
}
