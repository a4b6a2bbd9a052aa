import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineAgent, type PolicyConfig } from '../agent/agent.ts';
import { defineTool, type AnyTool } from '../agent/tool.ts';
import { simulated } from '../model/simulated.ts';
import { askPredicate, decidePolicy } from './policy.ts';

const input = z.object({ amount: z.number() });
const tool = (name: string, tier: 'read' | 'write' | 'delete', extra: Record<string, unknown> = {}): AnyTool =>
  defineTool({ name, description: name, tier, input, execute: () => 'ok', ...extra } as Parameters<typeof defineTool>[0]);

const read = tool('read_order', 'read');
const write = tool('refund', 'write');
const wipe = tool('wipe', 'delete');

function agentWith(policy: PolicyConfig = {}, tools: AnyTool[] = [read, write, wipe]) {
  return defineAgent({
    name: 'policy-agent',
    instructions: 'x',
    model: simulated.script([{ text: 'ok' }]),
    tools,
    policy: { predicateTimeoutMs: 50, ...policy },
  });
}

describe('policy: tier defaults', () => {
  it('allows read and write tiers and sends the delete tier to a person', async () => {
    assert.deepEqual(await decidePolicy(agentWith(), read, { amount: 1 }), {
      decision: 'allow',
      rule: 'tier:read',
      reason: 'read-tier tools run unless a rule asks otherwise',
    });
    assert.equal((await decidePolicy(agentWith(), write, { amount: 1 })).rule, 'tier:write');
    assert.deepEqual(await decidePolicy(agentWith(), wipe, { amount: 1 }), {
      decision: 'approve',
      rule: 'tier:delete',
      reason: 'delete-tier tools always wait for a person',
    });
  });

  it('runs a delete tool without a person only when the agent waives it by name', async () => {
    const v = await decidePolicy(agentWith({ dangerouslyAllowDeleteWithoutApproval: ['wipe'] }), wipe, { amount: 1 });
    assert.equal(v.decision, 'allow');
    assert.equal(v.rule, 'policy:dangerouslyAllowDeleteWithoutApproval');
  });

  it('sends a tool of an unknown tier to a person', async () => {
    const odd = { ...read, tier: 'admin' } as unknown as AnyTool;
    const v = await decidePolicy(agentWith(), odd, {});
    assert.equal(v.decision, 'approve');
    assert.equal(v.rule, 'tier:unknown');
    assert.match(v.reason, /"admin" is not read, write or delete/);
  });
});

describe("policy: a tool's approval", () => {
  it('asks a person when approval is true', async () => {
    const v = await decidePolicy(agentWith(), tool('ask', 'read', { approval: true }), { amount: 1 });
    assert.deepEqual(v, { decision: 'approve', rule: 'tool:ask.approval', reason: 'the tool always asks for approval' });
  });

  it('asks a person for the arguments a sync or async predicate picks, and allows the rest', async () => {
    for (const approval of [(a: { amount: number }) => a.amount > 100, async (a: { amount: number }) => a.amount > 100]) {
      const t = tool('refund2', 'write', { approval });
      assert.equal((await decidePolicy(agentWith(), t, { amount: 101 })).decision, 'approve');
      assert.equal((await decidePolicy(agentWith(), t, { amount: 100 })).decision, 'allow');
    }
  });

  for (const [label, approval, why] of [
    [
      'throws',
      () => {
        throw new Error('boom');
      },
      /predicate threw \(boom\), so a person decides/,
    ],
    [
      'rejects',
      async () => {
        throw new Error('nope');
      },
      /threw \(nope\)/,
    ],
    ['answers a non-boolean', () => 'yes', /returned "yes", not true or false/],
    ['never answers', () => new Promise(() => {}), /gave no answer within 50 ms/],
  ] as const) {
    it(`fails closed (a person decides) when the approval predicate ${label}`, async () => {
      const v = await decidePolicy(agentWith(), tool('p', 'read', { approval }), { amount: 1 });
      assert.equal(v.decision, 'approve');
      assert.match(v.reason, why);
    });
  }

  it('asks a person when approval is neither a boolean nor a predicate', async () => {
    const odd = { ...read, approval: 'sometimes' } as unknown as AnyTool;
    const v = await decidePolicy(agentWith(), odd, {});
    assert.equal(v.decision, 'approve');
    assert.match(v.reason, /approval is "sometimes", not a boolean or a predicate/);
  });

  it('cannot loosen the delete tier: approval false on a delete tool still asks a person', async () => {
    assert.equal((await decidePolicy(agentWith(), tool('wipe2', 'delete', { approval: false }), {})).decision, 'approve');
  });
});

