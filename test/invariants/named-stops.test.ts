/**
 * Promise: every run ends with a named reason. A callback that throws anything, a process that
 * crashes every time it drives a run, a call that never answers, a provider that asks to wait an
 * hour or answers with garbage: each ends the run (or the call) with a typed, recorded reason, and
 * the run is never left `running` while the caller goes on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Worker, createSqliteStore, createWarden, type AgentCatalog } from '../../src/index.ts';
import type { Agent } from '../../src/agent/agent.ts';
import type { RunResult } from '../../src/runtime/run-result.ts';
import { scriptedAgent, SideEffects, supportTools } from '../helpers.ts';

function catalogOf(agent: Agent): AgentCatalog {
  return { names: [agent.name], agentFor: async () => agent };
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the exported Worker', () => {
  it('drives claimed runs to their end when no onRunEnd is given', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'lookup_order', args: { orderId: 'o-1' } }] }, { text: 'done' }], supportTools(effects));
    const store = createSqliteStore({ path: ':memory:' });
    const warden = createWarden({ store });
    const errors: unknown[] = [];
    const worker = new Worker({ store, agents: catalogOf(agent), pollMs: 20, warden: { sleep: async () => {} }, onError: (e) => errors.push(e) });
    const done = worker.start();
    try {
      const runId = await warden.submit(agent, 'where is o-1?');
      await until(async () => (await store.getRun(runId))?.status === 'completed', 5_000);
      assert.equal(effects.count('lookup_order'), 1);
      assert.deepEqual(errors, []);
    } finally {
      await worker.stop();
      await done;
      await store.close();
    }
  });
});

void z;
export type { RunResult };
