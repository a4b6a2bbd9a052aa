import { type EventPayloads, type EventType, modelKey } from './events.ts';
import { PLAN_TOOL } from './plan.ts';
import type { RunState, RunTally } from './run-state.ts';

export type { RunTally };

export function emptyTally(): RunTally {
  return {
    modelAnswers: 0,
    modelFailures: {},
    answeredBy: {},
    fallbacks: {},
    proposed: 0,
    planSubmissions: 0,
    plansRejected: 0,
    plansVerified: 0,
    decisions: { allow: 0, approve: 0, deny: 0, rejected: 0 },
    ran: { read: 0, write: 0, delete: 0 },
    executions: { succeeded: 0, failed: 0 },
    shadowed: 0,
    retries: { model: 0, tool: 0, rejected: 0 },
    approvals: { requested: 0, approved: 0, denied: 0, expiredDenied: 0, expiredEscalated: 0 },
    escalations: {},
    assessments: { total: 0, belowThreshold: 0, escalated: 0 },
    overruns: 0,
    children: 0,
    compensations: { started: 0, succeeded: 0, failed: 0 },
    guards: { block: 0, redact: 0, escalate: 0 },
    outputsRejected: 0,
  };
}

type Counter<T extends EventType> = ((t: RunTally, d: EventPayloads[T], s: RunState) => void) | null;

/**
 * What each event type adds to the tally: one entry per type, `null` for those that count nothing.
 * The record is complete (TypeScript refuses a type left out), so a new event type is one decision
 * here and every view follows. The state is read only for what an earlier event fixed for good
 * (a call's tier), so counting a batch of events on its own gives the same increments.
 */
const TALLY: { [T in EventType]: Counter<T> } = {
  'run.submitted': null,
  'run.started': null,
  'budget.reserved': null,
  'budget.committed': null,
  'guard.decided': (t, d) => {
    t.guards[d.verdict]++;
  },
  'budget.alert': null,
  'output.rejected': (t) => {
    t.outputsRejected++;
  },
  'budget.overrun': (t) => {
    t.overruns++;
  },
  'model.called': (t, d, s) => {
    t.modelAnswers++;
    const by = modelKey(d.model ?? s.model);
    t.answeredBy[by] = (t.answeredBy[by] ?? 0) + 1;
    for (const c of d.turn.toolCalls) {
      if (c.tool === PLAN_TOOL) t.planSubmissions++;
      else t.proposed++;
    }
  },
  'model.failed': (t, d) => {
    t.modelFailures[d.failure.kind] = (t.modelFailures[d.failure.kind] ?? 0) + 1;
    if (d.willRetry) t.retries.model++;
  },
  'model.fallback': (t, d) => {
    t.fallbacks[d.reason] = (t.fallbacks[d.reason] ?? 0) + 1;
  },
  'tool.rejected': (t, d) => {
    t.retries.rejected++;
    if (d.tool !== PLAN_TOOL) t.decisions.rejected++;
  },
  'policy.decided': (t, d) => {
    t.decisions[d.decision]++;
  },
  'approval.requested': (t) => {
    t.approvals.requested++;
  },
  'approval.decided': (t, d) => {
    t.approvals[d.decision]++;
  },
  'approval.expired': (t, d) => {
    if (d.outcome === 'escalated') t.approvals.expiredEscalated++;
    else t.approvals.expiredDenied++;
  },
  'tool.denied': null,
  'tool.started': (t, d, s) => {
    if (d.attempt !== 1) return;
    const tier = s.calls.get(d.callId)?.tier;
    if (tier) t.ran[tier]++;
  },
  'tool.succeeded': (t) => {
    t.executions.succeeded++;
  },
  'tool.failed': (t, d) => {
    if (d.willRetry) t.retries.tool++;
    else t.executions.failed++;
  },
  escalated: (t, d) => {
    t.escalations[d.reason] = (t.escalations[d.reason] ?? 0) + 1;
  },
  'escalation.decided': null,
  'limit.hit': null,
  'plan.proposed': null,
  'plan.rejected': (t) => {
    t.plansRejected++;
  },
  'plan.verified': (t) => {
    t.plansVerified++;
  },
  'plan.amended': null,
  'step.assessed': (t, d) => {
    t.assessments.total++;
    if (d.confidence !== null && d.threshold !== null && d.confidence < d.threshold) t.assessments.belowThreshold++;
    if (d.verdict === 'escalate') t.assessments.escalated++;
  },
  'child.spawned': (t) => {
    t.children++;
  },
  'child.waiting': null,
  'child.resumed': null,
  'tool.shadowed': (t) => {
    t.shadowed++;
  },
  'undo.started': null,
  'compensation.requested': null,
  'compensation.decided': null,
  'compensation.started': (t, d) => {
    if (d.attempt === 1) t.compensations.started++;
  },
  'compensation.succeeded': (t) => {
    t.compensations.succeeded++;
  },
  'compensation.failed': (t, d) => {
    if (!d.willRetry) t.compensations.failed++;
  },
  'compensation.escalated': null,
  'undo.completed': null,
  'breaker.changed': null,
  'scheduler.waited': null,
  'lock.acquired': null,
  'cancel.requested': null,
  'run.completed': null,
  'conversation.history': null,
  'conversation.summarized': null,
  'run.failed': null,
  'run.stopped': null,
  'run.cancelled': null,
};

/**
 * Adds one event to a tally. The fold calls it for every event it applies; metrics call it on a
 * fresh tally per committed batch to get the batch's increments.
 *
 * @example
 * const delta = emptyTally();
 * for (const e of batch.events) tallyEvent(delta, e.type, e.data, batch.state);
 */
export function tallyEvent<T extends EventType>(tally: RunTally, type: T, data: EventPayloads[T], state: RunState): void {
  (TALLY[type] as Counter<T>)?.(tally, data, state);
}

/** Total retries of every kind (the figure the `maxRetries` limit counts). */
export function totalRetries(t: RunTally): number {
  return t.retries.model + t.retries.tool + t.retries.rejected;
}

/** Total tool calls that started (first attempts), whatever their tier. */
export function totalRan(t: RunTally): number {
  return t.ran.read + t.ran.write + t.ran.delete;
}
