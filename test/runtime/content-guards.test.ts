import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool } from '../../src/agent/tool.ts';
import type { ContentGuard } from '../../src/agent/content-guard.ts';
import { cardNumberGuard, emailGuard, REDACTED, secretsGuard } from '../../src/guard/builtin-guards.ts';
import { replayRun } from '../../src/observe/replay/replay-run.ts';
import { explainEvent } from '../../src/observe/explain.ts';
import { GUARD_WITHHELD } from '../../src/runtime/guard-step.ts';
import { scriptedAgent, testWarden } from '../helpers.ts';

// Made-up values of real shapes: a GitHub token secretlint recognises, a Visa test number.
const TOKEN = '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';
const CARD = '4111 1111 1111 1111';

const readConfig = defineTool({
  name: 'read_config',
  description: 'Read the service config',
  tier: 'read',
  idempotent: true,
  input: z.object({}),
  execute: () => ({ service: 'billing', apiKey: TOKEN, owner: 'ops@example.com' }),
});
const call = { toolCalls: [{ tool: 'read_config', args: {} }] };

/** Every byte the store holds for the run, as one string to grep. */
async function stored(warden: ReturnType<typeof testWarden>['warden'], runId: string): Promise<string> {
  return JSON.stringify(await warden.events(runId));
}

