import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyEvent, conversation, foldRun, nextOpenCall } from './fold.ts';
import { isWardenError } from './errors.ts';
import { EVENT_SCHEMA_VERSION, type AnyRunEvent } from './events.ts';
import { usdToNano } from './money.ts';
import { runLog } from '../../test/run-log.ts';

const lookup = (callId: string, orderId = 'o-1') => ({ callId, tool: 'lookup', args: { orderId } });

/** The i-th element, which the test's own log guarantees is there. */
function nth<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  assert.ok(x !== undefined, `element ${i} of ${xs.length}`);
  return x;
}

describe('fold: the run lifecycle', () => {
  it('starts queued with the limits, ceiling and identity of run.submitted', () => {
    const s = runLog({ maxCostUsd: 0.25, maxSteps: 7 }).fold();
    assert.equal(s.status, 'queued');
    assert.equal(s.seq, 1);
    assert.equal(s.agent, 'test-agent');
    assert.equal(s.limits.maxSteps, 7);
    assert.equal(s.ceilingNano, usdToNano(0.25));
    assert.equal(s.mode, 'live');
    assert.deepEqual(s.lineage, []);
    assert.equal(s.steps + s.toolCalls + s.retries + s.spentNano, 0);
  });

  it('moves queued to running on run.started and counts sessions', () => {
    const s = runLog().started(1).fold();
    assert.equal(s.status, 'running');
    assert.equal(s.sessions, 1);
    assert.equal(s.sessionOpen, true);
    assert.equal(s.crashedSessions, 0);
  });

  it('counts a session that started again without ending or parking as crashed', () => {
    const s = runLog().started(1).started(2).fold();
    assert.equal(s.crashedSessions, 1);
    assert.equal(s.sessions, 2);
  });

  for (const [type, data, status] of [
    ['run.completed', { output: 'Done.' }, 'completed'],
    ['run.failed', { error: { code: 'TOOL_FAILED', message: 'boom' } }, 'failed'],
    ['run.stopped', { reason: 'max_steps', detail: 'Took 20 steps' }, 'stopped'],
    ['run.cancelled', { by: 'ana', reason: 'not needed' }, 'cancelled'],
  ] as const) {
    it(`ends the run as ${status} on ${type}, closes the session and skips calls that never ran`, () => {
      const log = runLog()
        .started()
        .turn(1, [lookup('c1')]);
      log.add(type, data as never);
      const s = log.fold();
      assert.equal(s.status, status);
      assert.equal(s.sessionOpen, false);
      assert.equal(s.calls.get('c1')!.status, 'skipped');
    });
  }

  it('records the output, the error, or the named stop reason of a terminal event', () => {
    assert.equal(runLog().started().add('run.completed', { output: 'Refunded.' }).fold().output, 'Refunded.');
    assert.deepEqual(
      runLog()
        .started()
        .add('run.failed', { error: { code: 'X', message: 'm' } })
        .fold().error,
      { code: 'X', message: 'm' },
    );
    const stopped = runLog().started().add('run.stopped', { reason: 'loop_detected', detail: 'same call' }).fold();
    assert.equal(stopped.stopReason, 'loop_detected');
    assert.equal(stopped.stopDetail, 'same call');
    const cancelled = runLog().started().add('cancel.requested', { by: 'bob', reason: 'late' }).add('run.cancelled', { by: 'bob', reason: 'late' }).fold();
    assert.deepEqual(cancelled.cancelRequested, { by: 'bob', reason: 'late' });
    assert.equal(cancelled.stopReason, 'cancelled');
    assert.equal(cancelled.stopDetail, 'Cancelled by bob: late');
  });

  it('leaves a call that was running when the run ended as running (its outcome is unknown)', () => {
    const s = runLog()
      .started()
      .turn(1, [lookup('c1')])
      .allow('c1')
      .add('tool.started', { callId: 'c1', tool: 'lookup', attempt: 1, idempotencyKey: 'k' })
      .add('run.stopped', { reason: 'wall_time', detail: 'x' })
      .fold();
    assert.equal(s.calls.get('c1')!.status, 'running');
  });

  it('counts active time but not the time parked waiting for a person', () => {
    const log = runLog().started();
    log.turn(1, [{ callId: 'c1', tool: 'wipe', args: {} }], '');
    log.add('approval.requested', { approvalId: 'a1', callId: 'c1', tool: 'wipe', tier: 'delete', args: {}, argsHash: 'h', reason: 'delete' }, 100);
    log.add('approval.decided', { approvalId: 'a1', callId: 'c1', decision: 'approved', by: 'ana', reason: '', argsHash: 'h' }, 60_000);
    log.add('run.started', { worker: 'w1', session: 2, resumedFrom: 4 }, 50);
    const s = log.fold();
    assert.equal(s.activeMs, 10 + 10 + 100 + 50, 'the 60 s wait for ana is not counted');
  });
});

