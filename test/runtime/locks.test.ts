import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { z } from 'zod';
import { defineAgent, type Agent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { simulated } from '../../src/model/simulated.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { tempDir, testWarden, waitFor } from '../helpers.ts';

interface Span {
  key: string;
  start: number;
  end: number;
}

/** A refund that takes a while and records when it ran, keyed by order (its lockKey). */
function refundTool(spans: Span[], lockKey = true) {
  return defineTool({
    name: 'refund',
    description: 'Refund an order',
    tier: 'write',
    input: z.object({ orderId: z.string(), amount: z.number() }),
    ...(lockKey ? { lockKey: (args: { orderId: string }) => args.orderId } : {}),
    execute: async ({ orderId }) => {
      const start = performance.now();
      await new Promise((r) => setTimeout(r, 15));
      spans.push({ key: orderId, start, end: performance.now() });
      return { ok: true };
    },
  });
}

function refunder(spans: Span[], orders: string[], lockKey = true): Agent {
  return defineAgent({
    name: 'refunder',
    instructions: 'Refund',
    model: simulated.script([...orders.map((orderId) => ({ toolCalls: [{ tool: 'refund', args: { orderId, amount: 5 } }] })), { text: 'done' }]),
    tools: [refundTool(spans, lockKey)],
    limits: { maxSteps: 20, maxToolCalls: 20, maxRetries: 2, maxWallMs: 60_000, maxCostUsd: 1 },
    loopDetection: { repeats: 50, noProgressSteps: 50 },
  });
}

function overlaps(spans: Span[]): number {
  let n = 0;
  for (const [i, a] of spans.entries()) {
    for (const b of spans.slice(i + 1)) {
      if (a.key === b.key && a.start < b.end && b.start < a.end) n++;
    }
  }
  return n;
}

describe('entity locks (lockKey)', () => {
  it('records no wait for a lock nobody else held, however the clock moves', async () => {
    let clock = 0;
    const tool = defineTool({
      name: 'touch',
      description: 'Touch',
      tier: 'write',
      input: z.object({ id: z.string() }),
      lockKey: ({ id }) => id,
      execute: () => ({ ok: true }),
    });
    const agent = defineAgent({
      name: 'locker',
      instructions: 'x',
      model: simulated.script([{ toolCalls: [{ tool: 'touch', args: { id: 'a' } }] }, { text: 'done' }]),
      tools: [tool],
    });
    // A clock that ticks on every read: the old code called the store's own time a wait.
    const warden = createWarden({ store: createSqliteStore({ path: ':memory:' }), now: () => (clock += 1) });
    const result = await warden.run(agent, 'go');
    const acquired = (await warden.events(result.runId)).filter((e) => e.type === 'lock.acquired');
    assert.equal(acquired.length, 1);
    assert.equal(acquired[0]!.type === 'lock.acquired' && acquired[0]!.data.waitedMs, 0);
  });

  it('never lets two concurrent runs on the same key overlap, across two stores on one database', async () => {
    const db = join(tempDir(), 'locks.db');
    const spans: Span[] = [];
    const a = createWarden({ store: createSqliteStore({ path: db }) });
    const b = createWarden({ store: createSqliteStore({ path: db }) });
    const orders = ['1042', '1042', '7', '1042'];
    const results = await Promise.all([a.run(refunder(spans, orders), 'a'), b.run(refunder(spans, orders), 'b'), a.run(refunder(spans, orders), 'c')]);
    for (const r of results) assert.equal(r.status, 'completed');
    assert.equal(spans.length, 12);
    assert.equal(overlaps(spans), 0);
    await a.store.close();
    await b.store.close();
  });

  it('(control) does overlap without a lockKey, so the check above can fail', async () => {
    const spans: Span[] = [];
    const { warden } = testWarden();
    const orders = ['1042', '1042'];
    await Promise.all([warden.run(refunder(spans, orders, false), 'a'), warden.run(refunder(spans, orders, false), 'b')]);
    assert.ok(overlaps(spans) > 0);
  });

  it('reports a child waiting on a lock its parent holds as a deadlock instead of hanging', async () => {
    const spans: Span[] = [];
    const child = defineAgent({
      name: 'helper',
      instructions: 'help',
      model: simulated.script([{ toolCalls: [{ tool: 'refund', args: { orderId: '1042', amount: 1 } }] }, { text: 'ok' }]),
      tools: [refundTool(spans)],
    });
    const slowParentRefund = defineTool({
      name: 'refund',
      description: 'Refund, slowly',
      tier: 'write',
      input: z.object({ orderId: z.string(), amount: z.number() }),
      lockKey: (args) => args.orderId,
      execute: async () => {
        // Hold the lock until the child has asked for it and ended (no sleep that hopes it was long enough).
        await waitFor(async () => (await store.listRuns()).some((r) => r.agent === 'helper' && r.status !== 'queued' && r.status !== 'running'), {
          message: 'the child run to end',
        });
        return { ok: true };
      },
    });
    const parent = defineAgent({
      name: 'boss',
      instructions: 'boss',
      model: simulated.script([
        {
          toolCalls: [
            { tool: 'refund', args: { orderId: '1042', amount: 1 } },
            { tool: 'delegate_helper', args: { task: 'refund 1042 too' } },
          ],
        },
        { text: 'done' },
      ]),
      tools: [slowParentRefund],
      delegates: [child],
    });
    const { warden, store } = testWarden();
    const result = await warden.run(parent, 'go');
    const failed = result.toolCalls.find((c) => c.tool === 'delegate_helper');
    assert.equal(failed?.status, 'failed');
    assert.match(failed?.error?.message ?? '', /deadlock/i);
    assert.equal(result.stopReason, 'deadlock');
  });
});

describe('the kill switch', () => {
  it('stops every live run of an agent, leaving others alone', async () => {
    const spans: Span[] = [];
    const { warden } = testWarden();
    const slow = defineAgent({ ...refunderConfig(spans), name: 'slow-one' });
    const other = defineAgent({ ...refunderConfig(spans), name: 'other' });
    const a = await warden.submit(slow, 'a');
    const b = await warden.submit(slow, 'b');
    const c = await warden.submit(other, 'c');
    const stopped = await warden.stop({ agent: 'slow-one' }, { by: 'ops', reason: 'incident' });
    assert.deepEqual(
      stopped.map((r) => r.status),
      ['cancelled', 'cancelled'],
    );
    assert.equal((await warden.inspect(a)).stopReason, 'cancelled');
    assert.equal((await warden.inspect(b)).status, 'cancelled');
    assert.equal((await warden.inspect(c)).status, 'queued');
    const all = await warden.stop({ all: true }, { by: 'ops' });
    assert.equal(all.length, 1);
  });

  it('aborts a run this process is driving, mid-call, and records it cancelled', async () => {
    const spans: Span[] = [];
    const { warden } = testWarden();
    let started!: () => void;
    const inCall = new Promise<void>((r) => (started = r));
    // A refund that is still running when the kill switch is thrown: it only ends when aborted.
    const hanging = defineTool({
      name: 'refund',
      description: 'Refund an order',
      tier: 'write',
      input: z.object({ orderId: z.string(), amount: z.number() }),
      execute: async (_args, ctx) => {
        started();
        await waitFor(() => ctx.signal.aborted, { message: 'the kill switch to abort the call' });
        return { ok: true };
      },
    });
    const agent = defineAgent({ ...refunderConfig(spans), name: 'busy', tools: [hanging] });
    const running = warden.run(agent, 'go');
    await inCall;
    await warden.stop({ agent: 'busy' }, { by: 'ops' });
    const result = await running;
    assert.equal(result.status, 'cancelled');
  });
});

function refunderConfig(spans: Span[]) {
  return {
    name: 'x',
    instructions: 'Refund',
    model: simulated.script([{ toolCalls: [{ tool: 'refund', args: { orderId: '1', amount: 5 } }] }, { text: 'done' }]),
    tools: [refundTool(spans)],
  };
}
