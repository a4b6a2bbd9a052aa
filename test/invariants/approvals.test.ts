import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { decidePolicy } from '../../src/guard/policy.ts';
import { defineTool, type AnyTool } from '../../src/agent/tool.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { simulated } from '../../src/model/simulated.ts';
import { mcpTier, mcpTools } from '../../src/tools/mcp/mcp-tools.ts';
import { hashValue } from '../../src/core/canonical.ts';
import type { AnyRunEvent } from '../../src/core/events.ts';
import { scriptedAgent, SideEffects, testWarden } from '../helpers.ts';

/** Refunds: a rule denies more than $1,000; more than $100 waits for a person. */
function refundTools(effects: SideEffects, extra: Partial<Parameters<typeof defineTool>[0]> = {}): AnyTool[] {
  return [
    defineTool({
      name: 'refund',
      description: 'Refund an order',
      tier: 'write',
      input: z.object({ orderId: z.string(), amount: z.number().positive() }),
      approval: (args: { amount: number }) => args.amount > 100,
      execute: (args: { amount: number }, ctx: { idempotencyKey: string; attempt: number }) => {
        effects.calls.push({ tool: 'refund', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return { refunded: args.amount };
      },
      ...extra,
    } as Parameters<typeof defineTool>[0]),
  ];
}

const noBigRefunds = {
  rules: [{ name: 'no-refunds-over-1000', tools: ['refund'], when: (a: { amount: number }) => a.amount > 1000, decision: 'deny' as const }],
};
const refundTurn = (amount: number, confidence?: number) => ({
  toolCalls: [{ tool: 'refund', args: { orderId: 'o-1', amount } }],
  ...(confidence !== undefined ? { confidence } : {}),
});
const types = (events: AnyRunEvent[]) => events.map((e) => e.type);

describe('the person approves exactly what runs: edited arguments', () => {
  it('denies an edit at a low-confidence escalation that a rule denies', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([refundTurn(50, 0.1), { text: 'done', confidence: 0.9 }], refundTools(effects), {
      escalation: { threshold: 0.6 },
      policy: noBigRefunds,
    });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'refund');
    assert.equal(parked.status, 'escalated');
    await warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: { orderId: 'o-1', amount: 5000 }, by: 'bob' });
    await warden.execute(agent, parked.runId);
    assert.equal(effects.count('refund'), 0, 'the $5,000 refund never ran');
    const denied = (await warden.events(parked.runId)).find((e) => e.type === 'tool.denied');
    assert.equal(denied?.type === 'tool.denied' && denied.data.by, 'rule:no-refunds-over-1000');
  });

  it('sends an edit of a call with an unknown outcome through policy: a denied amount never runs', async () => {
    const effects = new SideEffects();
    let hang = true;
    const tools = refundTools(effects, {
      timeoutMs: 20,
      execute: (args: { amount: number }, ctx: { idempotencyKey: string; attempt: number }) => {
        effects.calls.push({ tool: 'refund', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return hang ? new Promise(() => {}) : { refunded: args.amount };
      },
    });
    const agent = scriptedAgent([refundTurn(50), { text: 'done' }], tools, { policy: noBigRefunds });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'refund');
    assert.equal(parked.status, 'escalated', 'the timed-out refund has an unknown outcome');
    hang = false;
    await warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: { orderId: 'o-1', amount: 5000 }, by: 'bob' });
    await warden.execute(agent, parked.runId);
    assert.deepEqual(
      effects.calls.map((c) => (c.args as { amount: number }).amount),
      [50],
      'only the first, hung attempt ever ran',
    );
    assert.ok(types(await warden.events(parked.runId)).includes('tool.denied'));
  });

  it('makes an edit that needs approval wait for an approval of the edited arguments', async () => {
    const effects = new SideEffects();
    let hang = true;
    const tools = refundTools(effects, {
      timeoutMs: 20,
      execute: (args: { amount: number }, ctx: { idempotencyKey: string; attempt: number }) => {
        effects.calls.push({ tool: 'refund', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return hang ? new Promise(() => {}) : { refunded: args.amount };
      },
    });
    const agent = scriptedAgent([refundTurn(50), { text: 'done' }], tools, { policy: noBigRefunds });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'refund');
    hang = false;
    const edited = { orderId: 'o-1', amount: 500 };
    await warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: edited, by: 'bob' });
    const waiting = await warden.execute(agent, parked.runId);
    assert.equal(waiting.status, 'waiting_approval');
    assert.equal(effects.calls.length, 1, 'nothing ran on the edit alone');
    const requested = (await warden.events(parked.runId)).filter((e) => e.type === 'approval.requested').at(-1);
    assert.equal(requested?.type === 'approval.requested' && requested.data.argsHash, hashValue(edited));
    await warden.approve(waiting.pending!.id, { by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.deepEqual(effects.calls.at(-1)?.args, edited);
  });
});

