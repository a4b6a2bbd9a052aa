import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool } from '../../src/agent/tool.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { replayRun } from '../../src/observe/replay/replay-run.ts';
import { exportRun } from '../../src/observe/replay/run-export.ts';
import { scriptedAgent, SideEffects, supportTools } from '../helpers.ts';

const MINUTE = 60_000;

/** A Warden whose clock the test moves. */
function clockedWarden() {
  const clock = { now: 1_800_000_000_000 };
  const store = createSqliteStore({ path: ':memory:' });
  const warden = createWarden({ store, sleep: async () => {}, now: () => clock.now });
  return { clock, store, warden };
}

/** A write tool that asks a person for every call, with a deadline. */
function transfer(effects: SideEffects, approval: Parameters<typeof defineTool>[0]['approval']) {
  return defineTool({
    name: 'transfer',
    description: 'Move money',
    tier: 'write',
    input: z.object({ amount: z.number() }),
    approval,
    execute: (args, ctx) => {
      effects.calls.push({ tool: 'transfer', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
      return { moved: args.amount };
    },
  });
}

const transferThenAnswer = [{ toolCalls: [{ tool: 'transfer', args: { amount: 500 } }] }, { text: 'Done (or not).' }];

describe('approvals that expire', () => {
  it('is approvable before its deadline and only then', async () => {
    const { clock, warden } = clockedWarden();
    const effects = new SideEffects();
    const agent = scriptedAgent(transferThenAnswer, [transfer(effects, { timeoutMs: 10 * MINUTE })]);
    const parked = await warden.run(agent, 'move it');
    assert.equal(parked.status, 'waiting_approval');
    clock.now += 10 * MINUTE - 1;
    const decided = await warden.approve(parked.pending!.id, { by: 'ana' });
    assert.equal(decided.status, 'approved');
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(effects.count('transfer'), 1);
  });

  it('refuses a decision taken at or after the deadline, expires the approval, and the call never runs', async () => {
    const { clock, store, warden } = clockedWarden();
    const effects = new SideEffects();
    const agent = scriptedAgent(transferThenAnswer, [transfer(effects, { timeoutMs: 10 * MINUTE })]);
    const parked = await warden.run(agent, 'move it');
    const id = parked.pending!.id;
    assert.equal((await store.getIntervention(id))?.expiresAt, 1_800_000_000_000 + 10 * MINUTE);
    clock.now += 10 * MINUTE;
    await assert.rejects(warden.approve(id, { by: 'ana' }), (e) => isWardenError(e, 'APPROVAL_EXPIRED') && /can no longer be approved/.test(e.message));
    const record = await store.getIntervention(id);
    assert.equal(record?.status, 'expired');
    assert.equal(record?.decidedBy, 'warden');
    // A second try meets the closed approval, not a second expiry.
    await assert.rejects(warden.approve(id, { by: 'bob' }), (e) => isWardenError(e, 'CONFLICT'));
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(done.toolCalls[0]?.status, 'denied');
    assert.equal(effects.count('transfer'), 0);
    const events = await warden.events(parked.runId);
    assert.equal(events.filter((e) => e.type === 'approval.expired').length, 1);
    assert.equal(events.filter((e) => e.type === 'approval.decided').length, 0);
  });

  it('lets a person cancel a run whose approval is past its deadline before anything swept it', async () => {
    const { clock, store, warden } = clockedWarden();
    const effects = new SideEffects();
    const agent = scriptedAgent(transferThenAnswer, [transfer(effects, { timeoutMs: MINUTE })]);
    const parked = await warden.run(agent, 'move it');
    clock.now += 2 * MINUTE;
    const cancelled = await warden.cancel(parked.runId, { by: 'ops', reason: 'customer withdrew' });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal((await store.getIntervention(parked.pending!.id))?.status, 'decided');
    assert.deepEqual(await warden.expireApprovals(), [], 'nothing left to expire');
    assert.equal((await warden.inspect(parked.runId)).status, 'cancelled');
    assert.equal(effects.count('transfer'), 0);
  });

  it('expires on resume when nothing swept it, and the model is told the call was not made', async () => {
    const { clock, warden } = clockedWarden();
    const effects = new SideEffects();
    const agent = scriptedAgent(transferThenAnswer, [transfer(effects, true)], { policy: { approvalTimeoutMs: 5 * MINUTE } });
    const parked = await warden.run(agent, 'move it');
    clock.now += 4 * MINUTE;
    assert.equal((await warden.execute(agent, parked.runId)).status, 'waiting_approval', 'not yet due: still waiting');
    clock.now += MINUTE;
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(effects.count('transfer'), 0);
    const secondTurn = (await warden.events(parked.runId)).filter((e) => e.type === 'model.called');
    assert.equal(secondTurn.length, 2, 'the model answered after hearing of the denial');
  });

  it('turns into an escalation with onTimeout escalate; the person who approves it approves the call itself, once', async () => {
    const { clock, store, warden } = clockedWarden();
    const effects = new SideEffects();
    const agent = scriptedAgent(transferThenAnswer, [
      transfer(effects, { when: (a) => (a as { amount: number }).amount > 100, timeoutMs: MINUTE, onTimeout: 'escalate' }),
    ]);
    const parked = await warden.run(agent, 'move it');
    clock.now += MINUTE;
    const [expired, ...more] = await warden.expireApprovals();
    assert.equal(more.length, 0);
    assert.equal(expired?.outcome, 'escalated');
    assert.deepEqual(await warden.expireApprovals(), [], 'a second sweep finds nothing');
    const escalation = await store.getIntervention(expired!.escalationId!);
    assert.equal(escalation?.kind, 'escalation');
    assert.equal(escalation?.status, 'pending');
    assert.deepEqual(escalation?.args, { amount: 500 });
    assert.equal((await warden.inspect(parked.runId)).status, 'escalated');

    await warden.decideEscalation(escalation!.id, { decision: 'approve', by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(done.toolCalls[0]?.approvedBy, 'ana');
    assert.equal(effects.count('transfer'), 1);
    // No second approval was asked for: the escalation was the approval.
    assert.equal((await warden.events(parked.runId)).filter((e) => e.type === 'approval.requested').length, 1);
  });

  it('sends edited arguments from the escalation back through the policy, which asks again with a fresh deadline', async () => {
    const { clock, store, warden } = clockedWarden();
    const effects = new SideEffects();
    const agent = scriptedAgent(transferThenAnswer, [transfer(effects, { timeoutMs: MINUTE, onTimeout: 'escalate' })]);
    const parked = await warden.run(agent, 'move it');
    clock.now += MINUTE;
    const [expired] = await warden.expireApprovals();
    await warden.decideEscalation(expired!.escalationId!, { decision: 'edit', args: { amount: 50 }, by: 'ana' });
    const again = await warden.execute(agent, parked.runId);
    assert.equal(again.status, 'waiting_approval');
    assert.notEqual(again.pending?.id, expired!.approval.id);
    assert.equal((await store.getIntervention(again.pending!.id))?.expiresAt, clock.now + MINUTE);
    await warden.approve(again.pending!.id, { by: 'bob' });
    await warden.execute(agent, parked.runId);
    assert.deepEqual(
      effects.calls.map((c) => c.args),
      [{ amount: 50 }],
    );
  });

  it("takes the tool's deadline over the policy's, and waits without one when neither sets it", async () => {
    const { store, warden } = clockedWarden();
    const effects = new SideEffects();
    const both = scriptedAgent(transferThenAnswer, [transfer(effects, { timeoutMs: MINUTE })], { policy: { approvalTimeoutMs: 9 * MINUTE } });
    const a = await warden.run(both, 'a');
    assert.equal((await store.getIntervention(a.pending!.id))?.expiresAt, 1_800_000_000_000 + MINUTE);
    const none = scriptedAgent(transferThenAnswer, [transfer(effects, true)]);
    const b = await warden.run(none, 'b');
    assert.equal((await store.getIntervention(b.pending!.id))?.expiresAt, null);
    // Delete-tier approvals take the policy's deadline too.
    const deleter = scriptedAgent([{ toolCalls: [{ tool: 'delete_account', args: { customerId: 'c-1' } }] }, { text: 'ok' }], supportTools(effects), {
      policy: { approvalTimeoutMs: 2 * MINUTE, onApprovalTimeout: 'escalate' },
    });
    const c = await warden.run(deleter, 'c');
    const record = await store.getIntervention(c.pending!.id);
    assert.equal(record?.expiresAt, 1_800_000_000_000 + 2 * MINUTE);
    assert.equal(record?.evidence.onTimeout, 'escalate');
  });

  it('refuses approval settings that make no sense, at definition', () => {
    const effects = new SideEffects();
    for (const [approval, message] of [
      [{ timeoutMs: 0 }, /timeoutMs must be a positive number/],
      [{ timeoutMs: Number.POSITIVE_INFINITY }, /timeoutMs must be a positive number/],
      [{ onTimeout: 'approve' }, /onTimeout must be "deny" or "escalate"/],
      [{ when: 'yes' }, /approval.when must be/],
      [{ timeout: 5 }, /unknown field\(s\) timeout/],
      ['always', /approval must be true, false, a predicate/],
    ] as const) {
      assert.throws(
        () => transfer(effects, approval as never),
        (e) => isWardenError(e, 'INVALID_CONFIG') && message.test(e.message),
        JSON.stringify(approval),
      );
    }
    assert.throws(
      () => scriptedAgent(transferThenAnswer, [transfer(effects, true)], { policy: { onApprovalTimeout: 'wait' as never } }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /onApprovalTimeout/.test(e.message),
    );
    assert.throws(
      () => scriptedAgent(transferThenAnswer, [transfer(effects, true)], { policy: { approvalTimeoutMs: -1 } }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /policy.approvalTimeoutMs must be a positive number of ms/.test(e.message),
    );
  });

  it('keeps the deadline when a built tool is copied with a changed field (governed again, field by field)', async () => {
    const { store, warden } = clockedWarden();
    const effects = new SideEffects();
    const built = transfer(effects, { timeoutMs: MINUTE, onTimeout: 'escalate' });
    const copy = { ...built, description: 'Move money (copy)' };
    const agent = scriptedAgent(transferThenAnswer, [copy as typeof built]);
    const parked = await warden.run(agent, 'move it');
    const record = await store.getIntervention(parked.pending!.id);
    assert.equal(record?.expiresAt, 1_800_000_000_000 + MINUTE);
    assert.equal(record?.evidence.onTimeout, 'escalate');
  });

  it('denies a plan nobody approved in time; the model may propose another', async () => {
    const { clock, warden } = clockedWarden();
    const effects = new SideEffects();
    const plan = { steps: [{ id: 's1', tool: 'delete_account', args: { customerId: 'c-9' } }] };
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'submit_plan', args: plan }] }, { text: 'No plan was approved.' }], supportTools(effects), {
      plan: { approveAsWhole: true, maxRejections: 0 },
      policy: { approvalTimeoutMs: MINUTE, onApprovalTimeout: 'escalate' },
    });
    const parked = await warden.run(agent, 'delete c-9');
    assert.equal(parked.status, 'waiting_approval');
    clock.now += MINUTE;
    const [expired] = await warden.expireApprovals();
    assert.equal(expired?.outcome, 'denied', 'a plan is denied, never escalated');
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(effects.count('delete_account'), 0);
  });

  it('replays a run whose approval expired to the same decisions', async () => {
    const { clock, store, warden } = clockedWarden();
    const effects = new SideEffects();
    const agent = scriptedAgent(transferThenAnswer, [transfer(effects, { timeoutMs: MINUTE, onTimeout: 'escalate' })]);
    const parked = await warden.run(agent, 'move it');
    clock.now += MINUTE;
    const [expired] = await warden.expireApprovals();
    clock.now += 1_000;
    await warden.decideEscalation(expired!.escalationId!, { decision: 'approve', by: 'ana' });
    await warden.execute(agent, parked.runId);
    const report = await replayRun((await exportRun(store, parked.runId)).events, { agent });
    assert.equal(report.waitingFor, null);
    assert.equal(report.divergence, null);
    assert.equal(report.identical, true);
    assert.equal(report.replayed.status, 'completed');
  });
});
