import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { defineTool, type AnyTool } from '../../src/agent/tool.ts';
import { isWardenError } from '../../src/errors.ts';
import { simulated } from '../../src/model/simulated.ts';
import { hashValue } from '../../src/runtime/canonical.ts';
import type { AnyRunEvent } from '../../src/runtime/events.ts';
import { scriptedAgent, SideEffects, testWarden } from '../helpers.ts';

/** Refunds: a rule denies more than $1,000; more than $100 waits for a person. */
function refundTools(effects: SideEffects, extra: Partial<Parameters<typeof defineTool>[0]> = {}): AnyTool[] {
  return [
    defineTool({
      name: 'refund',
      description: 'Refund an order',
      tier: 'write',
      input: z.object({ orderId: z.string(), amount: z.number().positive() }),
      approval: (args: { amount: number }) => args.amount > 100,
      execute: (args, ctx) => {
        effects.calls.push({ tool: 'refund', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return { refunded: args.amount };
      },
      ...extra,
    } as Parameters<typeof defineTool>[0]),
  ];
}

const noBigRefunds = { rules: [{ name: 'no-refunds-over-1000', tools: ['refund'], when: (a: { amount: number }) => a.amount > 1000, decision: 'deny' as const }] };
const refundTurn = (amount: number, confidence?: number) => ({
  toolCalls: [{ tool: 'refund', args: { orderId: 'o-1', amount } }],
  ...(confidence !== undefined ? { confidence } : {}),
});
const types = (events: AnyRunEvent[]) => events.map((e) => e.type);

describe('the person approves exactly what runs: edited arguments', () => {
  it('denies an edit at a low-confidence escalation that a rule denies', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([refundTurn(50, 0.1), { text: 'done', confidence: 0.9 }], refundTools(effects), { escalation: { threshold: 0.6 }, policy: noBigRefunds });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'refund');
    assert.equal(parked.status, 'escalated');
    await warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: { orderId: 'o-1', amount: 5000 }, by: 'bob' });
    await warden.execute(agent, parked.runId);
    assert.equal(effects.count('refund'), 0, 'the $5,000 refund never ran');
    const denied = (await warden.events(parked.runId)).find((e) => e.type === 'tool.denied');
    assert.equal(denied?.type === 'tool.denied' && denied.data.by, 'rule:no-refunds-over-1000');
  });

  it('sends an edit of a call with an unknown outcome through policy: a denied amount never runs', async () => {
    const effects = new SideEffects();
    let hang = true;
    const tools = refundTools(effects, {
      timeoutMs: 20,
      execute: (args: { amount: number }, ctx: { idempotencyKey: string; attempt: number }) => {
        effects.calls.push({ tool: 'refund', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return hang ? new Promise(() => {}) : { refunded: args.amount };
      },
    });
    const agent = scriptedAgent([refundTurn(50), { text: 'done' }], tools, { policy: noBigRefunds });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'refund');
    assert.equal(parked.status, 'escalated', 'the timed-out refund has an unknown outcome');
    hang = false;
    await warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: { orderId: 'o-1', amount: 5000 }, by: 'bob' });
    await warden.execute(agent, parked.runId);
    assert.deepEqual(effects.calls.map((c) => (c.args as { amount: number }).amount), [50], 'only the first, hung attempt ever ran');
    assert.ok(types(await warden.events(parked.runId)).includes('tool.denied'));
  });

  it('makes an edit that needs approval wait for an approval of the edited arguments', async () => {
    const effects = new SideEffects();
    let hang = true;
    const tools = refundTools(effects, {
      timeoutMs: 20,
      execute: (args: { amount: number }, ctx: { idempotencyKey: string; attempt: number }) => {
        effects.calls.push({ tool: 'refund', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return hang ? new Promise(() => {}) : { refunded: args.amount };
      },
    });
    const agent = scriptedAgent([refundTurn(50), { text: 'done' }], tools, { policy: noBigRefunds });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'refund');
    hang = false;
    const edited = { orderId: 'o-1', amount: 500 };
    await warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: edited, by: 'bob' });
    const waiting = await warden.execute(agent, parked.runId);
    assert.equal(waiting.status, 'waiting_approval');
    assert.equal(effects.calls.length, 1, 'nothing ran on the edit alone');
    const requested = (await warden.events(parked.runId)).filter((e) => e.type === 'approval.requested').at(-1);
    assert.equal(requested?.type === 'approval.requested' && requested.data.argsHash, hashValue(edited));
    await warden.approve(waiting.pending!.id, { by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.deepEqual(effects.calls.at(-1)?.args, edited);
  });
});
