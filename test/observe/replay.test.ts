import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool } from '../../src/agent/tool.ts';
import { exportRun, readRunExport, replayMany, replayRun, formatReplayReport } from '../../src/observe/replay/index.ts';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../helpers.ts';
import { isWardenError } from '../../src/core/errors.ts';

const refundTurns = (amount: number) => [
  { toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }], confidence: 0.8 },
  { toolCalls: [{ tool: 'refund', args: { orderId: '1042', amount } }] },
  { text: `Refunded $${amount}.` },
];

/** Records a refund run that a person approves, with a model 429 and a flaky lookup on the way. */
async function recordApprovedRefund() {
  const { warden, store } = testWarden();
  const effects = new SideEffects();
  let lookups = 0;
  const flaky = defineTool({
    name: 'lookup_order',
    description: 'Find an order',
    tier: 'read',
    idempotent: true,
    input: z.object({ orderId: z.string() }),
    execute: ({ orderId }) => {
      if (++lookups === 1) throw new Error('orders DB timed out');
      return { id: orderId, total: 250 };
    },
  });
  const tools = [flaky, ...supportTools(effects).slice(1)];
  const [lookup, refund, reply] = refundTurns(250);
  assert.ok(lookup && refund && reply);
  const agent = scriptedAgent([lookup, { ...refund, error: { status: 429, retryAfterMs: 10 } }, reply], tools);
  const parked = await warden.run(agent, 'refund 1042');
  await warden.approve(parked.pending!.id, { by: 'ana', reason: 'receipt checked' });
  const done = await warden.execute(agent, parked.runId);
  assert.equal(done.status, 'completed');
  return { store, agent, runId: done.runId, tools };
}

describe('deterministic replay', () => {
  it('reproduces a run step for step: retries, an approval and the answer', async () => {
    const { store, agent, runId } = await recordApprovedRefund();
    const report = await replayRun(await store.loadEvents(runId), { agent });
    assert.equal(report.identical, true, formatReplayReport(report));
    assert.equal(report.identicalSteps, 3);
    assert.equal(report.replayed.status, 'completed');
    assert.equal(report.replayed.costUsd, report.recorded.costUsd);
    assert.match(formatReplayReport(report), /^reproduced: 3 steps identical/);
  });

  it('replays an exported run from its JSON document, and refuses a damaged one', async () => {
    const { store, agent, runId } = await recordApprovedRefund();
    const text = JSON.stringify(await exportRun(store, runId));
    const doc = readRunExport(text, 'run.json');
    assert.equal(doc.version, 1);
    const report = await replayRun(doc.events, { agent });
    assert.equal(report.identical, true);
    const broken = JSON.parse(text);
    broken.events.splice(3, 1);
    assert.throws(
      () => readRunExport(JSON.stringify(broken), 'run.json'),
      (e) => isWardenError(e, 'INVALID_ARGUMENT') && /expected seq 4/.test(e.message),
    );
    assert.throws(
      () => readRunExport('{"hello":1}', 'x.json'),
      (e) => isWardenError(e, 'INVALID_ARGUMENT') && /not a Warden run export/.test(e.message),
    );
  });

  it('reproduces a tool timeout and a loop stop', async () => {
    const { warden, store } = testWarden();
    const slow = defineTool({
      name: 'slow_lookup',
      description: 'Sometimes hangs',
      tier: 'read',
      idempotent: true,
      retries: 1,
      timeoutMs: 30,
      input: z.object({ id: z.string() }),
      execute: async ({ id }, ctx) => (ctx.attempt === 1 ? new Promise(() => {}) : { id, status: 'open' }),
    });
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'slow_lookup', args: { id: 'T-1' } }] }], [slow]);
    const recorded = await warden.run(agent, 'check T-1 until closed');
    assert.equal(recorded.stopReason, 'loop_detected');
    const report = await replayRun(await store.loadEvents(recorded.runId), { agent });
    assert.equal(report.identical, true, formatReplayReport(report));
    assert.equal(report.replayed.stopReason, 'loop_detected');
  });

  it('reports the first divergence when the agent changed since the run', async () => {
    const { store, runId, tools } = await recordApprovedRefund();
    const stricter = scriptedAgent(refundTurns(250), tools, {
      policy: { rules: [{ name: 'no-refunds', tools: ['refund'], decision: 'deny', reason: 'refunds are paused' }] },
    });
    const report = await replayRun(await store.loadEvents(runId), { agent: stricter });
    assert.equal(report.identical, false);
    assert.equal(report.divergence?.kind, 'now_denied');
    assert.equal(report.divergence?.step, 2);
    assert.equal(report.identicalSteps, 1);
    assert.match(formatReplayReport(report), /diverged at step 2: a call is now denied/);
  });
});

