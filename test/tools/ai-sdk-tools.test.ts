import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonSchema, tool, zodSchema } from 'ai';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { simulated } from '../../src/model/simulated.ts';
import { fromAiSdkTools } from '../../src/tools/adapters/ai-sdk-tools.ts';
import { testWarden } from '../helpers.ts';

type Turns = Parameters<typeof simulated.script>[0];

/** An agent whose model calls `name` with `args`, then answers. */
function agentCalling(tools: ReturnType<typeof fromAiSdkTools>, name: string, args: unknown) {
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

/** AI SDK tools made with the real `tool()` and `jsonSchema()` from 'ai', recording what ran. */
function aiTools(ran: { tool: string; input: unknown }[]) {
  return {
    lookupOrder: tool({
      description: 'Find an order by id.',
      inputSchema: z.object({ orderId: z.string() }),
      execute: async ({ orderId }) => {
        ran.push({ tool: 'lookupOrder', input: { orderId } });
        return { orderId, status: 'shipped' };
      },
    }),
    closeAccount: tool({
      description: 'Close a customer account.',
      inputSchema: z.object({ customerId: z.string() }),
      execute: async (input) => {
        ran.push({ tool: 'closeAccount', input });
        return { closed: input.customerId };
      },
    }),
    refund: tool({
      description: 'Refund an order.',
      inputSchema: jsonSchema<{ orderId: string; amount: number }>({
        type: 'object',
        properties: { orderId: { type: 'string' }, amount: { type: 'number', minimum: 0 } },
        required: ['orderId', 'amount'],
        additionalProperties: false,
      }),
      needsApproval: async (input) => input.amount > 100,
      execute: async (input) => {
        ran.push({ tool: 'refund', input });
        return { refunded: input.amount };
      },
    }),
    wipe: tool({
      description: 'Wipe a cache.',
      inputSchema: z.object({ key: z.string() }),
      needsApproval: true,
      execute: async (input) => {
        ran.push({ tool: 'wipe', input });
        return { wiped: input.key };
      },
    }),
    resend: tool({
      description: 'Resend an email.',
      inputSchema: z.object({ to: z.string() }),
      needsApproval: () => {
        throw new Error('policy service down');
      },
      execute: async (input) => {
        ran.push({ tool: 'resend', input });
        return { sent: input.to };
      },
    }),
    validated: tool({
      description: 'A JSON-Schema tool whose schema brings its own validate.',
      inputSchema: jsonSchema<{ n: number }>(
        { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
        {
          validate: (value) =>
            typeof (value as { n?: unknown }).n === 'number' && (value as { n: number }).n % 2 === 0
              ? { success: true, value: value as { n: number } }
              : { success: false, error: new Error('n must be even') },
        },
      ),
      execute: async (input) => {
        ran.push({ tool: 'validated', input });
        return input;
      },
    }),
  };
}

const TIERS = { lookupOrder: 'read', closeAccount: 'delete', refund: 'write', wipe: 'write', resend: 'write', validated: 'read' } as const;

describe('fromAiSdkTools: AI SDK tools under Warden', () => {
  it("runs a zod tool from ai's tool() when the model calls it, on its declared tier", async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const { warden } = testWarden();
    const run = await warden.run(agentCalling(fromAiSdkTools(aiTools(ran), { tiers: TIERS }), 'lookupOrder', { orderId: '1042' }), 'where is 1042?');
    assert.equal(run.status, 'completed', run.stopDetail ?? '');
    assert.deepEqual(ran, [{ tool: 'lookupOrder', input: { orderId: '1042' } }]);
    const succeeded = (await warden.events(run.runId)).find((e) => e.type === 'tool.succeeded');
    assert.ok(succeeded?.type === 'tool.succeeded');
    assert.deepEqual(succeeded.data.result, { orderId: '1042', status: 'shipped' });
  });

  it('makes a delete-tier tool wait for a person, and runs it once approved', async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const { warden, store } = testWarden();
    const agent = agentCalling(fromAiSdkTools(aiTools(ran), { tiers: TIERS }), 'closeAccount', { customerId: 'c-1' });
    const parked = await warden.run(agent, 'close it');
    assert.equal(parked.status, 'waiting_approval');
    assert.equal(ran.length, 0);
    const [pending] = await store.listInterventions({ status: 'pending' });
    assert.ok(pending);
    await warden.approve(pending.id, { by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.deepEqual(ran, [{ tool: 'closeAccount', input: { customerId: 'c-1' } }]);
  });

  it('maps needsApproval: true, an async predicate saying yes, and a throwing predicate to a wait for a person', async () => {
    for (const [name, args] of [
      ['wipe', { key: 'k' }],
      ['refund', { orderId: 'o', amount: 500 }],
      ['resend', { to: 'a@b.c' }],
    ] as const) {
      const ran: { tool: string; input: unknown }[] = [];
      const { warden } = testWarden();
      const run = await warden.run(agentCalling(fromAiSdkTools(aiTools(ran), { tiers: TIERS }), name, args), 'go');
      assert.equal(run.status, 'waiting_approval', `${name} must wait for a person`);
      assert.equal(ran.length, 0, `${name} must not run before approval`);
    }
  });

  it('runs a write tool whose async needsApproval says no, without a person', async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const { warden } = testWarden();
    const run = await warden.run(agentCalling(fromAiSdkTools(aiTools(ran), { tiers: TIERS }), 'refund', { orderId: 'o', amount: 20 }), 'go');
    assert.equal(run.status, 'completed', run.stopDetail ?? '');
    assert.deepEqual(ran, [{ tool: 'refund', input: { orderId: 'o', amount: 20 } }]);
  });

  it("shows the model a jsonSchema() tool's own schema, and rejects arguments that fail it before execute (ajv)", async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const tools = fromAiSdkTools(aiTools(ran), { tiers: TIERS });
    const refund = tools.find((t) => t.name === 'refund')!;
    assert.deepEqual(refund.jsonSchema.required, ['orderId', 'amount']);
    const { warden } = testWarden();
    const run = await warden.run(agentCalling(tools, 'refund', { orderId: 'o', amount: -5 }), 'go');
    assert.equal(ran.length, 0, 'invalid arguments never reach execute');
    assert.equal(run.toolCalls[0]?.status, 'rejected');
    assert.match(run.toolCalls[0]?.error?.message ?? '', /amount: must be >= 0/);
  });

  it("checks a jsonSchema() tool with the schema's own validate when it has one", async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const { warden } = testWarden();
    const odd = await warden.run(agentCalling(fromAiSdkTools(aiTools(ran), { tiers: TIERS }), 'validated', { n: 3 }), 'go');
    assert.equal(ran.length, 0);
    assert.match(odd.toolCalls[0]?.error?.message ?? '', /n must be even/);
    const even = await warden.run(agentCalling(fromAiSdkTools(aiTools(ran), { tiers: TIERS }), 'validated', { n: 4 }), 'go');
    assert.equal(even.status, 'completed');
    assert.deepEqual(ran, [{ tool: 'validated', input: { n: 4 } }]);
  });

  it('checks a schema with an async validate (zodSchema(), or jsonSchema(…, { validate: async })) before execute runs', async () => {
    const ran: unknown[] = [];
    const tools = fromAiSdkTools(
      {
        count: tool({
          description: 'Count.',
          inputSchema: zodSchema(z.object({ n: z.number().int() })),
          execute: async (input) => {
            ran.push(input);
            return input;
          },
        }),
        picky: tool({
          description: 'Accepts nothing.',
          inputSchema: jsonSchema<{ n: number }>(
            { type: 'object' },
            { validate: async () => ({ success: false, error: new Error('refused by its own validate') }) },
          ),
          execute: async (input) => {
            ran.push(input);
            return input;
          },
        }),
      },
      { tiers: { count: 'read', picky: 'read' } },
    );
    const { warden } = testWarden();
    const fractional = await warden.run(agentCalling(tools, 'count', { n: 1.5 }), 'go');
    assert.equal(fractional.toolCalls[0]?.status, 'rejected', 'the JSON Schema is checked (ajv) when validate is async');
    const whole = await warden.run(agentCalling(tools, 'count', { n: 2 }), 'go');
    assert.equal(whole.status, 'completed', whole.stopDetail ?? '');
    assert.deepEqual(ran, [{ n: 2 }]);
    const picky = await warden.run(agentCalling(tools, 'picky', { n: 1 }), 'go');
    assert.deepEqual(ran, [{ n: 2 }], 'the async validate is awaited before execute, and its no stops the call');
    assert.equal(picky.toolCalls[0]?.error?.code, 'INVALID_TOOL_ARGS');
    assert.match(picky.toolCalls[0]?.error?.message ?? '', /refused by its own validate/);
  });

  it('rejects invalid arguments to a zod tool before execute', async () => {
    const ran: { tool: string; input: unknown }[] = [];
    const { warden } = testWarden();
    const run = await warden.run(agentCalling(fromAiSdkTools(aiTools(ran), { tiers: TIERS }), 'lookupOrder', { orderId: 42 }), 'go');
    assert.equal(ran.length, 0);
    assert.equal(run.toolCalls[0]?.status, 'rejected');
  });

  it('refuses a tool with no tier, naming it (INVALID_CONFIG); a tier is never inferred', () => {
    const { closeAccount: _omitted, ...partial } = TIERS;
    assert.throws(
      () => fromAiSdkTools(aiTools([]), { tiers: partial as typeof TIERS }),
      (e) =>
        isWardenError(e, 'INVALID_CONFIG') && /no tier for "closeAccount"/.test(e.message) && /closeAccount: 'read' \| 'write' \| 'delete'/.test(e.message),
    );
    assert.throws(
      () => fromAiSdkTools(aiTools([]), { tiers: { ...TIERS, closeAcount: 'read' } as typeof TIERS }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /closeAcount/.test(e.message),
    );
    assert.throws(
      () => fromAiSdkTools(aiTools([]), { tiers: { ...TIERS, wipe: 'admin' } as unknown as typeof TIERS }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /tiers\.wipe/.test(e.message),
    );
  });

  it('refuses a tool it cannot run: no execute', () => {
    const clientSide = { ask: tool({ description: 'Ask the user.', inputSchema: z.object({ q: z.string() }) }) };
    assert.throws(
      () => fromAiSdkTools(clientSide, { tiers: { ask: 'read' } }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /"ask" has no execute/.test(e.message),
    );
  });
});
