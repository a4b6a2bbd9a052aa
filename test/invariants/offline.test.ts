import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool, type AnyTool } from '../../src/agent/tool.ts';
import { replayRun } from '../../src/observe/replay/index.ts';
import { scriptedAgent, testWarden } from '../helpers.ts';

/** Counts every real execute and compensate, so a test sees whether anything real ran. */
class RealCalls {
  executes = 0;
  compensations = 0;
}

function tools(real: RealCalls): AnyTool[] {
  return [
    defineTool({
      name: 'refund',
      description: 'Refund an order',
      tier: 'write',
      input: z.object({ orderId: z.string(), amount: z.number() }),
      execute: (args: { amount: number }) => {
        real.executes++;
        return { refunded: args.amount };
      },
      compensate: () => {
        real.compensations++;
        return { reversed: true };
      },
    }),
    defineTool({
      name: 'close_account',
      description: 'Close an account',
      tier: 'write',
      input: z.object({ customerId: z.string() }),
      execute: () => {
        real.executes++;
        return { closed: true };
      },
    }),
  ];
}

/** A run that refunds, is then denied a call and stops, and (saga) reverses the refund. */
async function recordSagaRun(real: RealCalls) {
  const { warden, store } = testWarden();
  const agent = scriptedAgent(
    [
      { toolCalls: [{ tool: 'refund', args: { orderId: 'o-1', amount: 40 } }] },
      { toolCalls: [{ tool: 'close_account', args: { customerId: 'c-1' } }] },
      { text: 'done' },
    ],
    tools(real),
    { compensateOnFailure: true, policy: { onDeny: 'stop', rules: [{ name: 'no-closing', tools: ['close_account'], decision: 'deny' }] } },
  );
  const result = await warden.run(agent, 'refund then close');
  assert.equal(result.status, 'stopped');
  const events = await store.loadEvents(result.runId);
  assert.ok(events.some((e) => e.type === 'compensation.succeeded'), 'the recording holds a real compensation');
  return { events, agent, warden, runId: result.runId };
}

describe('offline means offline', () => {
  it('replays and what-ifs a run with a compensation without calling any real execute or compensate', async () => {
    const real = new RealCalls();
    const { events, agent } = await recordSagaRun(real);
    assert.deepEqual({ ...real }, { executes: 1, compensations: 1 });
    const replay = new RealCalls();
    const replayed = await replayRun(events, { agent: scriptedAgent([{ text: 'unused' }], tools(replay), { compensateOnFailure: true, policy: agent.policy }) });
    assert.equal(replayed.identical, true);
    const whatIf = await replayRun(events, { agent: scriptedAgent([{ text: 'unused' }], tools(replay), { compensateOnFailure: true }), mode: 'what-if' });
    assert.equal(whatIf.replayed.toolCalls >= 1, true);
    assert.deepEqual({ ...replay }, { executes: 0, compensations: 0 });
  });

  it('never reaches a real tool from replay, even when its execute and compensate would throw', async () => {
    const real = new RealCalls();
    const { events, agent } = await recordSagaRun(real);
    const reached: string[] = [];
    const throwing = tools(new RealCalls()).map((t) =>
      defineTool({
        ...t,
        execute: () => {
          reached.push(`${t.name}.execute`);
          throw new Error('a real execute was called from replay');
        },
        ...(t.compensate
          ? {
              compensate: () => {
                reached.push(`${t.name}.compensate`);
                throw new Error('a real compensate was called from replay');
              },
            }
          : {}),
      }),
    );
    for (const mode of ['replay', 'what-if'] as const) {
      const report = await replayRun(events, { agent: scriptedAgent([{ text: 'unused' }], throwing, { compensateOnFailure: true, policy: agent.policy }), mode });
      assert.equal(report.identical, true, JSON.stringify(report.divergence));
    }
    assert.deepEqual(reached, []);
  });

  it('replays a run a person undid without calling the compensation again', async () => {
    const real = new RealCalls();
    const { warden, store } = testWarden();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'refund', args: { orderId: 'o-1', amount: 40 } }] }, { text: 'done' }], tools(real));
    const result = await warden.run(agent, 'refund');
    await warden.undo(agent, result.runId, { by: 'ana' });
    assert.deepEqual({ ...real }, { executes: 1, compensations: 1 });
    const replay = new RealCalls();
    await replayRun(await store.loadEvents(result.runId), { agent: scriptedAgent([{ text: 'unused' }], tools(replay)) });
    await replayRun(await store.loadEvents(result.runId), { agent: scriptedAgent([{ text: 'unused' }], tools(replay)), mode: 'what-if' });
    assert.deepEqual({ ...replay }, { executes: 0, compensations: 0 });
  });
});
