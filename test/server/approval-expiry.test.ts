import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { simulated } from '../../src/model/simulated.ts';
import type { AgentCatalog } from '../../src/scheduler/agent-catalog.ts';
import { createApiKey } from '../../src/server/api-keys.ts';
import { startServer } from '../../src/server/serve.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDir } from '../helpers.ts';
import { waitFor } from './fixtures.ts';

const wired: string[] = [];

/** Wires money on a person's approval, which nobody gives within a minute. */
const payer = defineAgent({
  name: 'payer',
  instructions: 'Pay suppliers.',
  model: simulated.script([{ toolCalls: [{ tool: 'wire', args: { amount: 900 } }] }, { text: 'The wire was not sent.' }]),
  tools: [
    defineTool({
      name: 'wire',
      description: 'Wire money',
      tier: 'write',
      input: z.object({ amount: z.number() }),
      approval: { timeoutMs: 60_000, onTimeout: 'deny' },
      execute: ({ amount }) => {
        wired.push(String(amount));
        return { wired: amount };
      },
    }),
  ],
  limits: { maxCostUsd: 0.05 },
});

const catalog: AgentCatalog = { names: ['payer'], agentFor: async () => payer };

describe('warden serve expires approvals', () => {
  it('denies an approval nobody decided by its deadline and carries the run on, without anyone asking', async () => {
    const clock = { now: Date.now() };
    const store = createSqliteStore({ path: join(tempDir('warden-expiry-'), 'w.db') });
    const submitter = (await createApiKey(store, { name: 'submitter', role: 'submitter', tenants: ['acme'] })).secret;
    const approver = (await createApiKey(store, { name: 'approver', role: 'approver', tenants: ['acme'] })).secret;
    const server = await startServer({ store, agents: catalog, port: 0, warden: { now: () => clock.now } });
    const call = async (key: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> & { pending?: { id: string } } };
    };
    try {
      const { json } = await call(submitter, 'POST', '/v1/runs', { agent: 'payer', input: 'pay invoice 7', tenant: 'acme' });
      const runId = String(json.runId);
      await waitFor('the run parks', async () => (await call(approver, 'GET', `/v1/runs/${runId}`)).json.status === 'waiting_approval');
      const approvalId = mustHave((await call(approver, 'GET', `/v1/runs/${runId}`)).json.pending?.id);
      const listed = (await call(approver, 'GET', '/v1/interventions')).json.interventions as { id: string; expiresAt: number | null }[];
      assert.equal(listed.find((i) => i.id === approvalId)?.expiresAt, clock.now + 60_000);

      clock.now += 60_000;
      await waitFor(
        'the sweeper expires the approval and the run ends',
        async () => (await call(approver, 'GET', `/v1/runs/${runId}`)).json.status === 'completed',
      );
      assert.deepEqual(wired, []);
      const late = await call(approver, 'POST', `/v1/approvals/${approvalId}/approve`, { reason: 'sorry, late' });
      assert.equal(late.status, 409);
      assert.match(JSON.stringify(late.json), /expired/);
      assert.equal((await store.getIntervention(approvalId))?.status, 'expired');
    } finally {
      await server.close();
      await store.close();
    }
  });
});

function mustHave<T>(value: T | undefined): T {
  assert.ok(value !== undefined);
  return value;
}
