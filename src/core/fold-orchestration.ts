import type { PlanStep } from './plan.ts';
import { type Appliers, call, closeTurnIfResolved } from './fold-calls.ts';
import type { CallState, RunState } from './run-state.ts';

/** What the model sees once its plan is accepted. */
export function planAcceptedResult(order: string[], approvedBy: string | null): unknown {
  return {
    accepted: true,
    order,
    ...(approvedBy ? { approvedBy } : {}),
    note: 'Carry out the steps in this order. Every call is checked against the plan.',
  };
}

/** A person approved or refused the plan as a whole. */
export function planDecided(s: RunState, c: CallState, approved: boolean, by: string, approvalId: string): void {
  if (approved && s.plan && s.plan.callId === c.callId) {
    s.plan.accepted = true;
    s.plan.approvedBy = by;
    s.plan.approvalId = approvalId;
    c.status = 'executed';
    c.approvedBy = by;
    c.result = planAcceptedResult(s.plan.order, by);
  } else {
    s.plan = null;
    c.status = 'denied';
    c.note = `The plan was refused by ${by}. Propose a different plan.`;
  }
  closeTurnIfResolved(s);
}

/** Plans, step assessments, child runs and locks. */
export const ORCHESTRATION_APPLY: Appliers = {
  'plan.proposed': (s, d) => {
    call(s, d.callId);
    s.proposedPlan = { planId: d.planId, callId: d.callId, steps: d.steps };
  },
  'plan.rejected': (s, d) => {
    const c = call(s, d.callId);
    c.status = 'rejected';
    c.error = { code: 'PLAN_REJECTED', message: `The plan cannot run: ${d.issues.map((i) => i.message).join(' ')}` };
    c.note = `${c.error.message} Fix these and submit the plan again.`;
    s.planRejections = d.rejections;
    closeTurnIfResolved(s);
  },
  'plan.verified': (s, d) => {
    const c = call(s, d.callId);
    const steps = new Map<string, { step: PlanStep; status: 'pending' }>();
    for (const step of s.proposedPlan?.planId === d.planId ? s.proposedPlan.steps : []) steps.set(step.id, { step, status: 'pending' });
    s.plan = { planId: d.planId, callId: d.callId, steps, order: d.order, accepted: !d.awaitsApproval, approvedBy: null, approvalId: null };
    if (!d.awaitsApproval) {
      c.status = 'executed';
      c.result = planAcceptedResult(d.order, null);
      closeTurnIfResolved(s);
    }
  },
  'plan.amended': (s, d) => {
    const c = call(s, d.callId);
    c.amended = true;
    c.planStep = null;
  },
  'step.assessed': (s, d) => {
    if (!d.callId) return;
    const c = call(s, d.callId);
    c.planStep = d.planStep;
    c.confidence = d.confidence;
    const step = d.planStep ? s.plan?.steps.get(d.planStep) : undefined;
    if (step) {
      step.status = 'matched';
      step.callId = d.callId;
    }
  },
  'child.spawned': (s, d) => {
    s.children.set(d.callId, { childRunId: d.childRunId, agent: d.agent });
  },
  'child.waiting': (s, d) => {
    s.pending = { id: d.pendingId, kind: d.status === 'escalated' ? 'escalation' : 'approval', callId: d.callId, reason: d.reason, childRunId: d.childRunId };
    s.status = d.status;
  },
  'child.resumed': (s) => {
    s.pending = null;
    if (s.status === 'waiting_approval' || s.status === 'escalated') s.status = 'queued';
  },
};
