import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineAgent, type PolicyConfig } from '../agent/agent.ts';
import { defineTool } from '../agent/tool.ts';
import { simulated } from '../model/simulated.ts';
import type { Plan, PlanIssueCode, PlanStep } from '../core/plan.ts';
import { verifyPlan, type PlanContext } from './plan-verifier.ts';

const findCustomer = defineTool({
  name: 'find_customer',
  description: 'Find a customer',
  tier: 'read',
  input: z.object({ email: z.string().email() }),
  output: z.object({ customerId: z.string(), orders: z.number() }),
  provides: ['customer'],
  execute: () => ({ customerId: 'c-1', orders: 2 }),
});
const sendVoucher = defineTool({
  name: 'send_voucher',
  description: 'Send a voucher',
  tier: 'write',
  input: z.object({ customerId: z.string(), amount: z.number().positive().max(50) }),
  requires: ['customer'],
  costUsd: 0.01,
  execute: () => ({ sent: true }),
});
const closeAccount = defineTool({
  name: 'close_account',
  description: 'Close',
  tier: 'delete',
  input: z.object({ customerId: z.string() }),
  requires: ['customer'],
  execute: () => ({}),
});
const note = defineTool({ name: 'note', description: 'Note', tier: 'read', input: z.object({ text: z.string() }), execute: () => 'ok' });
const fragile = defineTool({
  name: 'fragile',
  description: 'A schema that throws',
  tier: 'read',
  input: z.object({ n: z.number() }).refine(() => {
    throw new Error('refine exploded');
  }),
  execute: () => 'ok',
});

function agentWith(policy: PolicyConfig = {}) {
  return defineAgent({
    name: 'planner',
    instructions: 'x',
    model: simulated.script([{ text: 'ok' }]),
    tools: [findCustomer, sendVoucher, closeAccount, note, fragile],
    policy,
  });
}

const roomy: PlanContext = { establishedFacts: new Set(), remainingToolCalls: 10, remainingSteps: 10, remainingNano: 1_000_000_000, modelCallNano: 1_000_000 };
const find = { id: 'find', tool: 'find_customer', args: { email: 'a@b.co' } };
const send = { id: 'send', tool: 'send_voucher', args: { customerId: { $ref: 'find.customerId' }, amount: 5 } };

async function codes(plan: Plan, ctx: PlanContext = roomy, policy: PolicyConfig = {}): Promise<PlanIssueCode[]> {
  const v = await verifyPlan(plan, agentWith(policy), ctx);
  return v.ok ? [] : v.issues.map((i) => i.code);
}

async function issues(plan: Plan, ctx: PlanContext = roomy) {
  const v = await verifyPlan(plan, agentWith(), ctx);
  assert.equal(v.ok, false, 'expected the plan to be rejected');
  return (v as { issues: { code: PlanIssueCode; step?: string; message: string }[] }).issues;
}

describe('plan verifier: a sound plan', () => {
  it('accepts it with an order that respects dependencies, its model calls, price and the steps needing a person', async () => {
    const plan = { steps: [send, find, { id: 'close', tool: 'close_account', args: { customerId: 'c-1' }, dependsOn: ['find'] }] };
    const v = await verifyPlan(plan, agentWith(), roomy);
    assert.ok(v.ok);
    assert.deepEqual(v.order, ['find', 'send', 'close']);
    assert.equal(v.modelCalls, 3, 'two levels of the graph, then the answer');
    assert.equal(v.estimateNano, 10_000_000 + 3 * 1_000_000);
    assert.deepEqual(v.needsApproval, ['close']);
  });

  it('counts a requirement met by a call that already ran', async () => {
    const ctx = { ...roomy, establishedFacts: new Set(['customer']) };
    assert.deepEqual(await codes({ steps: [{ id: 'send', tool: 'send_voucher', args: { customerId: 'c-1', amount: 5 } }] }, ctx), []);
  });
});

