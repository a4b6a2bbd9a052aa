import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import newsroom from '../examples/newsroom.ts';
import { spawnSync } from 'node:child_process';
import fromAiSdk from '../examples/migrating/from-ai-sdk.ts';
import fromAgentsSdk from '../examples/migrating/from-openai-agents.ts';
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

describe('the migration examples', () => {
  it('runs the AI SDK tool loop, moved to Warden', async () => {
    const { warden } = testWarden();
    const result = await warden.run(fromAiSdk, 'Where is order 1042?');
    assert.equal(result.status, 'completed');
    assert.equal(result.toolCalls[0]?.tier, 'read');
  });

  it('runs the Agents SDK handoff as a delegate, parking on the refund until a person approves', async () => {
    const { warden } = testWarden();
    const parked = await warden.run(fromAgentsSdk, 'Refund order 7, it never came');
    assert.equal(parked.status, 'waiting_approval');
    await warden.approve(parked.pending!.id, { by: 'ana' });
    const done = await warden.execute(fromAgentsSdk, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(done.output, 'Billing refunded order 7.');
  });
});

describe('the embedded service example', () => {
  it('submits a request over HTTP and streams events to a subscriber', () => {
    const out = spawnSync(process.execPath, ['--conditions=warden-source', 'examples/services/embedded-service.ts', '--once'], {
      encoding: 'utf8',
      env: { ...process.env, PORT: '0' },
      timeout: 30_000,
    });
    assert.equal(out.status, 0, out.stderr);
    const { answer, events } = JSON.parse(out.stdout.trim().split('\n').at(-1)!);
    assert.equal(answer.status, 'waiting_approval');
    assert.ok(events > 5);
  });
});

describe('the support desk example tells the truth', () => {
  it('refunds a small order without a person, and says a denied refund was not made', async () => {
    const { default: desk } = await import('../examples/support-desk.ts');
    const { createSqliteStore, createWarden } = await import('../src/index.ts');
    const warden = createWarden({ store: createSqliteStore({ path: ':memory:' }) });
    const small = await warden.run(desk, 'Refund order 2001');
    assert.equal(small.status, 'completed');
    assert.equal(small.output, 'I have refunded $40 for order 2001. It will reach your card in 3-5 days.');
    assert.ok(!small.toolCalls.some((c) => c.status === 'pending_approval'));

    const big = await warden.run(desk, 'Refund order 1042, it arrived broken');
    assert.equal(big.status, 'waiting_approval');
    await warden.deny(big.pending!.id, { by: 'ana', reason: 'no photo of the damage' });
    const denied = await warden.execute(desk, big.runId);
    assert.equal(denied.status, 'completed');
    assert.match(denied.output ?? '', /^I could not refund order 1042: Denied by ana: no photo of the damage\./);
    assert.doesNotMatch(denied.output ?? '', /I have refunded/);
  });
});

describe('the streaming example', () => {
  it("prints the model's text as it streams, then the run's status", () => {
    const out = spawnSync(process.execPath, ['--conditions=warden-source', 'examples/services/streaming.ts'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(out.status, 0, out.stderr);
    const [streamed, summary, again] = out.stdout.split('\n');
    assert.equal(streamed, 'Let me look up order 1042. Order 1042 shipped on Monday and should reach you by Thursday.');
    assert.match(summary ?? '', /^\[completed, 2 steps, \$0\.0000\d+\]$/);
    assert.equal(again, 'LET ME LOOK UP ORDER 1042. Order 1042 shipped on Monday and should reach you by Thursday.');
  });
});
