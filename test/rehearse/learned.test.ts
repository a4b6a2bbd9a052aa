import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import supportDesk from '../../examples/support-desk.ts';
import strict from '../../examples/what-if/support-desk-strict.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { compareRehearsals } from '../../src/rehearse/compare.ts';
import { learnBehaviour } from '../../src/rehearse/learn.ts';
import { behaviourFigures } from '../../src/rehearse/learned-figures.ts';
import { loadLearnedModel, saveLearnedModel, type LearnedModel } from '../../src/rehearse/learned-model.ts';
import { rehearse } from '../../src/rehearse/rehearsal.ts';
import { tempDir } from '../helpers.ts';
import { PILOT_APPROVES, PILOT_MIX, recordPilot } from './pilot.ts';

const dir = tempDir();
let fitted: Promise<LearnedModel> | undefined;
/** 300 recorded pilot runs of the support desk, learned once for the whole file. */
function model(): Promise<LearnedModel> {
  fitted ??= recordPilot({ runs: 300, seed: 3, db: join(dir, 'pilot.db') }).then((logs) => learnBehaviour(logs, { agent: supportDesk, description: 'pilot' }));
  return fitted;
}

const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: rehearsed ${actual}, recorded ${expected} (tolerance ${tolerance})`);
const rel = (actual: number, expected: number, share: number, what: string) => near(actual, expected, Math.abs(expected) * share, what);

describe('a behaviour model learned from recorded runs', () => {
  it('learns what the pilot did: its mix of first actions, its transitions, its failures and its people', async () => {
    const m = await model();
    const start = m.transitions.start ?? {};
    const questions = PILOT_MIX.find(([input]) => !/\d/.test(input))?.[1] ?? 0;
    near((start.final ?? 0) / m.source.runs, questions, 0.06, 'share answered without a tool');
    assert.deepEqual(Object.keys(m.transitions.submit_plan ?? {}), ['lookup_order']);
    // Order 3333 does not exist: its lookups fail every time, the others never.
    const lookups = m.tools.lookup_order!;
    const i3333 = lookups.args.findIndex((a) => (a as { orderId: string }).orderId === '3333');
    assert.equal(lookups.argsFailureRate[i3333], 1);
    assert.equal(lookups.argsFailureRate[lookups.args.findIndex((a) => (a as { orderId: string }).orderId === '2001')], 0);
    near(m.people.approvedShare, PILOT_APPROVES, 0.08, 'approved share');
  });

  it('rehearses the recorded distributions back within stated tolerances', async () => {
    const m = await model();
    const outcome = await rehearse({ agent: supportDesk, learned: m, requests: 1200, seed: 5 });
    const got = behaviourFigures(outcome.runs);
    const want = m.observed;
    near(got.status.completed ?? 0, want.status.completed ?? 0, 0.03, 'completed share'); // ±3 points
    rel(got.stepsPerRun.mean, want.stepsPerRun.mean, 0.05, 'steps per run'); // ±5%
    assert.equal(got.stepsPerRun.p99, want.stepsPerRun.p99, 'steps per run p99');
    for (const tool of Object.keys(want.toolCallsPerRun)) near(got.toolCallsPerRun[tool] ?? 0, want.toolCallsPerRun[tool] ?? 0, 0.05, `${tool} per run`);
    rel(got.inputTokensPerStep, want.inputTokensPerStep, 0.05, 'input tokens per step');
    rel(got.outputTokensPerStep, want.outputTokensPerStep, 0.05, 'output tokens per step');
    rel(got.costUsd.mean, want.costUsd.mean, 0.08, 'mean cost');
    rel(got.costUsd.p50, want.costUsd.p50, 0.05, 'cost p50');
    rel(got.activeMs.p50, want.activeMs.p50, 0.15, 'active time p50');
    rel(got.activeMs.p99, want.activeMs.p99, 0.25, 'active time p99');
    near(got.approvalsPer1000, want.approvalsPer1000, 40, 'approvals per 1,000');
    near(got.escalationsPer1000, want.escalationsPer1000, 20, 'escalations per 1,000');
    near(got.approvedShare, want.approvedShare, 0.06, 'approved share');
    near(got.modelErrorsPer1000, want.modelErrorsPer1000, 12, 'model errors per 1,000 calls');
    near(got.toolFailuresPer1000, want.toolFailuresPer1000, 40, 'tool failures per 1,000 attempts');
    near(got.meanConfidence, want.meanConfidence, 0.01, 'mean confidence');
  });

  it('saves a versioned, readable file that rehearses the same, and refuses a damaged or newer one with a typed error', async () => {
    const m = await model();
    const path = join(dir, 'model.json');
    saveLearnedModel(path, m);
    const loaded = loadLearnedModel(path);
    assert.deepEqual(loaded, m);
    const a = await rehearse({ agent: supportDesk, learned: m, requests: 60, seed: 2 });
    const b = await rehearse({ agent: supportDesk, learned: loaded, requests: 60, seed: 2 });
    assert.deepEqual(behaviourFigures(a.runs), behaviourFigures(b.runs));
    const broken = (name: string, doc: unknown, message: RegExp) => {
      const file = join(dir, name);
      writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
      assert.throws(
        () => loadLearnedModel(file),
        (e) => isWardenError(e) && e.code === 'INVALID_CONFIG' && message.test(e.message),
      );
    };
    broken('newer.json', { ...m, schemaVersion: 2 }, /schemaVersion 2; this Warden reads schemaVersion 1/);
    broken('other.json', { format: 'warden.run-export' }, /not a learned behaviour model/);
    broken('rates.json', { ...m, tools: { ...m.tools, refund: { ...m.tools.refund, failureRate: 3 } } }, /tools\.refund\.failureRate/);
    broken('cut.json', JSON.stringify(m).slice(0, 500), /not valid JSON/);
  });

  it('--compare on the strict variant shows the expected direction of every change, with its significance', async () => {
    const m = await model();
    const before = await rehearse({ agent: supportDesk, learned: m, requests: 600, seed: 9 });
    const after = await rehearse({ agent: strict, learned: m, requests: 600, seed: 9 });
    const c = compareRehearsals(before, after, 10_000);
    const row = (name: string) => c.rows.find((r) => r.metric.startsWith(name)) ?? assert.fail(`no row ${name}`);
    // Refunds above $200 are denied outright: no approval asked for them, a policy denial instead, fewer refunds paid.
    assert.ok(row('approvals per 1,000').difference < 0 && row('approvals per 1,000').significant);
    assert.ok(row('denied by policy per 1,000').difference > 0 && row('denied by policy per 1,000').significant);
    assert.ok(row('projected daily cost').difference < 0 && row('projected daily cost').significant);
    // The ceiling is halved: less headroom over the p99 cost.
    assert.ok(row('ceiling headroom').difference < 0 && row('ceiling headroom').significant);
    assert.equal(row('loops caught per 1,000').difference, 0);
    assert.ok(!row('loops caught per 1,000').significant);
  });
});
