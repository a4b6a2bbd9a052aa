import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../../test/helpers.ts';
import { createMetrics } from './metrics.ts';

/** The value of one sample in Prometheus text, matched by name and every given label. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

const refundTurns = [
  { toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }], usage: { inputTokens: 100, outputTokens: 20 } },
  { toolCalls: [{ tool: 'refund', args: { orderId: '1042', amount: 250 } }], usage: { inputTokens: 150, outputTokens: 30 } },
  { text: 'Refunded.', usage: { inputTokens: 200, outputTokens: 5 } },
];

describe('Prometheus metrics from committed events', () => {
  it('counts an approval nobody decided in time as expired, denied or escalated, and no longer pending', async () => {
    const clock = { now: 1_800_000_000_000 };
    const { warden, store } = testWarden(':memory:', { now: () => clock.now });
    const metrics = createMetrics({ store });
    metrics.attach(warden);
    const agent = scriptedAgent(refundTurns, supportTools(new SideEffects()), { policy: { approvalTimeoutMs: 60_000 } });
    const parked = await warden.run(agent, 'refund 1042');
    assert.equal(parked.status, 'waiting_approval');
    clock.now += 60_000;
    assert.equal((await warden.expireApprovals()).length, 1);
    const text = await metrics.text();
    assert.equal(sample(text, 'warden_approvals_decided_total', { decision: 'expired_denied' }), 1);
    assert.equal(sample(text, 'warden_approvals_pending', { kind: 'approval' }), 0);
  });

  it('counts runs, steps, tool calls by tier and decision, approvals, spend and tokens', async () => {
    const { warden, store } = testWarden();
    const metrics = createMetrics({ store });
    metrics.attach(warden);
    const agent = scriptedAgent(refundTurns, supportTools(new SideEffects()));

    const parked = await warden.run(agent, 'refund 1042');
    assert.equal(parked.status, 'waiting_approval');
    let text = await metrics.text();
    assert.equal(sample(text, 'warden_approvals_pending', { kind: 'approval' }), 1);
    assert.equal(sample(text, 'warden_runs_parked_total', { agent: 'test-agent', kind: 'approval' }), 1);
    assert.equal(sample(text, 'warden_tool_calls_total', { tool: 'refund', tier: 'write', decision: 'approve' }), 1);
    assert.equal(sample(text, 'warden_tool_calls_total', { tool: 'lookup_order', tier: 'read', decision: 'allow' }), 1);

    await warden.approve(parked.pending!.id, { by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    text = await metrics.text();
    assert.equal(sample(text, 'warden_approvals_pending', { kind: 'approval' }), 0);
    assert.equal(sample(text, 'warden_approvals_decided_total', { decision: 'approved' }), 1);
    assert.equal(sample(text, 'warden_runs_total', { agent: 'test-agent', status: 'completed', stop_reason: '' }), 1);
    assert.equal(sample(text, 'warden_steps_total', { agent: 'test-agent' }), 3);
    assert.equal(sample(text, 'warden_tool_executions_total', { tool: 'refund', outcome: 'succeeded' }), 1);
    assert.equal(sample(text, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: 'input' }), 450);
    assert.equal(sample(text, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: 'output' }), 55);
    assert.equal(sample(text, 'warden_step_duration_seconds_count', { kind: 'model' }), 3);
    const spent = sample(text, 'warden_spend_usd_total', { agent: 'test-agent' })!;
    assert.ok(Math.abs(spent - done.costUsd) < 1e-12, `spend ${spent} vs run cost ${done.costUsd}`);
  });

  it('counts stops by reason and retries by cause', async () => {
    const { warden } = testWarden();
    const metrics = createMetrics();
    metrics.attach(warden);
    const agent = scriptedAgent(
      [{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '1' } }], error: { status: 429, times: 1 } }],
      supportTools(new SideEffects()),
    );
    const result = await warden.run(agent, 'loop');
    assert.equal(result.stopReason, 'loop_detected');
    const text = await metrics.text();
    assert.equal(sample(text, 'warden_runs_total', { status: 'stopped', stop_reason: 'loop_detected' }), 1);
    assert.equal(sample(text, 'warden_limit_hits_total', { limit: 'loop_detected' }), 1);
    // The script repeats its last turn, 429 included: every step's first attempt is retried once.
    assert.ok(result.retries >= 1);
    assert.equal(sample(text, 'warden_retries_total', { kind: 'model', cause: 'rate_limited' }), result.retries);
    assert.equal(sample(text, 'warden_model_calls_total', { outcome: 'rate_limited' }), result.retries);
  });

  it('exposes gauges the scheduler sets: breaker state and queue depth', async () => {
    const metrics = createMetrics();
    metrics.setBreakerState('openai', 'open');
    metrics.setQueueDepth('default', 17);
    const text = await metrics.text();
    assert.equal(sample(text, 'warden_breaker_state', { breaker: 'openai' }), 2);
    assert.equal(sample(text, 'warden_queue_depth', { queue: 'default' }), 17);
    assert.match(metrics.contentType, /text\/plain/);
  });
});