describe('fold: steps, tool calls and retries', () => {
  it('counts a returned model call as a step and records its proposed calls in order', () => {
    const s = runLog()
      .started()
      .turn(1, [lookup('c1'), lookup('c2', 'o-2')], 'Looking.')
      .fold();
    assert.equal(s.steps, 1);
    assert.equal(s.turns.length, 1);
    assert.deepEqual(s.turns[0]?.callIds, ['c1', 'c2']);
    assert.equal(s.calls.get('c2')!.status, 'proposed');
    assert.equal(nextOpenCall(s)?.callId, 'c1');
  });

  it('counts model retries only when the failure will be retried', () => {
    const failure = { kind: 'server_error' as const, retryable: true, message: '503' };
    const s = runLog()
      .started()
      .add('model.failed', { step: 1, attempt: 1, failure, willRetry: true })
      .add('model.failed', { step: 1, attempt: 2, failure, willRetry: false })
      .fold();
    assert.equal(s.retries, 1);
    assert.equal(s.stepAttempts, 2);
    assert.equal(s.steps, 0, 'a failed model call is not a step');
  });

  it('counts first attempts of a tool as tool calls and every willRetry failure as a retry', () => {
    const log = runLog()
      .started()
      .turn(1, [lookup('c1')])
      .allow('c1');
    log.add('tool.started', { callId: 'c1', tool: 'lookup', attempt: 1, idempotencyKey: 'k' });
    log.add('tool.failed', { callId: 'c1', tool: 'lookup', attempt: 1, error: { code: 'TOOL_FAILED', message: 'flaky' }, durationMs: 1, willRetry: true });
    const retrying = foldRun(log.events);
    assert.equal(retrying.calls.get('c1')!.status, 'ready', 'a call that will be retried is ready again');
    log.ran('c1', { total: 5 }, 2);
    const s = log.fold();
    assert.equal(s.toolCalls, 1);
    assert.equal(s.retries, 1);
    assert.equal(s.calls.get('c1')!.attempts, 2);
    assert.equal(s.calls.get('c1')!.status, 'executed');
    assert.deepEqual(s.executedOrder, ['c1']);
  });

  it('marks a tool that failed for good as failed, with a note the model will read', () => {
    const log = runLog()
      .started()
      .turn(1, [lookup('c1')])
      .allow('c1');
    log.add('tool.started', { callId: 'c1', tool: 'lookup', attempt: 1, idempotencyKey: 'k' });
    log.add('tool.failed', { callId: 'c1', tool: 'lookup', attempt: 1, error: { code: 'TOOL_FAILED', message: 'down' }, durationMs: 1, willRetry: false });
    const c = log.fold().calls.get('c1')!;
    assert.equal(c.status, 'failed');
    assert.equal(c.note, 'Failed: down');
  });

  it('counts a rejected proposal (unknown tool, invalid arguments) as a retry', () => {
    const s = runLog()
      .started()
      .turn(1, [{ callId: 'c1', tool: 'nope', args: {} }])
      .add('tool.rejected', { callId: 'c1', tool: 'nope', error: { code: 'UNKNOWN_TOOL', message: 'no such tool' } })
      .fold();
    assert.equal(s.calls.get('c1')!.status, 'rejected');
    assert.equal(s.retries, 1);
    assert.equal(s.toolCalls, 0);
  });

  it('records each (tool, args, result) repeat and the steps without progress', () => {
    const log = runLog().started();
    for (let step = 1; step <= 3; step++) log.turn(step, [lookup(`c${step}`)]).ran(`c${step}`, { total: 5 });
    const s = log.fold();
    assert.deepEqual(s.lastRepeat?.steps, [1, 2, 3]);
    assert.equal(s.stepsWithoutProgress, 2, 'the first step was new, the next two were not');
    const changed = log
      .turn(4, [lookup('c4')])
      .ran('c4', { total: 6 })
      .fold();
    assert.equal(changed.stepsWithoutProgress, 0, 'a new result is progress');
  });

  it('rebuilds the conversation the model sees, with results and refusals in call order', () => {
    const log = runLog()
      .started()
      .turn(1, [lookup('c1'), { callId: 'c2', tool: 'wipe', args: {} }], 'Working.')
      .ran('c1', { total: 5 });
    log.add('tool.denied', { callId: 'c2', tool: 'wipe', by: 'policy', reason: 'never' });
    const messages = conversation(log.fold());
    assert.deepEqual(messages[0], { role: 'user', text: 'help me' });
    assert.equal(messages[1]?.role, 'assistant');
    assert.deepEqual(messages[2], {
      role: 'tool',
      results: [
        { callId: 'c1', tool: 'lookup', output: { total: 5 }, isError: false },
        { callId: 'c2', tool: 'wipe', output: 'Not allowed (policy): never', isError: true },
      ],
    });
  });
});

