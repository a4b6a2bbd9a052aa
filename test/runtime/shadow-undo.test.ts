import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool, type AnyTool } from '../../src/agent/tool.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../helpers.ts';

/** A ledger with real side effects and compensations that reverse them. */
function ledgerTools(effects: SideEffects, failCompensation = 0): AnyTool[] {
  let failures = failCompensation;
  return [
    defineTool({
      name: 'lookup',
      description: 'Read the balance',
      tier: 'read',
      input: z.object({ account: z.string() }),
      execute: (args) => {
        effects.calls.push({ tool: 'lookup', args, key: '', attempt: 1 });
        return { balance: 100 };
      },
    }),
    defineTool({
      name: 'credit',
      description: 'Credit an account',
      tier: 'write',
      idempotent: true,
      retries: 1,
      input: z.object({ account: z.string(), amount: z.number() }),
      shadowResult: (args) => ({ credited: args.amount, shadow: true }),
      execute: (args, ctx) => {
        effects.calls.push({ tool: 'credit', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return { credited: args.amount };
      },
      compensate: (args, result, ctx) => {
        if (failures > 0) {
          failures--;
          throw new Error('ledger busy');
        }
        effects.calls.push({ tool: 'undo:credit', args: { ...args, result }, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return { debited: args.amount };
      },
    }),
    defineTool({
      name: 'notify',
      description: 'Email the customer',
      tier: 'write',
      input: z.object({ text: z.string() }),
      execute: (args) => {
        effects.calls.push({ tool: 'notify', args, key: '', attempt: 1 });
        return { sent: true };
      },
    }),
    defineTool({
      name: 'close',
      description: 'Close the account',
      tier: 'delete',
      input: z.object({ account: z.string() }),
      execute: (args) => {
        effects.calls.push({ tool: 'close', args, key: '', attempt: 1 });
        return { closed: true };
      },
      compensate: (args, _result, ctx) => {
        effects.calls.push({ tool: 'undo:close', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return { reopened: true };
      },
    }),
  ];
}

const credit = (account: string, amount: number) => ({ toolCalls: [{ tool: 'credit', args: { account, amount } }] });

describe('shadow mode', () => {
  it('runs reads, makes no write or delete, and records each would-be call with its policy decision', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [
        { toolCalls: [{ tool: 'lookup', args: { account: 'a1' } }] },
        credit('a1', 20),
        { toolCalls: [{ tool: 'close', args: { account: 'a1' } }] },
        { text: 'done' },
      ],
      ledgerTools(effects),
    );
    const { warden } = testWarden();
    const result = await warden.run(agent, 'go', { shadow: true });
    assert.equal(result.status, 'completed', 'a delete in shadow mode does not wait for a person: nothing happens');
    assert.equal(result.mode, 'shadow');
    assert.deepEqual(
      effects.calls.map((c) => c.tool),
      ['lookup'],
      'only the read really ran',
    );
    const shadowed = (await warden.events(result.runId)).filter((e) => e.type === 'tool.shadowed');
    assert.deepEqual(
      shadowed.map((e) => e.type === 'tool.shadowed' && [e.data.tool, e.data.decision]),
      [
        ['credit', 'allow'],
        ['close', 'approve'],
      ],
    );
    assert.deepEqual(shadowed[0]?.type === 'tool.shadowed' && shadowed[0]?.data.standIn, { credited: 20, shadow: true });
    assert.deepEqual(
      result.toolCalls.map((c) => c.status),
      ['executed', 'shadowed', 'shadowed'],
    );
  });

  it('follows the agent default and the tenant setting, and passes the mode to child runs', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([credit('a1', 5), { text: 'ok' }], ledgerTools(effects), { shadow: true });
    const { warden } = testWarden();
    assert.equal((await warden.run(agent, 'go')).mode, 'shadow');
    const live = scriptedAgent([credit('a1', 5), { text: 'ok' }], ledgerTools(effects));
    const { store } = testWarden();
    const tenantShadow = (await import('../../src/runtime/warden.ts')).createWarden({ store, shadowTenants: ['trial'] });
    assert.equal((await tenantShadow.run(live, 'go', { tenant: 'trial' })).mode, 'shadow');
    assert.equal(effects.calls.length, 0);
  });
});

describe('undo', () => {
  it('reverses executed calls in reverse order exactly once and lists the irreversible ones', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent(
      [credit('a1', 10), { toolCalls: [{ tool: 'notify', args: { text: 'hi' } }] }, credit('a2', 30), { text: 'done' }],
      ledgerTools(effects),
    );
    const { warden } = testWarden();
    const run = await warden.run(agent, 'go');
    const dry = await warden.undo(agent, run.runId, { by: 'ana', dryRun: true });
    assert.equal(dry.status, 'planned');
    assert.deepEqual(
      dry.steps.map((st) => st.tool),
      ['credit', 'notify', 'credit'],
    );
    assert.equal(effects.count('undo:credit'), 0, 'a dry run changes nothing');

    const report = await warden.undo(agent, run.runId, { by: 'ana', reason: 'wrong batch' });
    assert.equal(report.status, 'completed');
    assert.deepEqual(
      effects.calls.filter((c) => c.tool === 'undo:credit').map((c) => (c.args as { account: string }).account),
      ['a2', 'a1'],
    );
    assert.deepEqual(
      report.irreversible.map((i) => i.tool),
      ['notify'],
    );
    const again = await warden.undo(agent, run.runId, { by: 'ana' });
    assert.equal(again.status, 'completed');
    assert.equal(effects.count('undo:credit'), 2, 'never twice');
    const keys = effects.calls.filter((c) => c.tool === 'undo:credit').map((c) => c.key);
    assert.ok(
      keys.every((k) => k.endsWith(':undo')),
      'each compensation has its own idempotency key',
    );
  });

  it('waits for a person before reversing a delete-tier call', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'close', args: { account: 'a1' } }] }, { text: 'done' }], ledgerTools(effects));
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    await warden.approve(parked.pending!.id, { by: 'ana' });
    const run = await warden.execute(agent, parked.runId);
    const waiting = await warden.undo(agent, run.runId, { by: 'bob' });
    assert.equal(waiting.status, 'waiting_approval');
    assert.equal(effects.count('undo:close'), 0);
    await warden.approve(waiting.pending!.id, { by: 'carol' });
    const done = await warden.undo(agent, run.runId, { by: 'bob' });
    assert.equal(done.status, 'completed');
    assert.equal(effects.count('undo:close'), 1);
  });

  it('retries a failing compensation within its limit, then escalates to a person', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([credit('a1', 10), { text: 'done' }], ledgerTools(effects, 5));
    const { warden } = testWarden();
    const run = await warden.run(agent, 'go');
    const stuck = await warden.undo(agent, run.runId, { by: 'ana' });
    assert.equal(stuck.status, 'escalated');
    const failures = (await warden.events(run.runId)).filter((e) => e.type === 'compensation.failed');
    assert.equal(failures.length, 2, 'the first try and one retry (retries: 1)');
    await warden.decideEscalation(stuck.pending!.id, { decision: 'takeover', by: 'ana', reason: 'reversed in the ledger UI' });
    const done = await warden.undo(agent, run.runId, { by: 'ana' });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.reversed, [run.toolCalls[0]?.callId]);
  });

  it('refuses to undo a run that is still going', async () => {
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'delete_account', args: { customerId: 'c' } }] }], supportTools(new SideEffects()));
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'go');
    await assert.rejects(warden.undo(agent, parked.runId, { by: 'ana' }), (e) => isWardenError(e, 'CONFLICT'));
  });

  it('compensates automatically when a run fails after it has written (saga)', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([credit('a1', 10), credit('a2', 20), { toolCalls: [{ tool: 'nonexistent', args: {} }] }], ledgerTools(effects), {
      compensateOnFailure: true,
      limits: { maxRetries: 1 },
    });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'go');
    assert.equal(result.status, 'stopped');
    assert.deepEqual(
      effects.calls.filter((c) => c.tool === 'undo:credit').map((c) => (c.args as { account: string }).account),
      ['a2', 'a1'],
    );
    const events = await warden.events(result.runId);
    assert.ok(events.some((e) => e.type === 'undo.completed'));
  });
});
