import { describe, it } from 'node:test';
import { EVENT_SCHEMA_VERSION } from '../../src/core/events.ts';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool } from '../../src/agent/tool.ts';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../helpers.ts';

describe('a governed run', () => {
  it('completes a lookup-then-answer request and reports every call', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }] }, { text: 'Order 1042 totals $250.' }],
      supportTools(effects),
    );
    const { warden } = testWarden();
    const result = await warden.run(agent, 'Where is 1042?');
    assert.equal(result.status, 'completed');
    assert.equal(result.stopReason, null);
    assert.equal(result.output, 'Order 1042 totals $250.');
    assert.equal(result.steps, 2);
    assert.equal(result.toolCalls.length, 1);
    assert.deepEqual(
      { tool: result.toolCalls[0]?.tool, tier: result.toolCalls[0]?.tier, status: result.toolCalls[0]?.status },
      { tool: 'lookup_order', tier: 'read', status: 'executed' },
    );
    assert.ok(result.costUsd > 0 && result.costUsd <= result.ceilingUsd);
    assert.equal(effects.count('lookup_order'), 1);
  });

  it('stops a run that repeats the same call with the same result three times, before maxSteps', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '1' } }] }], supportTools(effects), {
      limits: { maxSteps: 50, maxToolCalls: 50 },
    });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'loop');
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'loop_detected');
    assert.equal(effects.count('lookup_order'), 3);
    assert.ok(result.steps < 50);
    assert.match(result.stopDetail ?? '', /lookup_order.*3 times/);
  });

  it('stops a run that makes no progress for the configured number of steps', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [{ toolCalls: [{ tool: 'lookup_order', args: { orderId: 'a' } }] }, { toolCalls: [{ tool: 'lookup_order', args: { orderId: 'b' } }] }],
      supportTools(effects),
      { loopDetection: { repeats: 50, noProgressSteps: 3 }, limits: { maxSteps: 40, maxToolCalls: 40 } },
    );
    const { warden } = testWarden();
    const result = await warden.run(agent, 'cycle');
    assert.equal(result.stopReason, 'loop_detected');
    assert.match(result.stopDetail ?? '', /produced nothing new/);
    assert.equal(result.steps, 5);
  });

  it('stops at maxSteps when every step is new', async () => {
    let n = 0;
    const counter = defineTool({
      name: 'next',
      description: 'next number',
      tier: 'read',
      input: z.object({}),
      execute: () => ++n,
    });
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'next', args: {} }] }], [counter], { limits: { maxSteps: 4 } });
    const result = await testWarden().warden.run(agent, 'count');
    assert.equal(result.stopReason, 'max_steps');
    assert.equal(result.steps, 4);
  });

  it('stops at maxToolCalls', async () => {
    let n = 0;
    const counter = defineTool({ name: 'next', description: 'n', tier: 'read', input: z.object({}), execute: () => ++n });
    const agent = scriptedAgent(
      [
        {
          toolCalls: [
            { tool: 'next', args: {} },
            { tool: 'next', args: {} },
          ],
        },
      ],
      [counter],
      {
        limits: { maxToolCalls: 3, maxSteps: 10 },
      },
    );
    const result = await testWarden().warden.run(agent, 'count');
    assert.equal(result.stopReason, 'max_tool_calls');
    assert.equal(n, 3);
  });

  it('stops at maxWallMs, measured on active time', async () => {
    const slow = defineTool({
      name: 'slow',
      description: 'slow',
      tier: 'read',
      input: z.object({ i: z.number() }),
      execute: async ({ i }) => {
        await new Promise((r) => setTimeout(r, 30));
        return i;
      },
    });
    const agent = scriptedAgent(
      Array.from({ length: 20 }, (_, i) => ({ toolCalls: [{ tool: 'slow', args: { i } }] })),
      [slow],
      { limits: { maxWallMs: 100, maxSteps: 20, maxToolCalls: 20 } },
    );
    const result = await testWarden().warden.run(agent, 'slow');
    assert.equal(result.stopReason, 'wall_time');
  });

  it('never runs an unknown tool; the model is told and may recover', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'drop_database', args: {} }] }, { text: 'Sorry, I cannot do that.' }], supportTools(effects));
    const { warden } = testWarden();
    const result = await warden.run(agent, 'drop it');
    assert.equal(result.status, 'completed');
    assert.equal(result.toolCalls[0]?.status, 'rejected');
    assert.equal(result.toolCalls[0]?.error?.code, 'UNKNOWN_TOOL');
    assert.equal(effects.calls.length, 0);
    const events = await warden.events(result.runId);
    const secondCall = events.filter((e) => e.type === 'model.called')[1];
    assert.ok(secondCall, 'the model was called again after the rejection');
  });

  it('never runs a call whose arguments fail the schema or are not JSON', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [
        { toolCalls: [{ tool: 'refund', args: { orderId: 1042, amount: -5 } }] },
        { toolCalls: [{ tool: 'refund', args: { orderId: '1', amount: 5 } }], malformed: true },
        { text: 'giving up' },
      ],
      supportTools(effects),
    );
    const result = await testWarden().warden.run(agent, 'refund');
    assert.equal(result.status, 'completed');
    assert.deepEqual(
      result.toolCalls.map((c) => [c.status, c.error?.code]),
      [
        ['rejected', 'INVALID_TOOL_ARGS'],
        ['rejected', 'INVALID_TOOL_ARGS'],
      ],
    );
    assert.equal(effects.calls.length, 0);
  });

  it('stops with max_retries when the model keeps proposing calls that cannot run', async () => {
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'nope', args: { i: 0.5 } }] }], supportTools(new SideEffects()), {
      limits: { maxRetries: 2 },
      loopDetection: { repeats: 10, noProgressSteps: 10 },
    });
    const result = await testWarden().warden.run(agent, 'x');
    assert.equal(result.stopReason, 'max_retries');
  });

  it('retries a failing tool with the same idempotency key, drawing from the run retry limit', async () => {
    const keys: string[] = [];
    const flaky = defineTool({
      name: 'flaky',
      description: 'fails twice',
      tier: 'write',
      idempotent: true,
      retries: 3,
      input: z.object({}),
      execute: (_a, ctx) => {
        keys.push(ctx.idempotencyKey);
        if (ctx.attempt < 3) throw new Error('upstream 503');
        return 'ok';
      },
    });
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'flaky', args: {} }] }, { text: 'done' }], [flaky]);
    const result = await testWarden().warden.run(agent, 'x');
    assert.equal(result.status, 'completed');
    assert.equal(keys.length, 3);
    assert.equal(new Set(keys).size, 1);
    assert.equal(result.retries, 2);
  });

  it('reports a tool that fails after its retries to the model, which can go on', async () => {
    const broken = defineTool({
      name: 'broken',
      description: 'b',
      tier: 'read',
      retries: 1,
      input: z.object({}),
      execute: () => {
        throw new Error('boom');
      },
    });
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'broken', args: {} }] }, { text: 'it is broken' }], [broken]);
    const result = await testWarden().warden.run(agent, 'x');
    assert.equal(result.status, 'completed');
    assert.equal(result.toolCalls[0]?.status, 'failed');
    assert.equal(result.toolCalls[0]?.attempts, 2);
  });

  it('retries rate-limited model calls and stops with max_retries when they never succeed', async () => {
    const agent = scriptedAgent([{ text: 'never', error: { status: 429, retryAfterMs: 1, times: 1000 } }], [], { limits: { maxRetries: 3 } });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'x');
    assert.equal(result.stopReason, 'max_retries');
    const failures = (await warden.events(result.runId)).filter((e) => e.type === 'model.failed');
    assert.equal(failures.length, 4);
    assert.equal(result.costUsd, 0);
  });

  it('fails with MODEL_CALL_FAILED on an error retrying cannot fix', async () => {
    const agent = scriptedAgent([{ text: 'never', error: { status: 400, times: 1000 } }], []);
    const result = await testWarden().warden.run(agent, 'x');
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'MODEL_CALL_FAILED');
  });

  it('records why each step was taken: proposal, rule, and budget before and after', async () => {
    const agent = scriptedAgent(
      [{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '1' } }], rationale: 'need the order' }, { text: 'done' }],
      supportTools(new SideEffects()),
    );
    const { warden } = testWarden();
    const result = await warden.run(agent, 'x');
    const events = await warden.events(result.runId);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 3), ['run.submitted', 'run.started', 'budget.reserved']);
    const policy = events.find((e) => e.type === 'policy.decided');
    assert.equal(policy?.type === 'policy.decided' && policy.data.rule, 'tier:read');
    const called = events.find((e) => e.type === 'model.called');
    assert.equal(called?.type === 'model.called' && called.data.turn.rationale, 'need the order');
    assert.ok(events.every((e) => e.v === EVENT_SCHEMA_VERSION));
    const committed = events.filter((e) => e.type === 'budget.committed');
    assert.equal(committed.length, 2);
  });
});