describe('fold: the budget', () => {
  it('holds a reservation open until it is committed, then counts only the actual spend', () => {
    const open = runLog().started().reserve('r1', 5_000).fold();
    assert.equal(open.openReservations.get('r1'), 5_000);
    assert.equal(open.spentNano, 0);
    const s = runLog().started().reserve('r1', 5_000).commit('r1', 3_000, 2_000).reserve('r2', 1_000).commit('r2', 1_000).fold();
    assert.equal(s.openReservations.size, 0);
    assert.equal(s.spentNano, 4_000);
  });

  it('records an overrun as spend beyond the reservation without changing the ceiling', () => {
    const log = runLog({ maxCostUsd: 0.000001 }).started().reserve('r1', 500);
    log.add('budget.overrun', {
      reservationId: 'r1',
      reservedNano: 500,
      actualNano: 2_000,
      reservedTokens: { input: 10, output: 5 },
      actualTokens: { input: 10, output: 900 },
    });
    log.commit('r1', 2_000).add('run.stopped', { reason: 'cost_ceiling', detail: 'overrun' });
    const s = log.fold();
    assert.equal(s.spentNano, 2_000);
    assert.equal(s.ceilingNano, 1_000);
    assert.equal(s.stopReason, 'cost_ceiling');
  });
});

describe('fold: approvals and escalations', () => {
  const parked = () => {
    const log = runLog()
      .started()
      .turn(1, [{ callId: 'c1', tool: 'wipe', args: { id: 7 } }]);
    log.add('policy.decided', { callId: 'c1', tool: 'wipe', tier: 'delete', argsHash: 'h', decision: 'approve', rule: 'tier:delete', reason: 'delete' });
    return log.add('approval.requested', { approvalId: 'a1', callId: 'c1', tool: 'wipe', tier: 'delete', args: { id: 7 }, argsHash: 'h', reason: 'delete' });
  };

  it('parks the run for approval and closes the session', () => {
    const s = parked().fold();
    assert.equal(s.status, 'waiting_approval');
    assert.equal(s.sessionOpen, false);
    assert.deepEqual(s.pending, { id: 'a1', kind: 'approval', callId: 'c1', reason: 'delete' });
    assert.equal(s.calls.get('c1')!.status, 'pending_approval');
  });

  it('queues the run again with the call ready once a person approves', () => {
    const s = parked().add('approval.decided', { approvalId: 'a1', callId: 'c1', decision: 'approved', by: 'ana', reason: 'ok', argsHash: 'h' }).fold();
    assert.equal(s.status, 'queued');
    assert.equal(s.pending, null);
    assert.equal(s.calls.get('c1')!.status, 'ready');
    assert.equal(s.calls.get('c1')!.approvedBy, 'ana');
  });

  it('denies the call, with the person and reason in its note, when a person says no', () => {
    const c = parked()
      .add('approval.decided', { approvalId: 'a1', callId: 'c1', decision: 'denied', by: 'ana', reason: '', argsHash: 'h' })
      .fold()
      .calls.get('c1')!;
    assert.equal(c.status, 'denied');
    assert.equal(c.note, 'Denied by ana: no reason given');
  });

  it('stays cancelled when an approval is requested after a cancel', () => {
    const log = runLog()
      .started()
      .turn(1, [{ callId: 'c1', tool: 'wipe', args: {} }])
      .add('run.cancelled', { by: 'ana', reason: 'x' });
    log.add('approval.requested', { approvalId: 'a1', callId: 'c1', tool: 'wipe', tier: 'delete', args: {}, argsHash: 'h', reason: 'delete' });
    assert.equal(log.fold().status, 'cancelled');
  });

  const escalatedLog = (reason: string) =>
    runLog()
      .started()
      .turn(1, [lookup('c1')])
      .add('escalated', { escalationId: 'e1', reason, callId: 'c1', evidence: {} });

  it('parks the run on an escalation with the call escalated', () => {
    const s = escalatedLog('low_confidence').fold();
    assert.equal(s.status, 'escalated');
    assert.equal(s.pending?.kind, 'escalation');
    assert.equal(s.calls.get('c1')!.status, 'escalated');
  });

  for (const [decision, reason, status] of [
    ['approve', 'low_confidence', 'proposed'],
    ['approve', 'unknown_outcome', 'ready'],
    ['edit', 'low_confidence', 'proposed'],
    ['stop', 'low_confidence', 'skipped'],
    ['takeover', 'low_confidence', 'skipped'],
  ] as const) {
    it(`sends the call to ${status} when a person decides ${decision} on a ${reason} escalation`, () => {
      const s = escalatedLog(reason)
        .add('escalation.decided', { escalationId: 'e1', decision, by: 'ana', reason: '', ...(decision === 'edit' ? { args: { orderId: 'o-9' } } : {}) })
        .fold();
      const c = s.calls.get('c1')!;
      assert.equal(s.status, 'queued');
      assert.equal(c.status, status);
      if (decision === 'approve' || decision === 'edit') assert.equal(c.cleared, true);
      if (decision === 'edit') {
        assert.deepEqual(c.args, { orderId: 'o-9' });
        assert.equal(c.edits, 1);
      }
    });
  }
});

