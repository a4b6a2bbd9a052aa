import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { simulated } from '../../src/model/simulated.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { scriptedAgent, testWarden } from '../helpers.ts';

/** A clock that only moves when the runtime sleeps, so waits are exact and cost no real time. */
function virtualClock() {
  let t = 1_800_000_000_000;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += Math.max(0, ms);
    },
    elapsed: (from: number) => t - from,
  };
}

describe('admission control', () => {
  it('refuses a submit beyond the bounded queue with QUEUE_FULL, globally and per tenant', async () => {
    const agent = scriptedAgent([{ text: 'ok' }], []);
    const { warden } = testWarden(':memory:', { scheduler: { maxQueued: { global: 3, perTenant: 2 } } });
    await warden.submit(agent, 'a', { tenant: 't1' });
    await warden.submit(agent, 'b', { tenant: 't1' });
    await assert.rejects(warden.submit(agent, 'c', { tenant: 't1' }), (e) => isWardenError(e, 'QUEUE_FULL') && /t1/.test(e.message));
    await warden.submit(agent, 'd', { tenant: 't2' });
    await assert.rejects(warden.submit(agent, 'e', { tenant: 't3' }), (e) => isWardenError(e, 'QUEUE_FULL') && /queue is full/.test(e.message));
  });
});

