import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PLAN_TOOL, type PlanStep } from './plan.ts';
import { runLog } from '../../test/run-log.ts';

const steps: PlanStep[] = [
  { id: 'find', tool: 'find_customer', args: { email: 'a@b.co' } },
  { id: 'send', tool: 'send_voucher', args: { customerId: { $ref: 'find.customerId' }, amount: 5 }, dependsOn: ['find'] },
];

const proposed = (planCall = 'p1') =>
  runLog()
    .started()
    .turn(1, [{ callId: planCall, tool: PLAN_TOOL, args: { steps } }])
    .add('plan.proposed', { callId: planCall, planId: 'plan_1', steps });

const verified = (awaitsApproval: boolean) =>
  proposed().add('plan.verified', { callId: 'p1', planId: 'plan_1', order: ['find', 'send'], estimateNano: 1_000, needsApproval: [], awaitsApproval });

describe('fold: plans', () => {
  it('keeps the proposed plan before it is verified, with no active plan', () => {
    const s = proposed().fold();
    assert.deepEqual(s.proposedPlan, { planId: 'plan_1', callId: 'p1', steps });
    assert.equal(s.plan, null);
    assert.equal(s.calls.get('p1')!.status, 'proposed');
  });

  it('accepts a verified plan at once, every step pending, and answers the plan call', () => {
    const s = verified(false).fold();
    assert.equal(s.plan?.accepted, true);
    assert.deepEqual(s.plan?.order, ['find', 'send']);
    assert.deepEqual(
      [...s.plan!.steps.values()].map((p) => p.status),
      ['pending', 'pending'],
    );
    const c = s.calls.get('p1')!;
    assert.equal(c.status, 'executed');
    assert.deepEqual((c.result as { order: string[] }).order, ['find', 'send']);
  });

  it('holds a plan that awaits approval as not accepted, its call still open', () => {
    const s = verified(true).fold();
    assert.equal(s.plan?.accepted, false);
    assert.equal(s.calls.get('p1')!.status, 'proposed');
  });

  it('accepts the plan as a whole when a person approves it', () => {
    const log = verified(true).add('approval.requested', {
      approvalId: 'a1',
      callId: 'p1',
      tool: PLAN_TOOL,
      tier: 'write',
      args: {},
      argsHash: 'h',
      reason: 'plan',
    });
    assert.equal(log.fold().status, 'waiting_approval');
    const s = log.add('approval.decided', { approvalId: 'a1', callId: 'p1', decision: 'approved', by: 'ana', reason: '', argsHash: 'h' }).fold();
    assert.equal(s.status, 'queued');
    assert.equal(s.plan?.accepted, true);
    assert.equal(s.plan?.approvedBy, 'ana');
    assert.equal(s.plan?.approvalId, 'a1');
    assert.equal(s.calls.get('p1')!.status, 'executed');
  });

  it('drops the plan and denies its call when a person refuses it', () => {
    const log = verified(true).add('approval.requested', {
      approvalId: 'a1',
      callId: 'p1',
      tool: PLAN_TOOL,
      tier: 'write',
      args: {},
      argsHash: 'h',
      reason: 'plan',
    });
    const s = log.add('approval.decided', { approvalId: 'a1', callId: 'p1', decision: 'denied', by: 'ana', reason: 'no', argsHash: 'h' }).fold();
    assert.equal(s.plan, null);
    assert.equal(s.calls.get('p1')!.status, 'denied');
    assert.match(s.calls.get('p1')!.note!, /refused by ana/);
  });

  it('rejects the plan call with every issue in its note and counts the rejections', () => {
    const s = proposed()
      .add('plan.rejected', {
        callId: 'p1',
        planId: 'plan_1',
        rejections: 2,
        issues: [
          { code: 'unknown_tool', step: 'find', message: 'No find_customer.' },
          { code: 'cycle', message: 'A circle.' },
        ],
      })
      .fold();
    const c = s.calls.get('p1')!;
    assert.equal(c.status, 'rejected');
    assert.equal(c.error?.code, 'PLAN_REJECTED');
    assert.match(c.note!, /No find_customer\. A circle\. Fix these/);
    assert.equal(s.planRejections, 2);
  });

  it('matches an assessed call to its plan step and marks the step done when the call succeeds', () => {
    const log = verified(false).turn(2, [{ callId: 'c1', tool: 'find_customer', args: { email: 'a@b.co' } }]);
    log.add('step.assessed', {
      callId: 'c1',
      planStep: 'find',
      deviation: false,
      confidence: 0.9,
      threshold: 0.5,
      factors: [],
      verdict: 'proceed',
      reason: 'plan step',
    });
    const matched = log.fold();
    assert.equal(matched.plan!.steps.get('find')!.status, 'matched');
    assert.equal(matched.plan!.steps.get('find')!.callId, 'c1');
    assert.equal(matched.calls.get('c1')!.confidence, 0.9);
    assert.equal(log.ran('c1', { customerId: 'c-7' }).fold().plan!.steps.get('find')!.status, 'done');
  });

  it('marks the plan step failed when its call fails for good', () => {
    const log = verified(false).turn(2, [{ callId: 'c1', tool: 'find_customer', args: {} }]);
    log
      .add('step.assessed', {
        callId: 'c1',
        planStep: 'find',
        deviation: false,
        confidence: null,
        threshold: null,
        factors: [],
        verdict: 'proceed',
        reason: '',
      })
      .allow('c1');
    log.add('tool.started', { callId: 'c1', tool: 'find_customer', attempt: 1, idempotencyKey: 'k' });
    log.add('tool.failed', { callId: 'c1', tool: 'find_customer', attempt: 1, error: { code: 'TOOL_FAILED', message: 'x' }, durationMs: 1, willRetry: false });
    assert.equal(log.fold().plan!.steps.get('find')!.status, 'failed');
  });

  it('marks an amended call as off the plan', () => {
    const log = verified(false)
      .turn(2, [{ callId: 'c1', tool: 'lookup', args: {} }])
      .add('plan.amended', { callId: 'c1', tool: 'lookup', reason: 'checked on its own' });
    const c = log.fold().calls.get('c1')!;
    assert.equal(c.amended, true);
    assert.equal(c.planStep, null);
  });

  it('ignores a step assessment of a final answer (no call)', () => {
    const log = verified(false).add('step.assessed', {
      callId: null,
      planStep: null,
      deviation: false,
      confidence: 0.2,
      threshold: 0.5,
      factors: [],
      verdict: 'escalate',
      reason: 'low',
    });
    assert.equal(log.fold().plan?.steps.get('find')?.status, 'pending');
  });
});

