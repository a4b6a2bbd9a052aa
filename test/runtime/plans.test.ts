import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool, type AnyTool } from '../../src/agent/tool.ts';
import { scriptedAgent, SideEffects, testWarden } from '../helpers.ts';

/** A shop whose tools declare outputs and data needs, so plans can be checked statically. */
function shopTools(effects: SideEffects): AnyTool[] {
  const record = (tool: string) => (args: unknown) => effects.calls.push({ tool, args, key: '', attempt: 1 });
  return [
    defineTool({
      name: 'find_customer',
      description: 'Find a customer by email',
      tier: 'read',
      input: z.object({ email: z.string().email() }),
      output: z.object({ customerId: z.string(), orders: z.number() }),
      provides: ['customer'],
      execute: (args) => {
        record('find_customer')(args);
        return { customerId: 'c-77', orders: 3 };
      },
    }),
    defineTool({
      name: 'send_voucher',
      description: 'Send a voucher to a customer',
      tier: 'write',
      input: z.object({ customerId: z.string(), amount: z.number().positive().max(50) }),
      requires: ['customer'],
      costUsd: 0.01,
      execute: (args) => {
        record('send_voucher')(args);
        return { sent: true };
      },
    }),
    defineTool({
      name: 'close_account',
      description: 'Close an account',
      tier: 'delete',
      input: z.object({ customerId: z.string() }),
      requires: ['customer'],
      execute: (args) => {
        record('close_account')(args);
        return { closed: true };
      },
    }),
  ];
}

const goodPlan = {
  steps: [
    { id: 'find', tool: 'find_customer', args: { email: 'ana@example.com' } },
    { id: 'voucher', tool: 'send_voucher', args: { customerId: { $ref: 'find.customerId' }, amount: 20 }, dependsOn: ['find'] },
  ],
};

const planTurn = (plan: unknown) => ({ toolCalls: [{ tool: 'submit_plan', args: plan }] });

async function planEvents(warden: ReturnType<typeof testWarden>['warden'], runId: string) {
  const events = await warden.events(runId);
  return {
    events,
    rejected: events.filter((e) => e.type === 'plan.rejected'),
    verified: events.filter((e) => e.type === 'plan.verified'),
    toolsStarted: events.filter((e) => e.type === 'tool.started'),
  };
}