describe('content guards', () => {
  it('redacts a secret in a tool result: neither the model nor the log ever sees it', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent([call, { text: 'The billing config is fine.' }], [readConfig], { guards: { toolResult: [secretsGuard(), emailGuard()] } });
    const result = await warden.run(agent, 'check the config');
    assert.equal(result.status, 'completed');
    const log = await stored(warden, result.runId);
    assert.doesNotMatch(log, /ghp_/, 'the token is not in the log');
    assert.doesNotMatch(log, /ops@example\.com/, 'the address is not in the log');
    const events = await warden.events(result.runId);
    const ok = events.find((e) => e.type === 'tool.succeeded');
    assert.deepEqual(ok?.type === 'tool.succeeded' && ok.data.result, { service: 'billing', apiKey: REDACTED.secret, owner: REDACTED.email });
    const decided = events.filter((e) => e.type === 'guard.decided');
    assert.deepEqual(
      decided.map((e) => e.type === 'guard.decided' && `${e.data.stage} ${e.data.guard} ${e.data.verdict} ${e.data.callId}`),
      ['toolResult secrets redact call_0_0', 'toolResult email redact call_0_0'],
    );
    // What the model was given for its next turn: the conversation is folded from the log.
    const second = events.filter((e) => e.type === 'model.called')[1];
    assert.ok(second, 'the model answered after the redacted result');
    assert.match(explainEvent(decided[0] as never) ?? '', /Guard "secrets" redacted a tool result \(call_0_0\)/);
  });

  it('redacts email addresses and card numbers in the request before it is written', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent([{ text: 'ok' }], [], { guards: { input: [emailGuard(), cardNumberGuard()] } });
    const result = await warden.run(agent, `I am ana@example.com, my card is ${CARD}`);
    assert.equal(result.status, 'completed');
    const log = await stored(warden, result.runId);
    assert.doesNotMatch(log, /ana@example\.com|4111/);
    const events = await warden.events(result.runId);
    assert.equal(events[0]?.type === 'run.submitted' && events[0].data.input, `I am ${REDACTED.email}, my card is ${REDACTED.card}`);
    assert.equal(events.filter((e) => e.type === 'guard.decided' && e.data.stage === 'input').length, 2);
  });

  it('redacts the final answer in the log, model.called included', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent([{ text: `Charge it to ${CARD}.` }], [], { guards: { output: [cardNumberGuard()] } });
    const result = await warden.run(agent, 'pay');
    assert.equal(result.status, 'completed');
    assert.equal(result.output, `Charge it to ${REDACTED.card}.`);
    assert.doesNotMatch(await stored(warden, result.runId), /4111/);
  });

  it('blocks a request: the run stops with guard_blocked and the request is withheld from the log', async () => {
    const { warden } = testWarden();
    const noCards: ContentGuard<string> = {
      name: 'no-cards',
      check: (t) => (t.includes('4111') ? { action: 'block', reason: 'card data' } : { action: 'allow' }),
    };
    const agent = scriptedAgent([{ text: 'ok' }], [], { guards: { input: [noCards] } });
    const result = await warden.run(agent, `card ${CARD}`);
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'guard_blocked');
    const events = await warden.events(result.runId);
    assert.equal(events[0]?.type === 'run.submitted' && events[0].data.input, GUARD_WITHHELD);
    assert.ok(!events.some((e) => e.type === 'model.called'), 'the model was never called');
    assert.doesNotMatch(JSON.stringify(events), /4111/);
  });

  it('blocks a final answer: withheld from the log, stopped with guard_blocked', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent([{ text: `Here is the key: ${TOKEN}` }], [], { guards: { output: [secretsGuard({ action: 'block' })] } });
    const result = await warden.run(agent, 'give me the key');
    assert.equal(result.stopReason, 'guard_blocked');
    assert.equal(result.output ?? null, null);
    assert.doesNotMatch(await stored(warden, result.runId), /ghp_/);
  });

  it('blocks a tool result: the call fails with GUARD_BLOCKED, the run stops, the value is never stored', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent([call, { text: 'never' }], [readConfig], { guards: { toolResult: [secretsGuard({ action: 'block' })] } });
    const result = await warden.run(agent, 'go');
    assert.equal(result.stopReason, 'guard_blocked');
    const events = await warden.events(result.runId);
    const failed = events.find((e) => e.type === 'tool.failed');
    assert.equal(failed?.type === 'tool.failed' && failed.data.error.code, 'GUARD_BLOCKED');
    assert.doesNotMatch(JSON.stringify(events), /ghp_|ops@example/);
    assert.equal(events.filter((e) => e.type === 'model.called').length, 1, 'the model never saw the result');
  });

  for (const [why, check] of [
    [
      'throws',
      () => {
        throw new Error('detector down');
      },
    ],
    ['rejects', () => Promise.reject(new Error('detector down'))],
    ['never answers', () => new Promise(() => {})],
  ] as [string, ContentGuard['check']][]) {
    it(`fails closed when a guard ${why}: the result is blocked and never stored`, async () => {
      const { warden } = testWarden();
      const agent = scriptedAgent([call, { text: 'never' }], [readConfig], { guards: { toolResult: [{ name: 'flaky', check }], timeoutMs: 30 } });
      const result = await warden.run(agent, 'go');
      assert.equal(result.stopReason, 'guard_blocked');
      const events = await warden.events(result.runId);
      const decided = events.find((e) => e.type === 'guard.decided');
      assert.match(decided?.type === 'guard.decided' ? decided.data.reason : '', /failed closed/);
      assert.doesNotMatch(JSON.stringify(events), /ghp_/);
    });
  }

  it('escalates a final answer to a person, who approves it', async () => {
    const { warden } = testWarden();
    const legal: ContentGuard<string> = {
      name: 'legal',
      check: (t) => (/lawsuit/.test(t) ? { action: 'escalate', reason: 'mentions legal action' } : { action: 'allow' }),
    };
    const agent = scriptedAgent([{ text: 'We will not face a lawsuit.' }], [], { guards: { output: [legal] } });
    const parked = await warden.run(agent, 'are we ok?');
    assert.equal(parked.status, 'escalated');
    const pending = parked.pending;
    assert.ok(pending);
    await warden.decideEscalation(pending.id, { decision: 'approve', by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(done.output, 'We will not face a lawsuit.');
  });

  it('escalates a request once: after a person approves, the run goes on', async () => {
    const { warden } = testWarden();
    const vip: ContentGuard<string> = { name: 'vip', check: (t) => (t.includes('CEO') ? { action: 'escalate', reason: 'VIP request' } : { action: 'allow' }) };
    const agent = scriptedAgent([{ text: 'done' }], [], { guards: { input: [vip] } });
    const parked = await warden.run(agent, 'the CEO asks for a refund');
    assert.equal(parked.status, 'escalated');
    assert.ok(!(await warden.events(parked.runId)).some((e) => e.type === 'model.called'));
    await warden.decideEscalation(parked.pending?.id ?? '', { decision: 'approve', by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
  });

  it('escalates a tool result: the model sees it only after a person approves; stop cancels the run', async () => {
    const { warden } = testWarden();
    const review: ContentGuard = { name: 'review', check: () => ({ action: 'escalate', reason: 'a person reviews configs' }) };
    const agent = scriptedAgent([call, { text: 'done' }], [readConfig], { guards: { toolResult: [review] } });
    const parked = await warden.run(agent, 'go');
    assert.equal(parked.status, 'escalated');
    assert.equal((await warden.events(parked.runId)).filter((e) => e.type === 'model.called').length, 1);
    await assert.rejects(warden.decideEscalation(parked.pending?.id ?? '', { decision: 'edit', args: {}, by: 'ana' }), /content guard/);
    await warden.decideEscalation(parked.pending?.id ?? '', { decision: 'stop', by: 'ana' });
    assert.equal((await warden.execute(agent, parked.runId)).status, 'cancelled');
  });

  it('replays a guarded run faithfully: redacted, blocked and clean runs end the same way offline', async () => {
    const { warden } = testWarden();
    const agents = [
      scriptedAgent([call, { text: 'fine' }], [readConfig], { guards: { toolResult: [secretsGuard(), emailGuard()] } }),
      scriptedAgent([call, { text: 'never' }], [readConfig], { guards: { toolResult: [secretsGuard({ action: 'block' })] } }),
      scriptedAgent([{ text: `key ${TOKEN}` }], [], { guards: { output: [secretsGuard({ action: 'block' })] } }),
      scriptedAgent([{ text: 'ok' }], [], { guards: { input: [{ name: 'no', check: () => ({ action: 'block', reason: 'no' }) }] } }),
    ];
    for (const agent of agents) {
      const live = await warden.run(agent, 'go');
      const report = await replayRun(await warden.events(live.runId), { agent });
      assert.equal(report.identical, true, `${live.stopReason ?? live.status}: ${JSON.stringify(report.divergence)}`);
      assert.equal(report.replayed.status, live.status);
      assert.equal(report.replayed.stopReason, live.stopReason);
    }
  });
});