describe('policy: rules', () => {
  it('lets the strictest matching rule win, whatever the order', async () => {
    const rules = [
      { name: 'ok', decision: 'allow' as const },
      { name: 'no-big', decision: 'deny' as const, when: (a: { amount: number }) => a.amount > 1_000, reason: 'too big' },
      { name: 'check', decision: 'approve' as const, when: (a: { amount: number }) => a.amount > 100 },
    ];
    for (const order of [rules, [...rules].reverse()]) {
      const agent = agentWith({ rules: order });
      assert.deepEqual(await decidePolicy(agent, write, { amount: 5_000 }), { decision: 'deny', rule: 'rule:no-big', reason: 'too big' });
      assert.deepEqual(await decidePolicy(agent, write, { amount: 500 }), { decision: 'approve', rule: 'rule:check', reason: 'matched rule check' });
      assert.equal((await decidePolicy(agent, write, { amount: 5 })).decision, 'allow');
    }
  });

  it('never lets an allow rule loosen a stricter default', async () => {
    const v = await decidePolicy(agentWith({ rules: [{ name: 'yes', decision: 'allow' }] }), wipe, {});
    assert.equal(v.rule, 'tier:delete');
  });

  it('keeps the earlier verdict when a later one is only as strict', async () => {
    const v = await decidePolicy(
      agentWith({
        rules: [
          { name: 'a', decision: 'approve' },
          { name: 'b', decision: 'approve' },
        ],
      }),
      read,
      {},
    );
    assert.equal(v.rule, 'rule:a');
  });

  it('applies a rule only to the tools and tiers it names', async () => {
    const agent = agentWith({
      rules: [
        { name: 'refunds', tools: ['refund'], decision: 'deny' },
        { name: 'reads', tiers: ['read'], decision: 'approve' },
      ],
    });
    assert.equal((await decidePolicy(agent, write, {})).rule, 'rule:refunds');
    assert.equal((await decidePolicy(agent, read, {})).rule, 'rule:reads');
    assert.equal((await decidePolicy(agent, wipe, {})).rule, 'tier:delete');
  });

  for (const [decision, expected] of [
    ['deny', 'deny'],
    ['approve', 'approve'],
    ['allow', 'allow'],
  ] as const) {
    it(`fails closed when a ${decision} rule's condition throws: the rule ${decision === 'allow' ? 'does not match' : 'matches'}`, async () => {
      const agent = agentWith({
        rules: [
          {
            name: 'r',
            decision,
            when: () => {
              throw new Error('bad');
            },
          },
        ],
      });
      const v = await decidePolicy(agent, read, {});
      assert.equal(v.decision, expected);
      if (decision !== 'allow') assert.match(v.reason, /rule r's condition threw \(bad\); failing closed/);
      else assert.equal(v.rule, 'tier:read');
    });
  }

  it("fails closed when a deny rule's condition does not answer in time", async () => {
    const agent = agentWith({ rules: [{ name: 'slow', decision: 'deny', when: () => new Promise<boolean>(() => {}) }] });
    const v = await decidePolicy(agent, read, {});
    assert.equal(v.decision, 'deny');
    assert.match(v.reason, /gave no answer within 50 ms/);
  });
});

describe('policy: asking a predicate', () => {
  it('describes a thrown non-error, a function and an async non-boolean answer in words', async () => {
    assert.deepEqual(
      await askPredicate(
        () => {
          throw 42;
        },
        {},
        50,
      ),
      { ok: false, why: 'threw (42)' },
    );
    assert.deepEqual(await askPredicate(() => () => true, {}, 50), { ok: false, why: 'returned a function, not true or false' });
    assert.deepEqual(await askPredicate(async () => ({ ok: 1 }), {}, 50), { ok: false, why: 'returned {"ok":1}, not true or false' });
    assert.deepEqual(await askPredicate(() => true, {}, 50), { ok: true, value: true });
  });
});
