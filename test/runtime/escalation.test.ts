import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isWardenError } from '../../src/core/errors.ts';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../helpers.ts';

const lookup = (orderId: string, confidence?: number) => ({
  toolCalls: [{ tool: 'lookup_order', args: { orderId } }],
  ...(confidence !== undefined ? { confidence } : {}),
});

describe('confidence-based escalation', () => {
  it('sends a step scored below the threshold to a person, with the evidence, and runs nothing', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([lookup('1042', 0.3), { text: 'done' }], supportTools(effects), { escalation: { threshold: 0.6 } });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    assert.equal(parked.status, 'escalated');
    assert.equal(effects.calls.length, 0);
    const events = await warden.events(parked.runId);
    const assessed = events.find((e) => e.type === 'step.assessed');
    assert.equal(assessed?.type === 'step.assessed' && assessed.data.verdict, 'escalate');
    assert.equal(assessed?.type === 'step.assessed' && assessed.data.confidence, 0.3);
    const escalated = events.find((e) => e.type === 'escalated');
    assert.equal(escalated?.type === 'escalated' && escalated.data.reason, 'low_confidence');
    assert.deepEqual(escalated?.type === 'escalated' && escalated.data.evidence.args, { orderId: '1042' });
  });

  it('lets a confident step through and records why', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([lookup('1042', 0.95), { text: 'done', confidence: 0.9 }], supportTools(effects), { escalation: { threshold: 0.6 } });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'go');
    assert.equal(result.status, 'completed');
    const assessed = (await warden.events(result.runId)).filter((e) => e.type === 'step.assessed');
    assert.equal(assessed.length, 2, 'the call and the answer');
    assert.ok(assessed.every((e) => e.type === 'step.assessed' && e.data.verdict === 'proceed'));
  });

  it('runs an edited escalation with the edited arguments', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([lookup('1042', 0.2), { text: 'done', confidence: 0.9 }], supportTools(effects), { escalation: { threshold: 0.6 } });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    await warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: { orderId: '2001' }, by: 'ana', reason: 'wrong order' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.deepEqual(
      effects.calls.map((c) => c.args),
      [{ orderId: '2001' }],
    );
    const decided = (await warden.events(parked.runId)).find((e) => e.type === 'escalation.decided');
    assert.equal(decided?.type === 'escalation.decided' && decided.data.by, 'ana');
  });

  it('still applies the policy to edited arguments', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [
        { toolCalls: [{ tool: 'refund', args: { orderId: '1', amount: 20 } }], confidence: 0.1 },
        { text: 'done', confidence: 0.9 },
      ],
      supportTools(effects),
      { escalation: { threshold: 0.6 } },
    );
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    await warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: { orderId: '1', amount: 500 }, by: 'bob' });
    const next = await warden.execute(agent, parked.runId);
    assert.equal(next.status, 'waiting_approval', 'a refund above $100 still needs its approval');
    assert.equal(effects.calls.length, 0);
  });

  it('refuses edited arguments that do not fit the schema when it knows the agent', async () => {
    const agent = scriptedAgent([lookup('1042', 0.2)], supportTools(new SideEffects()), { escalation: { threshold: 0.6 } });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    await assert.rejects(warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: { orderId: 42 }, by: 'ana' }, agent), (e) =>
      isWardenError(e, 'INVALID_TOOL_ARGS'),
    );
  });

  it('lets a person take over with the final answer, or stop the run', async () => {
    const agent = scriptedAgent([lookup('1042', 0.2)], supportTools(new SideEffects()), { escalation: { threshold: 0.6 } });
    const { warden } = testWarden();
    const a = await warden.run(agent, 'go');
    await warden.decideEscalation(a.pending!.id, { decision: 'takeover', output: 'I handled it by phone.', by: 'ana' });
    const taken = await warden.inspect(a.runId);
    assert.equal(taken.status, 'completed');
    assert.equal(taken.output, 'I handled it by phone.');

    const b = await warden.run(agent, 'go');
    await warden.decideEscalation(b.pending!.id, { decision: 'stop', by: 'ana', reason: 'not for the bot' });
    assert.equal((await warden.inspect(b.runId)).status, 'cancelled');
  });

  it('holds back a doubtful final answer until a person approves it', async () => {
    const agent = scriptedAgent([{ text: 'Your refund is on its way.', confidence: 0.2 }], supportTools(new SideEffects()), { escalation: { threshold: 0.5 } });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    assert.equal(parked.status, 'escalated');
    await warden.decideEscalation(parked.pending!.id, { decision: 'approve', by: 'ana' });
    const done = await warden.inspect(parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(done.output, 'Your refund is on its way.');
  });

  it('lowers confidence after errors and uses a pluggable scorer', async () => {
    const seen: number[] = [];
    const agent = scriptedAgent([lookup('1042', 0.9), { text: 'done' }], supportTools(new SideEffects()), {
      escalation: {
        threshold: 0.5,
        scorer: (s) => {
          seen.push(s.modelConfidence ?? -1);
          return { score: 0.4, factors: ['always unsure'] };
        },
      },
    });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    assert.equal(parked.status, 'escalated');
    assert.deepEqual(seen, [0.9]);
  });
});