describe('plan verification', () => {
  it('runs a verified plan step by step, each call tied to its plan step', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [
        planTurn(goodPlan),
        { toolCalls: [{ tool: 'find_customer', args: { email: 'ana@example.com' } }] },
        { toolCalls: [{ tool: 'send_voucher', args: { customerId: 'c-77', amount: 20 } }] },
        { text: 'Voucher sent.' },
      ],
      shopTools(effects),
      { plan: true },
    );
    const { warden } = testWarden();
    const result = await warden.run(agent, 'send ana a voucher');
    assert.equal(result.status, 'completed', result.stopDetail ?? '');
    const { events, verified } = await planEvents(warden, result.runId);
    assert.equal(verified.length, 1);
    const assessed = events.filter((e) => e.type === 'step.assessed').map((e) => e.data.planStep);
    assert.deepEqual(assessed, ['find', 'voucher']);
    assert.deepEqual(
      effects.calls.map((c) => c.tool),
      ['find_customer', 'send_voucher'],
    );
  });

  for (const [name, plan, code] of [
    ['names a tool that does not exist', { steps: [{ id: 'a', tool: 'wire_money', args: {} }] }, 'unknown_tool'],
    ['has arguments that fail a schema', { steps: [{ id: 'a', tool: 'find_customer', args: { email: 'not-an-email' } }] }, 'invalid_args'],
    [
      'has unmet data needs (a voucher before anyone found the customer)',
      { steps: [{ id: 'v', tool: 'send_voucher', args: { customerId: 'c-1', amount: 5 } }] },
      'unmet_requirement',
    ],
    [
      'refers to a field the referenced tool does not output',
      { steps: [goodPlan.steps[0], { id: 'v', tool: 'send_voucher', args: { customerId: { $ref: 'find.nope' }, amount: 5 } }] },
      'bad_reference',
    ],
    [
      'refers to an output of the wrong type',
      { steps: [goodPlan.steps[0], { id: 'v', tool: 'send_voucher', args: { customerId: 'c', amount: { $ref: 'find.customerId' } } }] },
      'bad_reference',
    ],
    [
      'has steps that depend on each other in a circle',
      {
        steps: [
          { id: 'a', tool: 'find_customer', args: { email: 'a@b.co' }, dependsOn: ['b'] },
          { id: 'b', tool: 'find_customer', args: { email: 'a@b.co' }, dependsOn: ['a'] },
        ],
      },
      'cycle',
    ],
  ] as const) {
    it(`rejects a plan that ${name}, before any tool runs`, async () => {
      const effects = new SideEffects();
      const agent = scriptedAgent([planTurn(plan)], shopTools(effects), { plan: { maxRejections: 1 } });
      const { warden } = testWarden();
      const result = await warden.run(agent, 'go');
      assert.equal(result.status, 'stopped');
      assert.equal(result.stopReason, 'plan_rejected');
      const { rejected, toolsStarted } = await planEvents(warden, result.runId);
      assert.equal(rejected.length, 2, 'rejected, sent back once, rejected again');
      assert.ok(
        rejected[0]?.data.issues.some((i) => i.code === code),
        JSON.stringify(rejected[0]?.data.issues),
      );
      assert.equal(toolsStarted.length, 0);
      assert.equal(effects.calls.length, 0);
    });
  }

  it('rejects a plan whose estimated cost does not fit what is left of the ceiling', async () => {
    const effects = new SideEffects();
    const steps = [
      goodPlan.steps[0],
      ...Array.from({ length: 6 }, (_, i) => ({ id: `v${i}`, tool: 'send_voucher', args: { customerId: { $ref: 'find.customerId' }, amount: 10 } })),
    ];
    const agent = scriptedAgent([planTurn({ steps })], shopTools(effects), { plan: { maxRejections: 0 }, limits: { maxCostUsd: 0.05 } });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'go');
    assert.equal(result.stopReason, 'plan_rejected');
    const { rejected } = await planEvents(warden, result.runId);
    assert.ok(rejected[0]?.data.issues.some((i) => i.code === 'over_budget'));
    assert.equal(effects.calls.length, 0);
  });

  it('sends a rejected plan back with reasons, and accepts the corrected one', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [
        planTurn({ steps: [{ id: 'v', tool: 'send_voucher', args: { customerId: 'c-77', amount: 20 } }] }),
        planTurn(goodPlan),
        { toolCalls: [{ tool: 'find_customer', args: { email: 'ana@example.com' } }] },
        { toolCalls: [{ tool: 'send_voucher', args: { customerId: 'c-77', amount: 20 } }] },
        { text: 'done' },
      ],
      shopTools(effects),
      { plan: true },
    );
    const { warden } = testWarden();
    const result = await warden.run(agent, 'go');
    assert.equal(result.status, 'completed');
    const { rejected, verified } = await planEvents(warden, result.runId);
    assert.equal(rejected.length, 1);
    assert.equal(verified.length, 1);
  });

  it('refuses tool calls before a plan is verified', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'find_customer', args: { email: 'a@b.co' } }] }, { text: 'ok' }], shopTools(effects), { plan: true });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'go');
    assert.equal(result.toolCalls[0]?.status, 'rejected');
    assert.equal(effects.calls.length, 0);
  });

  it('re-verifies a call that departs from the plan, and rejects it when it cannot run on its own', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [
        planTurn({ steps: [goodPlan.steps[0]] }),
        // Not in the plan, and its data need is unmet: rejected even though the tool exists.
        { toolCalls: [{ tool: 'send_voucher', args: { customerId: 'c-9', amount: 5 } }] },
        // Not in the plan, but fine on its own: allowed, recorded as an amendment.
        { toolCalls: [{ tool: 'find_customer', args: { email: 'bob@example.com' } }] },
        { text: 'done' },
      ],
      shopTools(effects),
      { plan: true },
    );
    const { warden } = testWarden();
    const result = await warden.run(agent, 'go');
    assert.equal(result.status, 'completed');
    const events = await warden.events(result.runId);
    const rejected = events.find((e) => e.type === 'tool.rejected');
    assert.equal(rejected?.type === 'tool.rejected' && rejected.data.error.code, 'PLAN_DEVIATION');
    assert.equal(events.filter((e) => e.type === 'plan.amended').length, 1);
    assert.deepEqual(
      effects.calls.map((c) => c.tool),
      ['find_customer'],
    );
  });

  it('escalates a departure from the plan when configured to', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [planTurn({ steps: [goodPlan.steps[0]] }), { toolCalls: [{ tool: 'find_customer', args: { email: 'other@example.com' } }] }, { text: 'done' }],
      shopTools(effects),
      { plan: { onDeviation: 'escalate' } },
    );
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    assert.equal(parked.status, 'escalated');
    assert.equal(effects.calls.length, 0);
    await warden.decideEscalation(parked.pending!.id, { decision: 'approve', by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(effects.count('find_customer'), 1);
  });

  it('lets a person approve a plan as a whole, covering exactly its steps', async () => {
    const effects = new SideEffects();
    // The approver sees the delete's arguments as they will run (a `$ref` step is not covered: see test/invariants/approvals.test.ts).
    const plan = { steps: [goodPlan.steps[0], { id: 'close', tool: 'close_account', args: { customerId: 'c-77' }, dependsOn: ['find'] }] };
    const agent = scriptedAgent(
      [
        planTurn(plan),
        { toolCalls: [{ tool: 'find_customer', args: { email: 'ana@example.com' } }] },
        { toolCalls: [{ tool: 'close_account', args: { customerId: 'c-77' } }] },
        // The same delete with other arguments is not covered: it asks again.
        { toolCalls: [{ tool: 'close_account', args: { customerId: 'c-78' } }] },
        { text: 'done' },
      ],
      shopTools(effects),
      { plan: { approveAsWhole: true, onDeviation: 'reverify' } },
    );
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'close ana');
    assert.equal(parked.status, 'waiting_approval');
    assert.equal(parked.pending?.tool, 'submit_plan');
    await warden.approve(parked.pending!.id, { by: 'ana' });
    const next = await warden.execute(agent, parked.runId);
    assert.equal(next.status, 'waiting_approval', 'the unplanned delete waits for its own approval');
    assert.deepEqual(
      effects.calls.map((c) => c.tool),
      ['find_customer', 'close_account'],
    );
    const events = await warden.events(parked.runId);
    const covered = events.find((e) => e.type === 'approval.decided' && e.data.approvalId.includes('#close'));
    assert.ok(covered, 'the planned delete carries a recorded approval of those exact arguments');
  });
});