describe('fold: bad logs fail with a typed error', () => {
  it('refuses an empty log and a log that does not start with run.submitted', () => {
    assert.throws(
      () => foldRun([]),
      (e) => isWardenError(e, 'STORE_CORRUPT'),
    );
    const started = nth(runLog().started().events, 1);
    assert.throws(
      () => foldRun([{ ...started, seq: 1 }]),
      (e) => isWardenError(e, 'STORE_CORRUPT') && /must start with run.submitted/.test(e.message),
    );
  });

  it('refuses an event out of order (a gap or a repeat of seq)', () => {
    const events = runLog().started().turn(1).events;
    assert.throws(
      () => foldRun([nth(events, 0), nth(events, 2)]),
      (e) => isWardenError(e, 'STORE_CORRUPT') && /seq 3 follows 1/.test(e.message),
    );
    assert.throws(
      () => foldRun([nth(events, 0), nth(events, 1), nth(events, 1)]),
      (e) => isWardenError(e, 'STORE_CORRUPT'),
    );
  });

  it('refuses an event written by a newer schema version', () => {
    const events = runLog().started().events;
    const future = { ...nth(events, 1), v: EVENT_SCHEMA_VERSION + 1 } as AnyRunEvent;
    assert.throws(
      () => foldRun([nth(events, 0), future]),
      (e) => isWardenError(e, 'STORE_CORRUPT') && /Upgrade Warden/.test(e.message),
    );
  });

  it('refuses an event about a call no model turn proposed', () => {
    const log = runLog().started().add('tool.started', { callId: 'ghost', tool: 'lookup', attempt: 1, idempotencyKey: 'k' });
    assert.throws(
      () => log.fold(),
      (e) => isWardenError(e, 'STORE_CORRUPT') && /unknown call ghost/.test(e.message),
    );
  });

  it('refuses an event type its schema version does not define (a new type comes with a new version)', () => {
    const log = runLog().started();
    log.events.push({ ...nth(log.events, 1), seq: 3, at: nth(log.events, 1).at + 5, type: 'future.thing' } as unknown as AnyRunEvent);
    assert.throws(
      () => log.fold(),
      (e) => isWardenError(e, 'STORE_CORRUPT') && /"future.thing", which schema v2 does not define/.test(e.message),
    );
  });

  it('refuses a v2 event type stamped with v1 (a v1 Warden never wrote one; the log was tampered with)', () => {
    const log = parkedWithDeadline();
    const [expired] = log.events.splice(-1);
    log.events.push({ ...(expired as AnyRunEvent), v: 1 } as AnyRunEvent);
    assert.throws(
      () => log.fold(),
      (e) => isWardenError(e, 'STORE_CORRUPT') && /"approval.expired", which schema v1 does not define/.test(e.message),
    );
  });
});

