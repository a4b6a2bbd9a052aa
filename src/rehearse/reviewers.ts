import type { Agent } from '../agent/agent.ts';
import { WardenError } from '../core/errors.ts';
import { seededRandom, seedFrom } from '../model/seeded-random.ts';
import type { RunSummary } from './run-summary.ts';
import { percentile, round } from './stats.ts';

/**
 * People as a resource: the approvals and escalations a rehearsal produced, turned into a queue
 * served first come, first served by `reviewers` people who work `hours` each day, on a virtual
 * clock. Requests arrive as a Poisson process at `volumePerDay`; each run's first wait comes at
 * the active time its log shows, and each later one that long after the previous decision. An
 * item still queued when its approval timeout passes leaves the queue (the run's onTimeout acts);
 * one a person started on is decided, late or not. A service that runs past the end of the hours
 * is finished; none starts outside them.
 */

export type DecisionTime = { kind: 'exp'; meanMs: number } | { kind: 'lognormal'; medianMs: number; sigma: number } | { kind: 'fixed'; ms: number };

export interface ReviewerOptions {
  reviewers: number;
  decisionTime: DecisionTime;
  /** Working hours of the virtual day, [from, to) in hours; 0-24 is around the clock. */
  hours: { from: number; to: number };
  /** How long an approval or escalation waits before it times out, unless its tool says otherwise. */
  approvalTimeoutMs: number;
  /** p99 time to decision the team should keep under, for `reviewersNeeded`. */
  targetMs: number;
  volumePerDay: number;
  seed: number;
}

export const DEFAULT_REVIEWERS = {
  reviewers: 2,
  decisionTime: 'lognormal:3m,0.5',
  hours: '9-17',
  approvalTimeout: '24h',
  decisionTarget: '15m',
} as const;