describe('what-if replay', () => {
  async function recordSmallRefund() {
    const { warden, store } = testWarden();
    const tools = supportTools(new SideEffects());
    const agent = scriptedAgent(refundTurns(50), tools);
    const done = await warden.run(agent, 'refund 1042 by 50');
    assert.equal(done.status, 'completed');
    return { store, tools, runId: done.runId };
  }

  it('reports a call that would now wait for approval, and does not run it', async () => {
    const { store, tools, runId } = await recordSmallRefund();
    const careful = scriptedAgent(refundTurns(50), tools, { policy: { rules: [{ name: 'all-refunds-approved', tools: ['refund'], decision: 'approve' }] } });
    const report = await replayRun(await store.loadEvents(runId), { agent: careful, mode: 'what-if' });
    assert.equal(report.divergence?.kind, 'would_wait_for_approval');
    assert.equal(report.replayed.status, 'waiting_approval');
    assert.equal(report.waitingFor?.tool, 'refund');
    assert.ok(report.notes.some((n) => /Would wait for approval: refund/.test(n)));
  });

  it('reports a ceiling now hit and a loop now caught', async () => {
    const { store, tools, runId } = await recordSmallRefund();
    const cheap = scriptedAgent(refundTurns(50), tools, { limits: { maxCostUsd: 0.0001 } });
    const ceiling = await replayRun(await store.loadEvents(runId), { agent: cheap, mode: 'what-if' });
    assert.equal(ceiling.divergence?.kind, 'ceiling_hit', formatReplayReport(ceiling));
    assert.equal(ceiling.replayed.stopReason, 'cost_ceiling');

    const { warden, store: loopStore } = testWarden();
    const looping = scriptedAgent([{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '9' } }] }], tools, {
      loopDetection: { repeats: 50, noProgressSteps: 50 },
    });
    const loop = await warden.run(looping, 'loop');
    assert.equal(loop.stopReason, 'max_steps');
    const tight = scriptedAgent([{ text: 'unused' }], tools);
    const caught = await replayRun(await loopStore.loadEvents(loop.runId), { agent: tight, mode: 'what-if' });
    assert.equal(caught.divergence?.kind, 'loop_caught');
    assert.equal(caught.replayed.stopReason, 'loop_detected');
    assert.ok(caught.replayed.steps < loop.steps);
  });

  it('summarises many runs under a new policy', async () => {
    const { warden, store } = testWarden();
    const tools = supportTools(new SideEffects());
    for (const amount of [20, 40, 60]) await warden.run(scriptedAgent(refundTurns(amount), tools), `refund ${amount}`);
    await warden.run(scriptedAgent([{ text: 'Hello!' }], tools), 'hi');
    const strict = scriptedAgent([{ text: 'unused' }], tools, {
      policy: { rules: [{ name: 'big', tools: ['refund'], when: (a: { amount: number }) => a.amount > 30, decision: 'deny' }] },
    });
    const summary = await replayMany({ store, agentFor: async () => strict, mode: 'what-if', agentName: 'test-agent' });
    assert.equal(summary.runs, 4);
    assert.equal(summary.identical, 2);
    assert.equal(summary.differing, 2);
    assert.equal(summary.byKind.now_denied, 2);
  });
});