function parkedWithDeadline(outcome: 'denied' | 'escalated' = 'denied') {
  const log = runLog()
    .started()
    .turn(1, [{ callId: 'c1', tool: 'wipe', args: { id: 7 } }]);
  log.add('approval.requested', {
    approvalId: 'a1',
    callId: 'c1',
    tool: 'wipe',
    tier: 'delete',
    args: { id: 7 },
    argsHash: 'h',
    reason: 'delete',
    expiresAt: 60_000,
    onTimeout: outcome === 'denied' ? 'deny' : 'escalate',
  });
  return log.add(
    'approval.expired',
    { approvalId: 'a1', callId: 'c1', expiresAt: 60_000, outcome, ...(outcome === 'escalated' ? { escalationId: 'e1' } : {}) },
    60_000,
  );
}

describe('fold: approvals that expire', () => {
  it('holds the deadline on the pending approval', () => {
    const log = parkedWithDeadline();
    log.events.pop();
    const s = log.fold();
    assert.equal(s.status, 'waiting_approval');
    assert.equal(s.pending?.expiresAt, 60_000);
  });

  it('denies the call when it expires with onTimeout deny, and the run goes on', () => {
    const s = parkedWithDeadline('denied').fold();
    assert.equal(s.status, 'queued');
    assert.equal(s.pending, null);
    assert.equal(s.calls.get('c1')?.status, 'denied');
    assert.match(s.calls.get('c1')?.note ?? '', /nobody decided the approval in time/);
  });

  it('parks again on the escalation it turns into, and a person approving it approves the call itself', () => {
    const log = parkedWithDeadline('escalated');
    log.add('escalated', { escalationId: 'e1', reason: 'approval_timeout', callId: 'c1', evidence: {} }, 60_000);
    const parked = log.fold();
    assert.equal(parked.status, 'escalated');
    assert.equal(parked.calls.get('c1')?.status, 'escalated');
    const s = log.add('escalation.decided', { escalationId: 'e1', decision: 'approve', by: 'ana', reason: '' }, 61_000).fold();
    assert.equal(s.status, 'queued');
    // Ready to run, not back through the policy: the escalation was the approval.
    assert.equal(s.calls.get('c1')?.status, 'ready');
    assert.equal(s.calls.get('c1')?.approvedBy, 'ana');
  });
});

describe('fold: determinism', () => {
  it('gives the same state whether the log is folded whole or applied one event at a time', () => {
    const log = runLog()
      .started()
      .turn(1, [lookup('c1')])
      .reserve('r1', 9)
      .commit('r1', 4)
      .ran('c1', { total: 5 })
      .turn(2, [], 'Done.');
    log.add('run.completed', { output: 'Done.' });
    const whole = log.fold();
    const stepwise = foldRun([nth(log.events, 0)]);
    for (const e of log.events.slice(1)) applyEvent(stepwise, e);
    assert.deepEqual(stepwise, whole);
  });

  it('is a pure function of the log: folding the same random log twice gives equal states (fixed seed)', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('call' as const), order: fc.constantFrom('o-1', 'o-2'), result: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('spend' as const), reserve: fc.integer({ min: 1, max: 1_000 }), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ kind: fc.constant('fail' as const), retry: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 25 }), (actions) => {
        const log = runLog().started();
        let step = 0;
        let spent = 0;
        actions.forEach((a, i) => {
          if (a.kind === 'call') log.turn(++step, [lookup(`c${i}`, a.order)]).ran(`c${i}`, { total: a.result });
          else if (a.kind === 'spend') {
            const actual = Math.floor(a.reserve * a.fraction);
            spent += actual;
            log.reserve(`r${i}`, a.reserve).commit(`r${i}`, actual, a.reserve - actual);
          } else log.add('model.failed', { step: step + 1, attempt: 1, failure: { kind: 'timeout', retryable: true, message: 't' }, willRetry: a.retry });
        });
        const first = foldRun(structuredClone(log.events));
        const second = foldRun(structuredClone(log.events));
        assert.deepEqual(first, second);
        assert.equal(first.spentNano, spent);
        assert.equal(first.steps, step);
        assert.equal(first.toolCalls, actions.filter((a) => a.kind === 'call').length);
        assert.equal(first.retries, actions.filter((a) => a.kind === 'fail' && a.retry).length);
      }),
      { seed: 15_2026, numRuns: 200 },
    );
  });
});