/** Ways a user predicate can fail to answer true or false. */
function badPredicates(): fc.Arbitrary<{ label: string; make: () => (args: unknown) => unknown }> {
  const revoked = () => {
    const r = Proxy.revocable({}, {});
    r.revoke();
    return r.proxy;
  };
  const notBoolean = fc.anything().filter((v) => typeof v !== 'boolean');
  return fc.oneof(
    fc.constant({
      label: 'throws an Error',
      make: () => () => {
        throw new Error('boom');
      },
    }),
    notBoolean.map((v) => ({
      label: `throws ${typeof v}`,
      make: () => () => {
        throw v;
      },
    })),
    fc.constant({
      label: 'throws a revoked Proxy',
      make: () => () => {
        throw revoked();
      },
    }),
    fc.constant({ label: 'returns a revoked Proxy', make: () => () => revoked() }),
    notBoolean.map((v) => ({ label: `returns ${typeof v}`, make: () => () => v })),
    notBoolean.map((v) => ({ label: `resolves to ${typeof v}`, make: () => async () => v })),
    notBoolean.map((v) => ({ label: `rejects with ${typeof v}`, make: () => () => Promise.reject(v) })),
    fc.constant({ label: 'never settles', make: () => () => new Promise(() => {}) }),
  );
}

describe('the person approves exactly what runs: checks fail closed', () => {
  it('awaits an async approval predicate: a refund it flags waits for a person', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([refundTurn(50), { text: 'done' }], refundTools(effects, { approval: async () => true }));
    const { warden } = testWarden();
    const result = await warden.run(agent, 'refund');
    assert.equal(result.status, 'waiting_approval');
    assert.equal(effects.calls.length, 0);
  });

  it('awaits an async deny rule: a refund it matches is denied', async () => {
    const effects = new SideEffects();
    const policy = { rules: [{ name: 'async-deny', tools: ['refund'], when: async (a: { amount: number }) => a.amount > 10, decision: 'deny' as const }] };
    const agent = scriptedAgent([refundTurn(50), { text: 'done' }], refundTools(effects), { policy });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'refund');
    assert.equal(effects.calls.length, 0);
    const denied = (await warden.events(result.runId)).find((e) => e.type === 'tool.denied');
    assert.equal(denied?.type === 'tool.denied' && denied.data.by, 'rule:async-deny');
  });

  it('treats a predicate that throws, rejects, answers a non-boolean or never answers as "a person decides", "deny" and "no allow"', async () => {
    const [write] = refundTools(new SideEffects());
    assert.ok(write);
    await fc.assert(
      fc.asyncProperty(badPredicates(), async ({ make }) => {
        const base = { name: 'p', instructions: '', model: simulated.script([{ text: 'x' }]), tools: [write] };
        const asks = defineAgent({ ...base, tools: [defineTool({ ...write, approval: make() as never })], policy: { predicateTimeoutMs: 20 } });
        const [asked] = asks.tools;
        assert.ok(asked);
        const verdict = await decidePolicy(asks, asked, { orderId: 'o', amount: 1 });
        assert.equal(verdict.decision, 'approve');
        assert.equal(verdict.rule, 'tool:refund.approval');
        const denies = defineAgent({ ...base, policy: { predicateTimeoutMs: 20, rules: [{ name: 'd', when: make() as never, decision: 'deny' }] } });
        assert.equal((await decidePolicy(denies, write, { orderId: 'o', amount: 1 })).decision, 'deny');
        const allows = defineAgent({ ...base, policy: { predicateTimeoutMs: 20, rules: [{ name: 'a', when: make() as never, decision: 'allow' }] } });
        assert.notEqual((await decidePolicy(allows, write, { orderId: 'o', amount: 1 })).rule, 'rule:a');
      }),
      { seed: 1313, numRuns: 60 },
    );
  });

  it('parks a run whose approval predicate never settles, naming why, instead of running the call', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([refundTurn(50), { text: 'done' }], refundTools(effects, { approval: () => new Promise<boolean>(() => {}) }), {
      policy: { predicateTimeoutMs: 30 },
    });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'refund');
    assert.equal(result.status, 'waiting_approval');
    assert.match(result.pending!.reason, /no answer within 30 ms/);
    assert.equal(effects.calls.length, 0);
  });

  it('rejects a call whose schema transform throws with INVALID_TOOL_ARGS, and the run goes on', async () => {
    const effects = new SideEffects();
    const input = z.object({ orderId: z.string(), amount: z.number() }).transform((a) => {
      if (a.amount > 100) throw new Error('transform exploded');
      return a;
    });
    const agent = scriptedAgent([refundTurn(500), { text: 'done' }], refundTools(effects, { input, approval: false }));
    const { warden } = testWarden();
    const result = await warden.run(agent, 'refund');
    assert.equal(result.status, 'completed');
    assert.equal(effects.calls.length, 0);
    const rejected = (await warden.events(result.runId)).find((e) => e.type === 'tool.rejected');
    assert.equal(rejected?.type === 'tool.rejected' && rejected.data.error.code, 'INVALID_TOOL_ARGS');
    assert.match(rejected?.type === 'tool.rejected' ? rejected.data.error.message : '', /transform exploded/);
  });

  it('refuses an escalation edit whose schema refinement throws, with INVALID_TOOL_ARGS', async () => {
    const input = z.object({ orderId: z.string(), amount: z.number() }).refine((a) => {
      if (a.amount > 100) throw new Error('refine exploded');
      return true;
    });
    const agent = scriptedAgent([refundTurn(50, 0.1)], refundTools(new SideEffects(), { input, approval: false }), { escalation: { threshold: 0.6 } });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'refund');
    await assert.rejects(
      warden.decideEscalation(parked.pending!.id, { decision: 'edit', args: { orderId: 'o-1', amount: 500 }, by: 'bob' }, agent),
      (e) => isWardenError(e, 'INVALID_TOOL_ARGS') && /refine exploded/.test((e as Error).message),
    );
  });

  it('rejects a plan step whose schema transform throws, before anything runs', async () => {
    const effects = new SideEffects();
    const input = z.object({ orderId: z.string(), amount: z.number() }).transform((): never => {
      throw new Error('plan transform exploded');
    });
    const plan = { steps: [{ id: 'r', tool: 'refund', args: { orderId: 'o-1', amount: 5 } }] };
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'submit_plan', args: plan }] }, { text: 'gave up' }], refundTools(effects, { input, approval: false }), {
      plan: true,
    });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'refund');
    assert.equal(effects.calls.length, 0);
    const rejected = (await warden.events(result.runId)).find((e) => e.type === 'plan.rejected');
    assert.match(JSON.stringify(rejected?.data), /plan transform exploded/);
  });
});

