import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Agent } from '../agent/agent.ts';
import { WardenError } from '../core/errors.ts';
import type { RunResult } from '../runtime/run-result.ts';
import { createWarden } from '../runtime/warden.ts';
import { createSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { AgentCatalog } from './agent-catalog.ts';
import { Worker } from './worker.ts';
import { scriptedAgent, SideEffects, supportTools } from '../../test/helpers.ts';

function catalogOf(agent: Agent): AgentCatalog {
  return {
    names: [agent.name],
    agentFor: async (run) => {
      if (run.agent !== agent.name) throw new WardenError('AGENT_LOAD_FAILED', `no agent ${run.agent}`);
      return agent;
    },
  };
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Worker', () => {
  it('drives submitted runs at most `concurrency` at a time, and a decided run again', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [
        { toolCalls: [{ tool: 'lookup_order', args: { orderId: 'o-1' } }] },
        { toolCalls: [{ tool: 'delete_account', args: { customerId: 'c-1' } }] },
        { text: 'done' },
      ],
      supportTools(effects),
    );
    const store = createSqliteStore({ path: ':memory:' });
    const warden = createWarden({ store });
    const ended: RunResult[] = [];
    let peak = 0;
    const worker = new Worker({
      store,
      agents: catalogOf(agent),
      concurrency: 2,
      pollMs: 10_000, // only wake-ups and freed slots move it: proves they work
      warden: { sleep: async () => {} },
      onRunEnd: (r) => {
        ended.push(r);
        peak = Math.max(peak, worker.active);
      },
      onError: (e) => assert.fail(String(e)),
    });
    const done = worker.start();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await warden.submit(agent, `req ${i}`));
    await until(() => ended.length === 5);
    assert.ok(peak <= 2, `at most 2 at once, saw ${peak}`);
    assert.deepEqual(new Set(ended.map((r) => r.status)), new Set(['waiting_approval']));
    assert.equal(effects.count('lookup_order'), 5);

    const [first] = await store.listInterventions({ runId: ids[0], status: 'pending' });
    assert.ok(first);
    await warden.approve(first.id, { by: 'ana' });
    await until(() => ended.length === 6);
    assert.equal(ended[5]?.runId, ids[0]);
    assert.equal(ended[5]?.status, 'completed');
    assert.equal(effects.count('delete_account'), 1);
    await worker.stop();
    await done;
    assert.equal((await store.getRun(first.runId))?.leaseOwner, null, 'leases are given back');
    await store.close();
  });

  it('fails a run whose agent cannot be loaded instead of leaving it claimable', async () => {
    const agent = scriptedAgent([{ text: 'hi' }], []);
    const store = createSqliteStore({ path: ':memory:' });
    const runId = await createWarden({ store }).submit(agent, 'x');
    const errors: unknown[] = [];
    const missing: AgentCatalog = { names: undefined, agentFor: async () => Promise.reject(new WardenError('AGENT_LOAD_FAILED', 'file gone')) };
    const worker = new Worker({ store, agents: missing, pollMs: 10, onError: (e) => errors.push(e) });
    const done = worker.start();
    await until(async () => (await store.getRun(runId))?.status === 'failed');
    await worker.stop();
    await done;
    const run = await store.getRun(runId);
    assert.match(run!.error!, /AGENT_LOAD_FAILED: file gone/);
    assert.equal(run!.leaseOwner, null);
    assert.equal(errors.length, 1);
    await store.close();
  });

  it('refuses a concurrency that is not positive with INVALID_ARGUMENT', () => {
    const store = createSqliteStore({ path: ':memory:' });
    assert.throws(
      () => new Worker({ store, agents: { names: undefined, agentFor: async () => assert.fail() }, concurrency: 0 }),
      (e) => e instanceof WardenError && e.code === 'INVALID_ARGUMENT',
    );
  });

  it('drives at most perTenant runs of one tenant at once, while other tenants go ahead', { timeout: 20_000 }, async () => {
    const agent = scriptedAgent([{ text: 'done', delayMs: 30 }], []);
    const store = createSqliteStore({ path: ':memory:' });
    const warden = createWarden({ store });
    for (let i = 0; i < 4; i++) await warden.submit(agent, `big ${i}`, { tenant: 'big' });
    await warden.submit(agent, 'small', { tenant: 'small' });
    let peakBig = 0;
    let smallDoneWhileBigLeft = false;
    const worker = new Worker({
      store,
      agents: catalogOf(agent),
      concurrency: 4,
      perTenant: 1,
      pollMs: 20,
      onRunEnd: async () => {
        const runs = await store.listRuns({ limit: 10 });
        if (runs.some((r) => r.tenant === 'small' && r.status === 'completed') && runs.some((r) => r.tenant === 'big' && r.status !== 'completed'))
          smallDoneWhileBigLeft = true;
      },
    });
    const poll = setInterval(() => {
      void store.listRuns({ status: 'running', tenant: 'big' }).then((running) => (peakBig = Math.max(peakBig, running.length)));
    }, 5);
    const done = worker.start();
    try {
      await until(async () => (await store.listRuns({ status: 'completed' })).length === 5, 15_000);
    } finally {
      clearInterval(poll);
      await worker.stop();
      await done;
    }
    assert.equal(peakBig, 1, 'one run of the busy tenant at a time');
    assert.ok(smallDoneWhileBigLeft, "the other tenant's run did not wait behind the burst");
  });
});