export interface ReviewerReport {
  reviewers: number;
  decisionTime: string;
  hours: string;
  approvalTimeoutMs: number;
  volumePerDay: number;
  /** Approvals and escalations that reached the queue. */
  items: number;
  decided: number;
  timeToDecisionMs: { mean: number; p50: number; p99: number };
  /** Mean time from arrival to a person starting on it, decided items. */
  meanQueueWaitMs: number;
  /** Share of items that timed out (left the queue, or were decided after their timeout). */
  timedOutShare: number;
  /** Share of the runs that waited for a person that hit an approval timeout. */
  runsTimedOutShare: number;
  /** Reviewers whose working hours cover the decision work the volume brings each day (utilisation under 100%). */
  keepUp: number;
  /** The fewest reviewers whose p99 time to decision, for items arriving within the hours, stays under the target (a timeout counting as never decided). */
  needed: { targetMs: number; reviewers: number | null; note: string };
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `5m`, `1.5h`, `200ms`. */
export function parseSpan(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  const ms = m ? Number(m[1]) * (UNITS[m[2] ?? ''] ?? Number.NaN) : Number.NaN;
  if (!(ms > 0)) throw new WardenError('INVALID_ARGUMENT', `${what} must look like 200ms, 90s, 5m or 2h, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * `exp:5m` (exponential, mean 5 minutes), `lognormal:3m,0.8` (median 3 minutes, σ of the log 0.8),
 * `fixed:2m`.
 */
export function parseDecisionTime(text: string): DecisionTime {
  const [kind, rest = ''] = text.split(':', 2);
  const [a = '', b] = rest.split(',');
  if (kind === 'exp' && b === undefined) return { kind, meanMs: parseSpan(a, '--decision-time exp:MEAN') };
  if (kind === 'fixed' && b === undefined) return { kind, ms: parseSpan(a, '--decision-time fixed:TIME') };
  if (kind === 'lognormal') {
    const sigma = Number(b ?? '0.8');
    if (!(sigma > 0 && sigma < 5))
      throw new WardenError('INVALID_ARGUMENT', `--decision-time lognormal:MEDIAN,SIGMA needs 0 < SIGMA < 5, got ${JSON.stringify(b)}`);
    return { kind, medianMs: parseSpan(a, '--decision-time lognormal:MEDIAN'), sigma };
  }
  throw new WardenError(
    'INVALID_ARGUMENT',
    `--decision-time must be exp:MEAN, lognormal:MEDIAN,SIGMA or fixed:TIME (e.g. exp:5m), got ${JSON.stringify(text)}`,
  );
}

export function parseHours(text: string): { from: number; to: number } {
  const m = /^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$/.exec(text);
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || !(from >= 0 && to <= 24 && from < to)) {
    throw new WardenError('INVALID_ARGUMENT', `--hours must be FROM-TO in whole hours of the day, e.g. 9-17 or 0-24, got ${JSON.stringify(text)}`);
  }
  return { from, to };
}

export function describeDecisionTime(d: DecisionTime): string {
  const min = (ms: number) => `${round(ms / 60_000, 2)}m`;
  if (d.kind === 'exp') return `exp:${min(d.meanMs)}`;
  if (d.kind === 'fixed') return `fixed:${min(d.ms)}`;
  return `lognormal:${min(d.medianMs)},${d.sigma}`;
}

/** The mean of a decision-time distribution, ms. */
export function meanDecisionMs(d: DecisionTime): number {
  if (d.kind === 'fixed') return d.ms;
  if (d.kind === 'exp') return d.meanMs;
  return d.medianMs * Math.exp((d.sigma * d.sigma) / 2);
}

function drawService(d: DecisionTime, random: () => number): number {
  if (d.kind === 'fixed') return d.ms;
  if (d.kind === 'exp') return -d.meanMs * Math.log(1 - random());
  // Box–Muller: one standard normal from two uniforms.
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return d.medianMs * Math.exp(d.sigma * z);
}

/** A tool's own approval timeout, when it declares `approval: { timeoutMs }`. */
function toolTimeout(agent: Agent | undefined, tool: string | null): number | undefined {
  if (!agent || tool === null) return undefined;
  const approval = (agent.toolsByName.get(tool) as { approval?: unknown } | undefined)?.approval;
  const timeout = typeof approval === 'object' && approval !== null ? (approval as { timeoutMs?: unknown }).timeoutMs : undefined;
  return typeof timeout === 'number' && timeout > 0 ? timeout : undefined;
}

/** What a run brings to the queue: its waits, each with the active time since the previous decision. */
export interface QueueRun {
  items: { gapMs: number; timeoutMs: number }[];
}

export function queueRuns(runs: readonly RunSummary[], agent: Agent | undefined, defaultTimeoutMs: number): QueueRun[] {
  return runs.map((r) => ({
    items: r.waits.map((w, i) => ({
      gapMs: Math.max(0, w.atActiveMs - (r.waits[i - 1]?.atActiveMs ?? 0)),
      timeoutMs: toolTimeout(agent, w.tool) ?? defaultTimeoutMs,
    })),
  }));
}

interface Outcome {
  arrival: number;
  start: number;
  decided: number;
  inHours: boolean;
  timedOut: boolean;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A small binary min-heap of [time, payload]. */
class Heap<T> {
  #a: { t: number; v: T }[] = [];
  get size(): number {
    return this.#a.length;
  }
  push(t: number, v: T): void {
    const a = this.#a;
    a.push({ t, v });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.t <= a[i]!.t) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): { t: number; v: T } | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.t < a[m]!.t) m = l;
        if (r < a.length && a[r]!.t < a[m]!.t) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Simulates the queue once. Common random numbers: the arrivals and the decision times are drawn
 * from the seed alone, so two reviewer counts see the same day and the search below is monotone.
 */
export function simulateQueue(runs: readonly QueueRun[], options: Omit<ReviewerOptions, 'targetMs'>): Outcome[] {
  const arrivals = seededRandom(seedFrom(options.seed, 'reviewers', 'arrivals'));
  const service = seededRandom(seedFrom(options.seed, 'reviewers', 'service'));
  const { from, to } = options.hours;
  const always = from === 0 && to === 24;
  const inHours = (t: number) => {
    if (always) return true;
    const h = (((t % DAY) + DAY) % DAY) / HOUR;
    return h >= from && h < to;
  };
  const nextOpening = (t: number) => {
    const day = Math.floor(t / DAY) * DAY;
    const open = day + from * HOUR;
    return t < open ? open : open + DAY;
  };
  type Ev = { kind: 'arrive'; run: number; item: number } | { kind: 'free' } | { kind: 'open' };
  const heap = new Heap<Ev>();
  const gap = DAY / options.volumePerDay;
  let t = 0;
  for (let i = 0; i < runs.length; i++) {
    t += -gap * Math.log(1 - arrivals());
    const first = runs[i]?.items[0];
    if (first) heap.push(t + first.gapMs, { kind: 'arrive', run: i, item: 0 });
  }
  const queue: { run: number; item: number; arrival: number; timeoutMs: number }[] = [];
  let head = 0;
  let free = options.reviewers;
  let openPending = false;
  const outcomes: Outcome[] = [];
  const start = (now: number) => {
    if (!inHours(now)) {
      if (!openPending && head < queue.length) {
        openPending = true;
        heap.push(nextOpening(now), { kind: 'open' });
      }
      return;
    }
    while (free > 0 && head < queue.length) {
      const q = queue[head++]!;
      if (now - q.arrival >= q.timeoutMs) {
        outcomes.push({ arrival: q.arrival, start: now, decided: Number.POSITIVE_INFINITY, inHours: inHours(q.arrival), timedOut: true });
        continue;
      }
      free--;
      const done = now + drawService(options.decisionTime, service);
      heap.push(done, { kind: 'free' });
      const timedOut = done - q.arrival > q.timeoutMs;
      outcomes.push({ arrival: q.arrival, start: now, decided: timedOut ? Number.POSITIVE_INFINITY : done, inHours: inHours(q.arrival), timedOut });
      const next = runs[q.run]?.items[q.item + 1];
      if (next && !timedOut) heap.push(done + next.gapMs, { kind: 'arrive', run: q.run, item: q.item + 1 });
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };
  for (let e = heap.pop(); e; e = heap.pop()) {
    if (e.v.kind === 'arrive') {
      const item = runs[e.v.run]?.items[e.v.item];
      if (item) queue.push({ run: e.v.run, item: e.v.item, arrival: e.t, timeoutMs: item.timeoutMs });
    } else if (e.v.kind === 'free') free++;
    else openPending = false;
    start(e.t);
  }
  return outcomes;
}

/** The queue's figures for `options.reviewers`, and the fewest reviewers that meet the target. */
export function reviewerReport(runs: readonly QueueRun[], options: ReviewerOptions): ReviewerReport {
  const outcomes = simulateQueue(runs, options);
  const decided = outcomes.filter((o) => !o.timedOut);
  const ttd = Float64Array.from(decided.map((o) => o.decided - o.arrival)).sort();
  const waiting = runs.filter((r) => r.items.length > 0).length;
  let timedOutRuns = 0;
  // Outcomes carry no run index; count runs from the items that timed out (at most one per run: its items stop there).
  for (const o of outcomes) if (o.timedOut) timedOutRuns++;
  const p99InHours = (reviewers: number) => {
    const inHours = simulateQueue(runs, { ...options, reviewers })
      .filter((o) => o.inHours)
      .map((o) => o.decided - o.arrival)
      .sort((a, b) => a - b);
    return percentile(inHours, 99);
  };
  let needed: number | null = null;
  const items = outcomes.length;
  if (items > 0) {
    let lo = 1;
    let hi = 1;
    while (hi <= 4096 && p99InHours(hi) > options.targetMs) hi *= 2;
    if (hi <= 4096) {
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (p99InHours(mid) <= options.targetMs) hi = mid;
        else lo = mid + 1;
      }
      needed = lo;
    }
  } else needed = 0;
  const h = options.hours;
  const days = runs.length / options.volumePerDay;
  const workPerDayMs = days > 0 ? (items * meanDecisionMs(options.decisionTime)) / days : 0;
  return {
    reviewers: options.reviewers,
    decisionTime: describeDecisionTime(options.decisionTime),
    hours: `${h.from}-${h.to}`,
    approvalTimeoutMs: options.approvalTimeoutMs,
    volumePerDay: options.volumePerDay,
    items,
    decided: decided.length,
    timeToDecisionMs: {
      mean: Math.round(ttd.reduce((a, b) => a + b, 0) / Math.max(1, ttd.length)),
      p50: Math.round(percentile(Array.from(ttd), 50)),
      p99: Math.round(percentile(Array.from(ttd), 99)),
    },
    meanQueueWaitMs: Math.round(decided.reduce((a, o) => a + (o.start - o.arrival), 0) / Math.max(1, decided.length)),
    timedOutShare: round(items ? (items - decided.length) / items : 0, 4),
    runsTimedOutShare: round(waiting ? timedOutRuns / waiting : 0, 4),
    keepUp: Math.ceil(workPerDayMs / ((h.to - h.from) * HOUR)),
    needed: {
      targetMs: options.targetMs,
      reviewers: needed,
      note:
        needed === null
          ? 'no number of reviewers keeps p99 under the target (the decision time alone exceeds it)'
          : `for items arriving within the hours ${h.from}-${h.to}${h.from === 0 && h.to === 24 ? '' : ", served first come, first served behind the night's backlog; off-hours arrivals wait for the morning whatever the headcount"}`,
    },
  };
}
