import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isWardenError } from './errors.ts';
import { runLog } from '../../test/run-log.ts';

const credit = (callId: string, account: string) => ({ callId, tool: 'credit', args: { account } });

/** Two credits that ran, the run completed, then an undo over both (newest first); `c0` is irreversible. */
const undone = () => {
  const log = runLog().started();
  log.turn(1, [credit('c1', 'a1')]).ran('c1', { credited: 1 });
  log.turn(2, [credit('c2', 'a2')]).ran('c2', { credited: 2 });
  log.turn(3, [{ callId: 'c0', tool: 'email', args: {} }]).ran('c0', { sent: true });
  log.turn(4, [], 'Done.').add('run.completed', { output: 'Done.' });
  return log.add('undo.started', {
    by: 'ana',
    reason: 'wrong batch',
    order: [
      { callId: 'c0', tool: 'email', reversible: false },
      { callId: 'c2', tool: 'credit', reversible: true },
      { callId: 'c1', tool: 'credit', reversible: true },
    ],
  });
};

describe('fold: shadow calls', () => {
  it('records a shadowed call as executed with the stand-in result, never really run', () => {
    const log = runLog()
      .started()
      .turn(1, [{ callId: 'c1', tool: 'wipe', args: {} }]);
    log.add('tool.shadowed', {
      callId: 'c1',
      tool: 'wipe',
      tier: 'delete',
      args: {},
      decision: 'approve',
      rule: 'tier:delete',
      reason: 'delete',
      standIn: { ok: true },
    });
    const s = log.fold();
    const c = s.calls.get('c1')!;
    assert.equal(c.status, 'executed');
    assert.equal(c.shadowed, true);
    assert.deepEqual(c.result, { ok: true });
    assert.deepEqual(s.executedOrder, [], 'a shadowed call is not something an undo reverses');
    assert.equal(s.toolCalls, 0);
  });
});

describe('fold: undo', () => {
  it('lists the executed calls in the order they succeeded', () => {
    assert.deepEqual(undone().fold().executedOrder, ['c1', 'c2', 'c0']);
  });

  it('starts an undo newest first, irreversible calls left alone, the run itself still completed', () => {
    const s = undone().fold();
    assert.equal(s.status, 'completed');
    assert.equal(s.undo?.status, 'running');
    assert.equal(s.undo?.by, 'ana');
    assert.deepEqual(s.undo?.order, ['c0', 'c2', 'c1']);
    assert.deepEqual(
      [...s.undo!.compensations.values()].map((c) => c.status),
      ['irreversible', 'pending', 'pending'],
    );
  });

  it('follows a compensation from started to done, counting attempts', () => {
    const log = undone()
      .add('compensation.started', { callId: 'c2', tool: 'credit', attempt: 1, idempotencyKey: 'k:undo' })
      .add('compensation.failed', { callId: 'c2', tool: 'credit', attempt: 1, error: { code: 'TOOL_FAILED', message: 'x' }, willRetry: true });
    assert.equal(log.fold().undo!.compensations.get('c2')!.status, 'retry');
    log.add('compensation.started', { callId: 'c2', tool: 'credit', attempt: 2, idempotencyKey: 'k:undo' });
    assert.equal(log.fold().undo!.compensations.get('c2')!.status, 'running');
    const c = log
      .add('compensation.succeeded', { callId: 'c2', tool: 'credit', attempt: 2, result: { debited: 'a2' }, durationMs: 1 })
      .fold()
      .undo!.compensations.get('c2')!;
    assert.equal(c.status, 'done');
    assert.equal(c.attempts, 2);
    assert.deepEqual(c.result, { debited: 'a2' });
  });

  for (const [decision, status] of [
    ['approve', 'approved'],
    ['skip', 'skipped'],
    ['done', 'done'],
  ] as const) {
    it(`waits on a compensation approval and marks it ${status} when a person decides ${decision}`, () => {
      const log = undone().add('compensation.requested', { callId: 'c2', approvalId: 'ua1', tool: 'credit', reason: 'write' });
      const waiting = log.fold().undo!;
      assert.equal(waiting.waiting, 'ua1');
      assert.equal(waiting.compensations.get('c2')!.status, 'approval');
      const s = log.add('compensation.decided', { callId: 'c2', interventionId: 'ua1', decision, by: 'bob', reason: '' }).fold().undo!;
      assert.equal(s.waiting, null);
      assert.equal(s.compensations.get('c2')!.status, status);
    });
  }

  it('escalates a compensation that failed for good, and starts its attempts afresh when a person says try again', () => {
    const log = undone()
      .add('compensation.started', { callId: 'c2', tool: 'credit', attempt: 1, idempotencyKey: 'k' })
      .add('compensation.failed', { callId: 'c2', tool: 'credit', attempt: 1, error: { code: 'TOOL_FAILED', message: 'x' }, willRetry: false })
      .add('compensation.escalated', { callId: 'c2', escalationId: 'ue1', tool: 'credit', reason: 'failed' });
    const stuck = log.fold().undo!;
    assert.equal(stuck.compensations.get('c2')!.status, 'escalated');
    assert.equal(stuck.waiting, 'ue1');
    const again = log.add('compensation.decided', { callId: 'c2', interventionId: 'ue1', decision: 'approve', by: 'bob', reason: '' }).fold().undo!;
    assert.equal(again.compensations.get('c2')!.status, 'approved');
    assert.equal(again.compensations.get('c2')!.attempts, 0);
  });

  it('marks the undo completed', () => {
    const s = undone()
      .add('undo.completed', { reversed: ['c2', 'c1'], skipped: [], irreversible: [{ callId: 'c0', tool: 'email' }] })
      .fold();
    assert.equal(s.undo?.status, 'completed');
  });

  it('refuses a compensation event for a call the undo does not cover, with a typed error', () => {
    const log = undone().add('compensation.started', { callId: 'c9', tool: 'credit', attempt: 1, idempotencyKey: 'k' });
    assert.throws(
      () => log.fold(),
      (e) => isWardenError(e, 'STORE_CORRUPT') && /c9/.test(e.message),
    );
  });

  it('refuses a compensation event before any undo started, with a typed error', () => {
    const log = runLog().started().add('compensation.started', { callId: 'c1', tool: 'credit', attempt: 1, idempotencyKey: 'k' });
    assert.throws(
      () => log.fold(),
      (e) => isWardenError(e, 'STORE_CORRUPT'),
    );
  });
});
