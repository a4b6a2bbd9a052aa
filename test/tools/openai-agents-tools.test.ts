import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tool } from '@openai/agents-core';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { simulated } from '../../src/model/simulated.ts';
import { auditAgent } from '../../src/rehearse/audit.ts';
import { fromOpenAIAgentsTools, type OpenAIAgentsFunctionTool } from '../../src/tools/adapters/openai-agents-tools.ts';
import { testWarden } from '../helpers.ts';

type Turns = Parameters<typeof simulated.script>[0];

function agentCalling(tools: ReturnType<typeof fromOpenAIAgentsTools>, name: string, args: unknown) {
  const turns: Turns = [{ toolCalls: [{ tool: name, args: args as Record<string, unknown> }] }, { text: 'Done.' }];
  return defineAgent({
    name: 'adapted',
    instructions: 'x',
    model: simulated.script(turns),
    tools,
    limits: { maxSteps: 4, maxToolCalls: 4, maxRetries: 2, maxWallMs: 60_000, maxCostUsd: 1 },
    backoff: { baseMs: 0, maxMs: 0 },
  });
}

/** Function tools made with the real `tool()` of @openai/agents-core 0.20.0, recording what ran. */
function agentsTools(ran: { tool: string; input: unknown }[]): OpenAIAgentsFunctionTool[] {
  return [
    tool({
      name: 'lookup_order',
      description: 'Find an order by id.',
      parameters: z.object({ orderId: z.string() }),
      execute: async ({ orderId }) => {
        ran.push({ tool: 'lookup_order', input: { orderId } });
        return { orderId, status: 'shipped' };
      },
    }),
    tool({
      name: 'purge_customer',
      description: 'Delete a customer.',
      parameters: z.object({ customerId: z.string() }),
      execute: async (input) => {
        ran.push({ tool: 'purge_customer', input });
        return 'purged';
      },
    }),
    tool({
      name: 'refund',
      description: 'Refund an order.',
      parameters: {
        type: 'object',
        properties: { orderId: { type: 'string' }, amount: { type: 'number', minimum: 0 } },
        required: ['orderId', 'amount'],
        additionalProperties: false,
      },
      strict: true,
      needsApproval: async (_ctx, input) => (input as { amount: number }).amount > 100,
      execute: async (input) => {
        ran.push({ tool: 'refund', input });
        return `refunded ${(input as { amount: number }).amount}`;
      },
    }),
    tool({
      name: 'wipe_cache',
      description: 'Wipe a cache.',
      parameters: z.object({ key: z.string() }),
      needsApproval: true,
      execute: async (input) => {
        ran.push({ tool: 'wipe_cache', input });
        return 'wiped';
      },
    }),
    tool({
      name: 'resend',
      description: 'Resend an email.',
      parameters: z.object({ to: z.string() }),
      needsApproval: async () => {
        throw new Error('policy service down');
      },
      execute: async (input) => {
        ran.push({ tool: 'resend', input });
        return 'sent';
      },
    }),
  ] as unknown as OpenAIAgentsFunctionTool[];
}

const TIERS = { lookup_order: 'read', purge_customer: 'delete', refund: 'write', wipe_cache: 'write', resend: 'write' } as const;