describe('the person approves exactly what runs: plans with references', () => {
  /** A lookup whose result names the account to delete, and a delete that counts its calls. */
  function lookupAndDelete(effects: SideEffects): AnyTool[] {
    return [
      defineTool({
        name: 'find_customer',
        description: 'Find a customer',
        tier: 'read',
        input: z.object({ email: z.string() }),
        output: z.object({ customerId: z.string() }),
        execute: () => ({ customerId: 'c-from-tool' }),
      }),
      defineTool({
        name: 'close_account',
        description: 'Close an account',
        tier: 'delete',
        input: z.object({ customerId: z.string() }),
        execute: (args: { customerId: string }, ctx) => {
          effects.calls.push({ tool: 'close_account', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
          return { closed: args.customerId };
        },
      }),
    ];
  }
  const plan = {
    steps: [
      { id: 'find', tool: 'find_customer', args: { email: 'ana@example.com' } },
      { id: 'close', tool: 'close_account', args: { customerId: { $ref: 'find.customerId' } } },
    ],
  };

  it('makes a delete whose arguments were filled in from an earlier result wait for approval of the resolved arguments', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [
        { toolCalls: [{ tool: 'submit_plan', args: plan }] },
        { toolCalls: [{ tool: 'find_customer', args: { email: 'ana@example.com' } }] },
        { toolCalls: [{ tool: 'close_account', args: { customerId: 'c-from-tool' } }] },
        { text: 'done' },
      ],
      lookupAndDelete(effects),
      { plan: { approveAsWhole: true } },
    );
    const { warden } = testWarden();
    const planWait = await warden.run(agent, 'close ana');
    assert.deepEqual(planWait.pending?.args, plan, 'the plan approver sees the $ref, not a value');
    await warden.approve(planWait.pending!.id, { by: 'ana' });
    const deleteWait = await warden.execute(agent, planWait.runId);
    assert.equal(deleteWait.status, 'waiting_approval', 'approving the plan did not approve a value nobody saw');
    assert.deepEqual(deleteWait.pending?.args, { customerId: 'c-from-tool' });
    assert.equal(effects.count('close_account'), 0);
    const requested = (await warden.events(planWait.runId)).filter((e) => e.type === 'approval.requested').at(-1);
    assert.equal(requested?.type === 'approval.requested' && requested.data.argsHash, hashValue({ customerId: 'c-from-tool' }));
    await warden.approve(deleteWait.pending!.id, { by: 'ana' });
    const done = await warden.execute(agent, planWait.runId);
    assert.equal(done.status, 'completed');
    assert.equal(effects.count('close_account'), 1);
  });
});

