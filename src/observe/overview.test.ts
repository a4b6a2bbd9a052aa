import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentEventRecord, InterventionRecord, RunRecord } from '../core/ports/store.ts';
import { buildOverview, histogram, type OverviewInput, percentile, windowBounds } from './overview.ts';

const HOUR = 3_600_000;
// 2026-12-03T10:30:00Z: the 24 h window's last bucket is 10:00–11:00.
const NOW = Date.UTC(2026, 11, 3, 10, 30);
const NANO = 1_000_000_000;

let seq = 0;
function run(over: Partial<RunRecord> = {}): RunRecord {
  const runId = over.runId ?? `run_${++seq}`;
  return {
    runId,
    agent: 'desk',
    tenant: 'acme',
    mode: 'live',
    undo: 'none',
    status: 'completed',
    stopReason: null,
    parentRunId: null,
    rootRunId: runId,
    input: 'x',
    output: null,
    error: null,
    costNano: 0,
    steps: 1,
    toolCalls: 0,
    conversationId: null,
    turn: null,
    lastSeq: 3,
    createdAt: NOW - 1000,
    updatedAt: NOW,
    leaseOwner: null,
    leaseExpiresAt: null,
    ...over,
  };
}

function intervention(over: Partial<InterventionRecord> = {}): InterventionRecord {
  return {
    id: `appr_${++seq}`,
    expiresAt: null,
    kind: 'approval',
    callId: 'c',
    tool: 't',
    args: {},
    argsHash: null,
    reason: 'r',
    evidence: {},
    requestedAt: NOW - 1000,
    runId: 'run_x',
    agent: 'desk',
    tenant: 'acme',
    status: 'pending',
    decidedAt: null,
    decidedBy: null,
    decisionReason: null,
    ...over,
  };
}

function overview(over: Partial<OverviewInput> = {}) {
  return buildOverview({
    window: '24h',
    now: NOW,
    runs: [],
    interventions: [],
    drift: [],
    ceilingUsd: null,
    cap: 1000,
    truncated: { runs: false, interventions: false },
    ...over,
  });
}