describe('fromOpenAIAgentsTools: OpenAI Agents SDK tools under Warden', () => {
  it("runs a tool() with zod parameters when the model calls it, through the SDK's own invoke", async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const { warden } = testWarden();
    const run = await warden.run(agentCalling(fromOpenAIAgentsTools(agentsTools(ran), { tiers: TIERS }), 'lookup_order', { orderId: '7' }), 'go');
    assert.equal(run.status, 'completed', run.stopDetail ?? '');
    assert.deepEqual(ran, [{ tool: 'lookup_order', input: { orderId: '7' } }]);
    const succeeded = (await warden.events(run.runId)).find((e) => e.type === 'tool.succeeded');
    assert.ok(succeeded?.type === 'tool.succeeded');
    assert.deepEqual(succeeded.data.result, { orderId: '7', status: 'shipped' });
  });

  it('runs a tool() with a JSON schema whose async needsApproval says no, without a person', async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const { warden } = testWarden();
    const run = await warden.run(agentCalling(fromOpenAIAgentsTools(agentsTools(ran), { tiers: TIERS }), 'refund', { orderId: 'o', amount: 20 }), 'go');
    assert.equal(run.status, 'completed', run.stopDetail ?? '');
    assert.deepEqual(ran, [{ tool: 'refund', input: { orderId: 'o', amount: 20 } }]);
  });

  it('makes a delete-tier tool wait for a person, and runs it once approved', async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const { warden, store } = testWarden();
    const agent = agentCalling(fromOpenAIAgentsTools(agentsTools(ran), { tiers: TIERS }), 'purge_customer', { customerId: 'c-9' });
    const parked = await warden.run(agent, 'go');
    assert.equal(parked.status, 'waiting_approval');
    assert.equal(ran.length, 0);
    const [pending] = await store.listInterventions({ status: 'pending' });
    assert.ok(pending);
    await warden.approve(pending.id, { by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.deepEqual(ran, [{ tool: 'purge_customer', input: { customerId: 'c-9' } }]);
  });

  it('maps needsApproval: true, an async predicate saying yes, and a throwing predicate to a wait for a person', async () => {
    for (const [name, args] of [
      ['wipe_cache', { key: 'k' }],
      ['refund', { orderId: 'o', amount: 500 }],
      ['resend', { to: 'a@b.c' }],
    ] as const) {
      const ran: { tool: string; input: unknown }[] = [];
      const { warden } = testWarden();
      const run = await warden.run(agentCalling(fromOpenAIAgentsTools(agentsTools(ran), { tiers: TIERS }), name, args), 'go');
      assert.equal(run.status, 'waiting_approval', `${name} must wait for a person`);
      assert.equal(ran.length, 0, `${name} must not run before approval`);
    }
  });

  it("rejects arguments that fail the tool's JSON schema before the SDK (or execute) sees them", async () => {
    for (const [name, args] of [
      ['refund', { orderId: 'o', amount: -1 }],
      ['refund', { orderId: 'o', amount: 5, extra: true }],
      ['lookup_order', { orderId: 7 }],
    ] as const) {
      const ran: { tool: string; input: unknown }[] = [];
      const { warden } = testWarden();
      const run = await warden.run(agentCalling(fromOpenAIAgentsTools(agentsTools(ran), { tiers: TIERS }), name, args), 'go');
      assert.equal(ran.length, 0, `${name} ${JSON.stringify(args)} must not run`);
      assert.equal(run.toolCalls[0]?.status, 'rejected');
      assert.equal(run.toolCalls[0]?.error?.code, 'INVALID_TOOL_ARGS');
    }
  });

  it('refuses a tool with no tier, naming it (INVALID_CONFIG); a tier is never inferred', () => {
    const { refund: _omitted, ...partial } = TIERS;
    assert.throws(
      () => fromOpenAIAgentsTools(agentsTools([]), { tiers: partial }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /no tier for "refund"/.test(e.message),
    );
  });

  it('refuses a tool that is not a function tool', () => {
    const hosted = { type: 'hosted_tool', name: 'web_search' } as unknown as OpenAIAgentsFunctionTool;
    assert.throws(
      () => fromOpenAIAgentsTools([hosted], { tiers: { web_search: 'read' } }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /web_search/.test(e.message),
    );
  });

  it('says in the audit where an adapted tool came from and that its tier was declared', () => {
    const report = auditAgent(agentCalling(fromOpenAIAgentsTools(agentsTools([]), { tiers: TIERS }), 'lookup_order', { orderId: '7' }));
    assert.match(report.permissions.tools.find((t) => t.name === 'refund')?.origin ?? '', /OpenAI Agents SDK tool; tier declared/);
  });
});