describe('the person approves exactly what runs: a tier is read, write or delete', () => {
  const base = () => defineTool({ name: 'wipe', description: 'Wipe', tier: 'delete', input: z.object({ id: z.string() }), execute: () => ({ wiped: true }) });
  const agentWith = (tool: unknown) => defineAgent({ name: 'tiers', instructions: '', model: simulated.script([{ text: 'x' }]), tools: [tool as AnyTool] });
  const badTier = fc.anything().filter((t) => t !== 'read' && t !== 'write' && t !== 'delete');

  it('refuses any other tier with INVALID_CONFIG, however the tool object was made', () => {
    class ToolLike {
      kind = 'warden.tool';
      name = 'wipe';
      description = 'Wipe';
      input = z.object({ id: z.string() });
      tier: unknown;
      constructor(tier: unknown) {
        this.tier = tier;
      }
      execute() {
        return { wiped: true };
      }
    }
    const makers: [string, (tier: unknown) => unknown][] = [
      ['a spread of a defined tool', (tier) => ({ ...base(), tier })],
      [
        'a plain object never passed through defineTool',
        (tier) => ({ kind: 'warden.tool', name: 'wipe', description: 'Wipe', tier, input: z.object({ id: z.string() }), execute: () => 1 }),
      ],
      [
        'an object from JSON',
        (tier) => ({
          ...JSON.parse(JSON.stringify({ kind: 'warden.tool', name: 'wipe', description: 'Wipe', tier: 'delete' })),
          tier,
          input: z.object({}),
          execute: () => 1,
        }),
      ],
      ['a class instance', (tier) => new ToolLike(tier)],
    ];
    fc.assert(
      fc.property(badTier, fc.constantFrom(...makers), (tier, [, make]) => {
        assert.throws(
          () => agentWith(make(tier)),
          (e) => isWardenError(e, 'INVALID_CONFIG') && /tier must be "read", "write" or "delete"/.test((e as Error).message),
        );
      }),
      { seed: 1313, numRuns: 200 },
    );
  });

  it('accepts a valid spread, and reads a getter tier once so it cannot change after the check', () => {
    assert.equal(agentWith({ ...base(), tier: 'write' }).tools[0]?.tier, 'write');
    let reads = 0;
    const shifty = { ...base() } as Record<string, unknown>;
    Object.defineProperty(shifty, 'tier', { enumerable: true, get: () => (reads++ === 0 ? 'delete' : 'read') });
    const tool = agentWith(shifty).tools[0];
    assert.ok(tool);
    assert.equal(tool.tier, 'delete');
    assert.equal(tool.tier, 'delete', 'the agent holds a frozen copy, not the getter');
  });

  it('checks input and execute in defineAgent too', () => {
    assert.throws(
      () => agentWith({ ...base(), input: { parse: () => ({}) } }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /input must be a zod schema/.test((e as Error).message),
    );
    assert.throws(
      () => agentWith({ ...base(), execute: 'rm -rf' }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /execute must be a function/.test((e as Error).message),
    );
    assert.throws(
      () => agentWith({ ...base(), approval: 'yes' }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /approval must be/.test((e as Error).message),
    );
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    assert.throws(
      () => agentWith(revoked.proxy),
      (e) => isWardenError(e, 'INVALID_CONFIG'),
    );
  });
});

describe("the person approves exactly what runs: MCP tools follow the specification's defaults", () => {
  const BARE = { command: process.execPath, args: ['test/fixtures/mcp-bare-server.ts'], name: 'bare' };

  it('makes a tool with no annotations a delete that waits for a person, even from a trusted server', async () => {
    const set = await mcpTools({ server: BARE, trust: true });
    try {
      const purge = set.tools.find((t) => t.name === 'purge')!;
      assert.equal(purge.tier, 'delete');
      assert.equal(purge.origin?.tierSource, 'default');
      assert.equal(set.tools.find((t) => t.name === 'tidy')?.tier, 'delete', 'read-only and destructive at once is destructive');
      const agent = defineAgent({
        name: 'bare',
        instructions: '',
        model: simulated.script([{ toolCalls: [{ tool: 'purge', args: { id: 'r1' } }] }, { text: 'done' }]),
        tools: set.tools,
      });
      const { warden } = testWarden();
      const result = await warden.run(agent, 'purge r1');
      assert.equal(result.status, 'waiting_approval');
      assert.equal(result.pending?.tool, 'purge');
    } finally {
      await set.close();
    }
  });

  it("never lets a hint widen an untrusted tool's tier, and believes a destructive claim over a read-only one from anyone", () => {
    const hint = fc.option(fc.boolean(), { nil: undefined });
    const order = { read: 0, write: 1, delete: 2 } as const;
    fc.assert(
      fc.property(hint, hint, fc.boolean(), (readOnlyHint, destructiveHint, trust) => {
        const a = { readOnlyHint, destructiveHint };
        const { tier } = mcpTier('t', a, trust);
        if (!trust) assert.equal(tier, 'delete');
        if (destructiveHint === true) assert.equal(tier, 'delete');
        if (readOnlyHint !== true && destructiveHint !== false) assert.equal(tier, 'delete', "the specification's defaults");
        assert.ok(order[tier] >= order[mcpTier('t', a, true).tier], 'trusting can only widen');
      }),
      { seed: 1313, numRuns: 100 },
    );
  });
});

describe('the person approves exactly what runs: random proposals and random decisions', () => {
  type Proposal =
    | { tool: 'refund'; amount: number; confidence: number }
    | { tool: 'close_account'; confidence: number }
    | { tool: 'lookup'; confidence: number };
  type Decision = { approval: 'approve' | 'deny'; escalation: 'approve' | 'edit' | 'takeover' | 'stop'; editAmount: number };
  const amounts = [40, 150, 900, 5000];
  const proposal: fc.Arbitrary<Proposal> = fc.oneof(
    fc.record({ tool: fc.constant('refund' as const), amount: fc.constantFrom(...amounts), confidence: fc.constantFrom(0.3, 0.9) }),
    fc.record({ tool: fc.constant('close_account' as const), confidence: fc.constantFrom(0.3, 0.9) }),
    fc.record({ tool: fc.constant('lookup' as const), confidence: fc.constantFrom(0.3, 0.9) }),
  );
  const decision: fc.Arbitrary<Decision> = fc.record({
    approval: fc.constantFrom('approve' as const, 'deny' as const),
    escalation: fc.constantFrom('approve' as const, 'edit' as const, 'takeover' as const, 'stop' as const),
    editAmount: fc.constantFrom(...amounts),
  });

  it('runs a refund over $100 or a delete only with an approval of the exact arguments that ran, and never a denied amount', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(proposal, { minLength: 1, maxLength: 6 }),
        fc.array(decision, { maxLength: 10 }),
        fc.array(fc.boolean(), { maxLength: 6 }),
        async (proposals, decisions, hangs) => {
          const effects = new SideEffects();
          let calls = 0;
          const tools = [
            ...refundTools(effects, {
              timeoutMs: 20,
              execute: (args: { amount: number }, ctx: { idempotencyKey: string; attempt: number }) => {
                effects.calls.push({ tool: 'refund', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
                // Some calls never answer: their outcome is unknown and a person is asked.
                return hangs[calls++] ? new Promise(() => {}) : { refunded: args.amount };
              },
            }),
            defineTool({
              name: 'close_account',
              description: 'Close an account',
              tier: 'delete',
              input: z.object({ customerId: z.string() }),
              execute: (args, ctx) => {
                effects.calls.push({ tool: 'close_account', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
                return { closed: args.customerId };
              },
            }),
            defineTool({
              name: 'lookup',
              description: 'Look an order up',
              tier: 'read',
              input: z.object({ orderId: z.string() }),
              execute: () => ({ total: 250 }),
            }),
          ];
          const turns = proposals.map((p) => ({
            toolCalls: [
              p.tool === 'refund'
                ? { tool: 'refund', args: { orderId: 'o-1', amount: p.amount } }
                : p.tool === 'close_account'
                  ? { tool: 'close_account', args: { customerId: 'c-1' } }
                  : { tool: 'lookup', args: { orderId: 'o-1' } },
            ],
            confidence: p.confidence,
          }));
          const agent = scriptedAgent([...turns, { text: 'done' }], tools, {
            policy: noBigRefunds,
            escalation: { threshold: 0.6 },
            limits: { maxSteps: 12, maxToolCalls: 12, maxRetries: 8 },
          });
          const { warden, store } = testWarden();
          let result = await warden.run(agent, 'help');
          for (const d of decisions) {
            const pending = result.pending;
            if (!pending) break;
            if (pending.kind === 'approval') {
              if (d.approval === 'approve') await warden.approve(pending.id, { by: 'ana' });
              else await warden.deny(pending.id, { by: 'ana' });
            } else if (d.escalation === 'edit' && pending.tool !== null) {
              const args =
                pending.tool === 'refund'
                  ? { orderId: 'o-1', amount: d.editAmount }
                  : pending.tool === 'close_account'
                    ? { customerId: 'c-2' }
                    : { orderId: 'o-2' };
              await warden.decideEscalation(pending.id, { decision: 'edit', args, by: 'bob' }, agent);
            } else if (d.escalation === 'takeover') {
              await warden.decideEscalation(pending.id, { decision: 'takeover', output: 'handled by a person', by: 'bob' }, agent);
            } else if (d.escalation === 'stop') {
              await warden.decideEscalation(pending.id, { decision: 'stop', by: 'bob' }, agent);
            } else {
              await warden.decideEscalation(pending.id, { decision: 'approve', by: 'bob' }, agent);
            }
            result = await warden.execute(agent, result.runId);
          }
          const events = await warden.events(result.runId);
          const approved = new Set(
            events.flatMap((e) => (e.type === 'approval.decided' && e.data.decision === 'approved' ? [`${e.data.callId} ${e.data.argsHash}`] : [])),
          );
          const approvedHashes = new Set([...approved].map((k) => k.split(' ')[1]));
          for (const call of effects.calls) {
            const args = call.args as { amount?: number };
            assert.ok(!(call.tool === 'refund' && (args.amount ?? 0) > 1000), `a refund of ${args.amount} ran although a rule denies it`);
            const needsPerson = call.tool === 'close_account' || (call.tool === 'refund' && (args.amount ?? 0) > 100);
            if (needsPerson)
              assert.ok(approvedHashes.has(hashValue(call.args)), `${call.tool} ${JSON.stringify(call.args)} ran without an approval of those exact arguments`);
          }
          assert.ok(result.pending !== null || ['completed', 'stopped', 'cancelled', 'failed'].includes(result.status), `ended ${result.status}`);
          await store.close();
        },
      ),
      { seed: 1313, numRuns: 120 },
    );
  });
});