describe('fold: child runs', () => {
  const spawned = () =>
    runLog()
      .started()
      .turn(1, [{ callId: 'd1', tool: 'delegate_writer', args: { task: 'draft' } }])
      .allow('d1')
      .add('child.spawned', { callId: 'd1', childRunId: 'run_child', agent: 'writer', depth: 1 });

  it('records a child run by the delegation call that started it', () => {
    assert.deepEqual([...spawned().fold().children], [['d1', { childRunId: 'run_child', agent: 'writer' }]]);
  });

  for (const status of ['waiting_approval', 'escalated'] as const) {
    it(`parks the parent as ${status} while its child waits, and queues it when the child moves on`, () => {
      const log = spawned().add('child.waiting', { callId: 'd1', childRunId: 'run_child', status, pendingId: 'i1', reason: 'delete' });
      const waiting = log.fold();
      assert.equal(waiting.status, status);
      assert.deepEqual(waiting.pending, {
        id: 'i1',
        kind: status === 'escalated' ? 'escalation' : 'approval',
        callId: 'd1',
        reason: 'delete',
        childRunId: 'run_child',
      });
      assert.equal(waiting.sessionOpen, false);
      const resumed = log.add('child.resumed', { callId: 'd1', childRunId: 'run_child' }).fold();
      assert.equal(resumed.status, 'queued');
      assert.equal(resumed.pending, null);
    });
  }

  it('takes lineage and mode from run.submitted', () => {
    const log = runLog({}, 'run_child');
    const submitted = log.events[0];
    if (submitted?.type !== 'run.submitted') throw new Error('unreachable');
    submitted.data.lineage = [{ runId: 'run_root', agent: 'lead' }];
    submitted.data.mode = 'shadow';
    const s = log.fold();
    assert.deepEqual(s.lineage, [{ runId: 'run_root', agent: 'lead' }]);
    assert.equal(s.mode, 'shadow');
  });
});