describe('circuit breakers and the retry budget', () => {
  it("opens a failing tool's breaker, so a dependency that fails every call is not hammered", async () => {
    let executions = 0;
    const flaky = defineTool({
      name: 'flaky',
      description: 'Always fails',
      tier: 'read',
      idempotent: true,
      retries: 3,
      input: z.object({ n: z.number() }),
      execute: () => {
        executions++;
        throw new Error('upstream down');
      },
    });
    const agent = defineAgent({
      name: 'caller',
      instructions: 'x',
      model: simulated.script([{ toolCalls: [{ tool: 'flaky', args: { n: 1 } }] }, { text: 'gave up' }]),
      tools: [flaky],
      limits: { maxRetries: 5 },
      backoff: { baseMs: 0, maxMs: 0 },
    });
    const clock = virtualClock();
    const { warden } = testWarden(':memory:', {
      now: clock.now,
      sleep: clock.sleep,
      scheduler: { breaker: { failures: 5, windowMs: 60_000, cooldownMs: 60_000 }, retryBudget: false },
    });
    const results = [];
    for (let i = 0; i < 40; i++) results.push(await warden.run(agent, `run ${i}`));
    assert.equal(executions, 5, 'after five failures the breaker refuses the calls without making them');
    const refused = (await Promise.all(results.map((r) => warden.events(r.runId))))
      .flat()
      .filter((e) => e.type === 'tool.failed' && e.data.error.code === 'BREAKER_OPEN');
    assert.ok(refused.length > 100, `calls refused by the open breaker: ${refused.length}`);
    const opened = (await warden.events(results[1]?.runId ?? ''))
      .concat(await warden.events(results[0]?.runId ?? ''))
      .filter((e) => e.type === 'breaker.changed');
    assert.ok(
      opened.some((e) => e.type === 'breaker.changed' && e.data.state === 'open'),
      'the run whose failure opened it says so in its trace',
    );
  });

  it('keeps total retries within the global budget when everything fails', async () => {
    let executions = 0;
    const flaky = defineTool({
      name: 'flaky',
      description: 'Always fails',
      tier: 'read',
      idempotent: true,
      retries: 5,
      input: z.object({}),
      execute: () => {
        executions++;
        throw new Error('down');
      },
    });
    const agent = defineAgent({
      name: 'caller',
      instructions: 'x',
      model: simulated.script([{ toolCalls: [{ tool: 'flaky', args: {} }] }, { text: 'done' }]),
      tools: [flaky],
      limits: { maxRetries: 6 },
      backoff: { baseMs: 0, maxMs: 0 },
    });
    const clock = virtualClock();
    const budget = { ratio: 0.2, windowMs: 3_600_000, minRetries: 10 };
    const { warden } = testWarden(':memory:', { now: clock.now, sleep: clock.sleep, scheduler: { breaker: false, retryBudget: budget } });
    for (let i = 0; i < 50; i++) await warden.run(agent, `run ${i}`);
    // Without the budget: 50 runs × (1 + 5 retries) = 300 executions. With it, retries stay near
    // 20% of all calls (model calls count as calls too), never the 250 the runs alone would allow.
    const firstAttempts = 50;
    const retries = executions - firstAttempts;
    assert.ok(retries <= budget.minRetries + Math.ceil(budget.ratio * (executions + 100)), `retries ${retries} of ${executions} executions`);
    assert.ok(executions < 120, `executions ${executions}`);
  });

  it("opens the model provider's breaker and fails fast instead of calling a provider that keeps failing", async () => {
    let calls = 0;
    const base = simulated.script([{ text: 'never', error: { status: 503, times: 1_000 } }]);
    const model = new Proxy(base, {
      get(target, prop, receiver) {
        if (prop === 'doGenerate') {
          return (...args: unknown[]) => {
            calls++;
            return (target.doGenerate as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const agent = defineAgent({ name: 'm', instructions: 'x', model, tools: [], limits: { maxRetries: 3 }, backoff: { baseMs: 0, maxMs: 0 } });
    const clock = virtualClock();
    const { warden } = testWarden(':memory:', {
      now: clock.now,
      sleep: clock.sleep,
      scheduler: { breaker: { failures: 4, windowMs: 60_000, cooldownMs: 600_000 }, retryBudget: false },
    });
    for (let i = 0; i < 10; i++) {
      const r = await warden.run(agent, 'x');
      assert.equal(r.stopReason, 'max_retries');
    }
    assert.equal(calls, 4, 'the provider saw four calls; every later attempt was refused by the open breaker');
  });
});

describe('rate limits and tool concurrency', () => {
  it('records no scheduler.waited when no call had to queue for a tool slot, however the clock moves', async () => {
    let clock = 0;
    const tool = defineTool({ name: 'look', description: 'Look', tier: 'read', input: z.object({}), execute: () => ({ ok: true }) });
    const agent = defineAgent({
      name: 'looker',
      instructions: 'x',
      model: simulated.script([{ toolCalls: [{ tool: 'look', args: {} }] }, { text: 'done' }]),
      tools: [tool],
    });
    // A clock that ticks on every read: the old code took any elapsed millisecond for a wait.
    for (const toolConcurrency of [{}, { look: 2 }] as Record<string, number>[]) {
      const warden = createWarden({ store: createSqliteStore({ path: ':memory:' }), now: () => (clock += 1), scheduler: { toolConcurrency } });
      const result = await warden.run(agent, 'go');
      assert.equal(result.status, 'completed');
      assert.deepEqual(
        (await warden.events(result.runId)).filter((e) => e.type === 'scheduler.waited'),
        [],
        JSON.stringify(toolConcurrency),
      );
    }
  });

  it("spaces model calls to the provider's requests per minute, and says so in the trace", async () => {
    const agent = scriptedAgent([{ text: 'ok' }], []);
    const clock = virtualClock();
    const { warden } = testWarden(':memory:', {
      now: clock.now,
      sleep: clock.sleep,
      scheduler: { rateLimits: { 'warden.simulated': { requestsPerMinute: 2 } } },
    });
    const start = clock.now();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await warden.run(agent, `r${i}`));
    // Two calls at once (the bucket starts full), then one every 30 s.
    assert.ok(clock.elapsed(start) >= 90_000 && clock.elapsed(start) < 100_000, `elapsed ${clock.elapsed(start)}`);
    const waited = (await warden.events(results[4]?.runId ?? '')).find((e) => e.type === 'scheduler.waited');
    assert.equal(waited?.type === 'scheduler.waited' && waited.data.reason, 'rate_limit');
  });

  it('runs at most toolConcurrency calls of a tool at once in the process', async () => {
    const live = { now: 0, max: 0 };
    const slow = defineTool({
      name: 'slow',
      description: 'slow',
      tier: 'read',
      input: z.object({ n: z.number() }),
      execute: async () => {
        live.max = Math.max(live.max, ++live.now);
        await new Promise((r) => setTimeout(r, 10));
        live.now--;
        return {};
      },
    });
    const agent = scriptedAgent([{ toolCalls: [1, 2, 3, 4].map((n) => ({ tool: 'slow', args: { n } })) }, { text: 'ok' }], [slow], { parallelToolCalls: 4 });
    const { warden } = testWarden(':memory:', { scheduler: { toolConcurrency: { slow: 1 } } });
    await Promise.all([warden.run(agent, 'a'), warden.run(agent, 'b')]);
    assert.equal(live.max, 1);
  });

  it('rejects nonsense scheduler settings with INVALID_CONFIG', () => {
    assert.throws(
      () => createWarden({ store: createSqliteStore({ path: ':memory:' }), scheduler: { maxQueued: { global: -1 } } }),
      (e) => isWardenError(e, 'INVALID_CONFIG'),
    );
    assert.throws(
      () => createWarden({ store: createSqliteStore({ path: ':memory:' }), scheduler: { retryBudget: { ratio: 2, windowMs: 1, minRetries: 1 } } }),
      (e) => isWardenError(e, 'INVALID_CONFIG'),
    );
  });
});
