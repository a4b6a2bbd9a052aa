import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import newsroom from '../examples/newsroom.ts';
import { testWarden } from './helpers.ts';

describe('the newsroom example (plan mode, sub-agents, confidence gate)', () => {
  it('verifies the plan, runs the researcher then the writer as child runs, and completes within one ceiling', async () => {
    const { warden, store } = testWarden();
    const result = await warden.run(newsroom, 'Write a short note on why checkouts fail');
    assert.equal(result.status, 'completed', result.stopDetail ?? '');
    const events = await warden.events(result.runId);
    assert.equal(events.filter((e) => e.type === 'plan.verified').length, 1);
    const steps = events.filter((e) => e.type === 'step.assessed').map((e) => e.type === 'step.assessed' && e.data.planStep);
    assert.deepEqual(steps, ['research', 'write', null]);
    const tree = await store.listRuns({ rootRunId: result.runId });
    assert.deepEqual(tree.map((r) => r.agent).sort(), ['editor', 'researcher', 'writer']);
    assert.ok(tree.every((r) => r.status === 'completed'));
    assert.ok(result.requestCostUsd! > result.costUsd && result.requestCostUsd! <= result.ceilingUsd);
  });
});
