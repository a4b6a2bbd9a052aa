import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/model/seeded-random.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { checkDrift, DRIFT_EVENT, formatDriftReport, raiseDriftAlerts } from '../../src/observe/drift/index.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { scriptedAgent, SideEffects, supportTools } from '../helpers.ts';

const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 1);

/**
 * A simulated support agent seen over `days` days: each run looks an order up and, with
 * probability `refundRate(day)`, refunds it; its prompts grow by `costFactor(day)`.
 */
async function simulate(days: number, runsPerDay: number, refundRate: (day: number) => number, costFactor: (day: number) => number, seed: number) {
  const store = createSqliteStore({ path: ':memory:' });
  let t = START;
  const warden = createWarden({ store, now: () => t, sleep: async () => {} });
  const tools = supportTools(new SideEffects());
  const random = seededRandom(seed);
  for (let day = 0; day < days; day++) {
    for (let i = 0; i < runsPerDay; i++) {
      t = START + day * DAY + Math.floor((i * DAY) / runsPerDay);
      const tokens = Math.round((200 + random() * 600) * costFactor(day));
      const turns = [
        { toolCalls: [{ tool: 'lookup_order', args: { orderId: String(i) } }], usage: { inputTokens: tokens, outputTokens: 30 } },
        ...(random() < refundRate(day)
          ? [{ toolCalls: [{ tool: 'refund', args: { orderId: String(i), amount: 40 } }], usage: { inputTokens: tokens, outputTokens: 30 } }]
          : []),
        { text: 'Done.', usage: { inputTokens: tokens, outputTokens: 10 } },
      ];
      const result = await warden.run(scriptedAgent(turns, tools), `order ${i}`);
      assert.equal(result.status, 'completed');
    }
  }
  return store;
}

describe('drift alerts', () => {
  it('fires when an agent starts refunding most orders and its prompts triple', async () => {
    const store = await simulate(
      11,
      60,
      (d) => (d < 10 ? 0.1 : 0.8),
      (d) => (d < 10 ? 1 : 3),
      7,
    );
    const metrics = createMetrics();
    const [report] = await checkDrift(store, { agent: 'test-agent', now: START + 11 * DAY });
    assert.ok(report);
    assert.equal(report.status, 'drift', formatDriftReport(report));
    const byName = Object.fromEntries(report.dimensions.map((d) => [d.dimension, d]));
    assert.equal(byName.tool_mix?.drifted, true);
    assert.equal(byName.cost?.drifted, true);
    assert.equal(byName.outcome?.drifted, false);
    assert.match(byName.tool_mix?.detail ?? '', /refund/);

    const raised = await raiseDriftAlerts(store, [report], metrics);
    assert.equal(raised.length, 1);
    const [record] = await store.listAgentEvents!({ agent: 'test-agent', type: DRIFT_EVENT });
    assert.ok(record);
    assert.equal(record.at, START + 11 * DAY);
    assert.deepEqual((record.data.dimensions as { dimension: string }[]).map((d) => d.dimension).sort(), ['cost', 'steps', 'tool_mix']);
    assert.equal((await raiseDriftAlerts(store, [report], metrics)).length, 0, 'one alert per recent window');
    const text = await metrics.text();
    assert.match(text, /warden_drift_alerts_total\{agent="test-agent",dimension="tool_mix"\} 1/);
    assert.match(text, /warden_drift_score\{agent="test-agent",dimension="tool_mix"\} 0\.\d+/);
  });

  it('raises nothing for a stable agent checked every day for three weeks', async () => {
    const store = await simulate(
      28,
      40,
      () => 0.3,
      () => 1,
      11,
    );
    let checks = 0;
    for (let day = 8; day <= 28; day++) {
      const [report] = await checkDrift(store, { agent: 'test-agent', now: START + day * DAY });
      assert.ok(report);
      assert.notEqual(report.status, 'insufficient_data');
      assert.equal(report.status, 'ok', `day ${day}:\n${formatDriftReport(report)}`);
      assert.equal((await raiseDriftAlerts(store, [report])).length, 0);
      checks++;
    }
    assert.equal(checks, 21);
    assert.equal((await store.listAgentEvents!({ type: DRIFT_EVENT })).length, 0);
  });

  it('gives no verdict on too few runs', async () => {
    const store = await simulate(
      2,
      10,
      () => 0.3,
      () => 1,
      3,
    );
    const [report] = await checkDrift(store, { agent: 'test-agent', now: START + 2 * DAY });
    assert.equal(report?.status, 'insufficient_data');
  });
});