describe('plan verifier: each issue code', () => {
  it('duplicate_step: two steps with one id', async () => {
    assert.deepEqual(await codes({ steps: [find, { ...find }] }), ['duplicate_step']);
  });

  it('unknown_tool: a step names a tool the agent lacks, listing those it has', async () => {
    const [issue] = await issues({ steps: [{ id: 'x', tool: 'launch_rocket', args: {} }] });
    assert.ok(issue, 'the verifier found an issue');
    assert.equal(issue.code, 'unknown_tool');
    assert.match(issue.message, /Available: find_customer, send_voucher, close_account, note, fragile\./);
  });

  it('unknown_tool: the plan tool itself cannot be a step', async () => {
    assert.deepEqual(await codes({ steps: [{ id: 'x', tool: 'submit_plan', args: {} }] }), ['unknown_tool']);
  });

  it('invalid_args: a literal argument breaks the schema, while parts given by references are left for later', async () => {
    const [issue] = await issues({ steps: [find, { ...send, args: { customerId: { $ref: 'find.customerId' }, amount: 500 } }] });
    assert.ok(issue, 'the verifier found an issue');
    assert.equal(issue.code, 'invalid_args');
    assert.equal(issue.step, 'send');
    assert.match(issue.message, /amount/);
    assert.doesNotMatch(issue.message, /customerId/);
  });

  it("invalid_args: the schema's own check throws", async () => {
    const [issue] = await issues({ steps: [{ id: 'f', tool: 'fragile', args: { n: 1 } }] });
    assert.ok(issue, 'the verifier found an issue');
    assert.equal(issue.code, 'invalid_args');
    assert.match(issue.message, /the schema's own check threw \(refine exploded\)/);
  });

  const badReferences: [label: string, step: PlanStep, pattern: RegExp][] = [
    ['dependsOn names no step', { id: 'n', tool: 'note', args: { text: 'x' }, dependsOn: ['ghost'] }, /depends on "ghost"/],
    ['dependsOn names the step itself', { id: 'n', tool: 'note', args: { text: 'x' }, dependsOn: ['n'] }, /depends on "n"/],
    ['a reference to no step', { id: 'n', tool: 'note', args: { text: { $ref: 'ghost.x' } } }, /refers to "ghost"/],
    ['a reference to the step itself', { id: 'n', tool: 'note', args: { text: { $ref: 'n.x' } } }, /refers to "n"/],
    ['a reference to a tool without an output schema', { id: 'n2', tool: 'note', args: { text: { $ref: 'n.x' } } }, /note declares no output schema/],
    ['a reference to a field the output lacks', { id: 'n2', tool: 'note', args: { text: { $ref: 'find.nickname' } } }, /has no such field/],
    [
      'a reference whose type does not fit',
      { id: 'n2', tool: 'note', args: { text: { $ref: 'find.orders' } } },
      /expects .*string.*, but find\.orders is .*number/,
    ],
  ];
  for (const [label, step, pattern] of badReferences) {
    it(`bad_reference: ${label}`, async () => {
      const others = [find, { id: 'n', tool: 'note', args: { text: 'x' } }].filter((s) => s.id !== step.id);
      const found = (await issues({ steps: [...others, step] })).filter((i) => i.code === 'bad_reference');
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.match(found[0]?.message ?? '', pattern);
    });
  }

  it('cycle: steps that depend on each other in a circle', async () => {
    const plan = {
      steps: [
        { id: 'a', tool: 'note', args: { text: 'x' }, dependsOn: ['b'] },
        { id: 'b', tool: 'note', args: { text: 'y' }, dependsOn: ['a'] },
      ],
    };
    const [issue] = await issues(plan);
    assert.ok(issue, 'the verifier found an issue');
    assert.equal(issue.code, 'cycle');
    assert.match(issue.message, /a → b → a/);
  });

  it('unmet_requirement: a step needs a fact no step it depends on provides, naming the tools that would', async () => {
    const [issue] = await issues({ steps: [find, { id: 'send', tool: 'send_voucher', args: { customerId: 'c-1', amount: 5 } }] });
    assert.ok(issue, 'the verifier found an issue');
    assert.equal(issue.code, 'unmet_requirement');
    assert.match(issue.message, /requires "customer", which no step it depends on provides \(find_customer would\)/);
  });

  it('too_many_steps: more steps than tool calls left, at the limit accepted', async () => {
    const plan = { steps: [find, send] };
    assert.deepEqual(await codes(plan, { ...roomy, remainingToolCalls: 2 }), []);
    assert.deepEqual(await codes(plan, { ...roomy, remainingToolCalls: 1 }), ['too_many_steps']);
  });

  it('too_many_steps: more model calls than steps left, at the limit accepted', async () => {
    const plan = { steps: [find, send] }; // 2 levels + the answer = 3 model calls
    assert.deepEqual(await codes(plan, { ...roomy, remainingSteps: 3 }), []);
    assert.deepEqual(await codes(plan, { ...roomy, remainingSteps: 2 }), ['too_many_steps']);
  });

  it('over_budget: the estimate is over what is left, at exactly what is left accepted', async () => {
    const plan = { steps: [find, send] };
    const estimate = 10_000_000 + 3 * 1_000_000;
    assert.deepEqual(await codes(plan, { ...roomy, remainingNano: estimate }), []);
    const v = await verifyPlan(plan, agentWith(), { ...roomy, remainingNano: estimate - 1 });
    assert.equal(v.ok, false);
    assert.deepEqual(
      (v as { issues: { code: string }[] }).issues.map((i) => i.code),
      ['over_budget'],
    );
    assert.equal(v.estimateNano, estimate);
  });

  it('denied: the policy would deny a step', async () => {
    const policy = { rules: [{ name: 'no-vouchers', tools: ['send_voucher'], decision: 'deny' as const, reason: 'vouchers are off' }] };
    const v = await verifyPlan({ steps: [find, send] }, agentWith(policy), roomy);
    assert.equal(v.ok, false);
    const [issue] = (v as { issues: { code: string; step?: string; message: string }[] }).issues;
    assert.ok(issue, 'the verifier found an issue');
    assert.equal(issue.code, 'denied');
    assert.equal(issue.step, 'send');
    assert.match(issue.message, /vouchers are off \(rule:no-vouchers\)/);
  });

  it('reports every problem at once, not just the first', async () => {
    const plan = {
      steps: [
        { id: 'x', tool: 'launch_rocket', args: {} },
        { id: 'x', tool: 'send_voucher', args: { customerId: 'c', amount: 500 } },
      ],
    };
    assert.deepEqual((await codes(plan, { ...roomy, remainingToolCalls: 1 })).sort(), [
      'duplicate_step',
      'invalid_args',
      'too_many_steps',
      'unknown_tool',
      'unmet_requirement',
    ]);
  });
});