describe('the overview', () => {
  it('cuts a window into aligned buckets, the last one holding now', () => {
    const { from, to, bucketMs } = windowBounds('24h', NOW);
    assert.equal(bucketMs, HOUR);
    assert.equal(to, Date.UTC(2026, 11, 3, 11));
    assert.equal(to - from, 24 * HOUR);
    assert.equal(overview().buckets.length, 24);
    assert.equal(overview({ window: '1h' }).buckets.length, 12);
    assert.equal(overview({ window: '7d' }).buckets.length, 28);
    assert.equal(overview({ window: '30d' }).buckets.length, 30);
  });

  it('gives an empty window zero counts, null percentiles and rates, and no bins', () => {
    const o = overview();
    assert.deepEqual(o.totals, { runs: 0, requests: 0, approvals: 0, escalations: 0 });
    assert.deepEqual(o.runsByStatus, {});
    assert.deepEqual(o.stopReasons, {});
    assert.deepEqual([o.costPerRequest.p50, o.costPerRequest.p99, o.costPerRequest.max], [null, null, null]);
    assert.deepEqual(o.costPerRequest.histogram, []);
    assert.ok(o.costPerRequest.p50ByBucket.every((v) => v === null));
    assert.ok(
      o.per100Runs.approvals.every((v) => v === null),
      'no runs: no rate, rather than a rate of 0',
    );
    assert.deepEqual(o.timeToDecision, { decided: 0, p50: null, p99: null, histogram: [] });
    assert.deepEqual(o.drift, []);
  });

  it('counts one run in the bucket it was created in, and its cost as one request', () => {
    const o = overview({ runs: [run({ costNano: 0.0123 * NANO, status: 'stopped', stopReason: 'max_steps' })], ceilingUsd: 0.05 });
    const stopped = o.runsByStatus.stopped ?? [];
    assert.equal(stopped.length, 24);
    assert.equal(stopped[23], 1);
    assert.equal(
      stopped.reduce((a, b) => a + b, 0),
      1,
    );
    assert.deepEqual(o.stopReasons, { max_steps: 1 });
    assert.equal(o.costPerRequest.p50, 0.0123);
    assert.equal(o.costPerRequest.p99, 0.0123);
    assert.equal(o.costPerRequest.p50ByBucket[23], 0.0123);
    assert.equal(o.costPerRequest.ceilingUsd, 0.05);
    assert.deepEqual(
      o.costPerRequest.histogram.map((b) => b.count).reduce((a, b) => a + b, 0),
      1,
    );
  });

  it('puts a run created exactly at a bucket boundary in the later bucket, and one just before the window nowhere', () => {
    const { from } = windowBounds('24h', NOW);
    const o = overview({
      runs: [run({ createdAt: from }), run({ createdAt: from + HOUR }), run({ createdAt: from + HOUR - 1 }), run({ createdAt: from - 1 })],
    });
    assert.deepEqual(o.runsByStatus.completed?.slice(0, 3), [2, 1, 0]);
    assert.equal(o.totals.runs, 3);
  });

  it("adds child runs' cost to their root's request, and leaves unsettled requests out of the cost", () => {
    const root = run({ runId: 'root', costNano: 0.01 * NANO });
    const child = run({ runId: 'child', parentRunId: 'root', rootRunId: 'root', costNano: 0.02 * NANO, agent: 'helper' });
    const live = run({ runId: 'live', status: 'running', costNano: 0.5 * NANO });
    const o = overview({ runs: [root, child, live] });
    assert.equal(o.costPerRequest.requests, 1);
    assert.equal(o.costPerRequest.p50, 0.03);
    assert.equal(o.totals.runs, 3);
  });

  it('gives approvals and escalations per 100 runs created in the same bucket', () => {
    const runs = [run(), run(), run(), run()];
    const interventions = [intervention(), intervention({ kind: 'escalation' }), intervention({ requestedAt: NOW - 30 * HOUR })];
    const o = overview({ runs, interventions });
    assert.equal(o.per100Runs.approvals[23], 25);
    assert.equal(o.per100Runs.escalations[23], 25);
    assert.equal(o.per100Runs.approvals[22], null);
    assert.equal(o.totals.approvals, 1, 'the one before the window is left out');
  });

  it("measures time to decision for decided approvals only, and marks drift alerts on the window's buckets", () => {
    const interventions = [
      intervention({ status: 'approved', decidedAt: NOW - 1000 + 60_000 }),
      intervention({ status: 'denied', decidedAt: NOW - 1000 + 120_000 }),
      intervention({ status: 'pending' }),
      intervention({ kind: 'escalation', status: 'decided', decidedAt: NOW + 999_999 }),
    ];
    const drift: AgentEventRecord[] = [
      { id: 1, agent: 'desk', type: 'drift.detected', at: NOW - 2 * HOUR, v: 1, data: { dimensions: [{ dimension: 'cost', drifted: true }] } },
      { id: 2, agent: 'desk', type: 'drift.detected', at: NOW - 40 * HOUR, v: 1, data: {} },
    ];
    const o = overview({ interventions, drift });
    assert.deepEqual(o.timeToDecision.decided, 2);
    assert.equal(o.timeToDecision.p50, 60_000);
    assert.equal(o.timeToDecision.p99, 120_000);
    assert.deepEqual(o.drift, [{ at: NOW - 2 * HOUR, bucket: 21, agent: 'desk', dimensions: ['cost'] }]);
  });

  it('says how far back a cut runs listing reaches', () => {
    const o = overview({ runs: [run({ createdAt: NOW - 5 * HOUR }), run()], truncated: { runs: true, interventions: false } });
    assert.equal(o.sample.coveredFrom, NOW - 5 * HOUR);
    assert.equal(overview().sample.coveredFrom, windowBounds('24h', NOW).from);
  });
});

describe('percentiles and histograms', () => {
  it('takes the nearest rank', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
    assert.equal(percentile([1, 2, 3, 4], 99), 4);
  });

  it('bins from zero with a round width, the maximum in the last bin', () => {
    const bins = histogram([0.0011, 0.0017, 0.0173]);
    assert.equal(bins[0]?.from, 0);
    assert.equal(bins[0]?.to, 0.002);
    assert.equal(bins.at(-1)?.to, 0.018);
    assert.equal(bins.at(-1)?.count, 1);
    assert.equal(
      bins.reduce((a, b) => a + b.count, 0),
      3,
    );
    assert.deepEqual(histogram([0, 0]), [{ from: 0, to: 0, count: 2 }]);
    assert.deepEqual(histogram([]), []);
    const waits = histogram([60_000, 180_000], 10, [1000, 15_000, 30_000, 60_000]);
    assert.deepEqual(
      waits.map((b) => b.from),
      [0, 30_000, 60_000, 90_000, 120_000, 150_000, 180_000],
      'time bins are 30 s wide, not 18 s',
    );
    assert.equal(histogram([10 * 86_400_000], 10, [1000, 86_400_000]).at(0)?.to, 86_400_000, 'past the last step: whole multiples of it');
    const edge = histogram([0.01, 0.02]);
    assert.equal(edge.at(-1)?.count, 1, 'a value on a bin edge goes in the bin it starts');
  });
});
