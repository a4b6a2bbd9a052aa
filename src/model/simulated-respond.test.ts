import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineAgent } from '../agent/agent.ts';
import { defineTool } from '../agent/tool.ts';
import { isWardenError } from '../core/errors.ts';
import { createSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { createWarden } from '../runtime/warden.ts';
import { simulated } from './simulated.ts';
import type { SimulatedView } from './simulated-respond.ts';

function agentWith(model: ReturnType<typeof simulated.respond>) {
  const refund = defineTool({
    name: 'refund',
    description: 'Refund',
    tier: 'write',
    input: z.object({ amount: z.number() }),
    approval: ({ amount }) => amount > 100,
    execute: ({ amount }) => ({ refunded: amount }),
  });
  return defineAgent({ name: 'respond-test', instructions: 'Refund.', model, tools: [refund], limits: { maxSteps: 5, maxCostUsd: 0.05 } });
}

const refundThenSay = (view: SimulatedView) => {
  const amount = Number(/\d+/.exec(view.input)?.[0] ?? 0);
  if (view.last === null) return { toolCalls: [{ tool: 'refund', args: { amount } }] };
  return view.last.ok ? { text: `Refunded $${(view.last.output as { refunded: number }).refunded}.` } : { text: `Not refunded: ${String(view.last.output)}` };
};

describe('simulated.respond', () => {
  it('answers from the request and the tool result it was given', async () => {
    const warden = createWarden({ store: createSqliteStore({ path: ':memory:' }) });
    const result = await warden.run(agentWith(simulated.respond(refundThenSay)), 'Refund 40');
    assert.equal(result.status, 'completed');
    assert.equal(result.output, 'Refunded $40.');
  });

  it("says a refund was not made after a person denied it, with the person's reason", async () => {
    const warden = createWarden({ store: createSqliteStore({ path: ':memory:' }) });
    const agent = agentWith(simulated.respond(refundThenSay));
    const parked = await warden.run(agent, 'Refund 250');
    assert.equal(parked.status, 'waiting_approval');
    await warden.deny(parked.pending!.id, { by: 'ana', reason: 'no receipt' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(done.output, 'Not refunded: Denied by ana: no receipt');
  });

  it('sees every outcome in order, and the turn count', async () => {
    const views: SimulatedView[] = [];
    const model = simulated.respond((view) => {
      views.push(view);
      return view.turn < 2 ? { toolCalls: [{ tool: 'refund', args: { amount: 10 + view.turn } }] } : { text: 'done' };
    });
    const warden = createWarden({ store: createSqliteStore({ path: ':memory:' }) });
    await warden.run(agentWith(model), 'go');
    assert.deepEqual(
      views.map((v) => v.turn),
      [0, 1, 2],
    );
    assert.deepEqual(views[2]!.results, [
      { tool: 'refund', ok: true, output: { refunded: 10 } },
      { tool: 'refund', ok: true, output: { refunded: 11 } },
    ]);
  });

  it('carries the price and checks options like simulated.script', () => {
    assert.throws(
      () => simulated.respond(refundThenSay, { inputPerMTok: -1 }),
      (e) => isWardenError(e, 'INVALID_CONFIG'),
    );
    assert.throws(
      () => simulated.respond('nope' as never),
      (e) => isWardenError(e, 'INVALID_CONFIG'),
    );
  });
});
