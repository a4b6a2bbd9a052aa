import { type Appliers, call, closeTurnIfResolved } from './fold-calls.ts';
import { mustExist, WardenError } from './errors.ts';
import type { CompensationState } from './run-state.ts';

function comp(s: Parameters<NonNullable<Appliers['undo.started']>>[0], callId: string): CompensationState {
  const c = s.undo?.compensations.get(callId);
  if (!c)
    throw new WardenError('STORE_CORRUPT', `Run ${s.runId}: compensation event for ${callId}, which the undo does not cover`, { context: { runId: s.runId } });
  return c;
}

/** Shadow calls and the undo of a run's calls. */
export const UNDO_APPLY: Appliers = {
  'tool.shadowed': (s, d) => {
    const c = call(s, d.callId);
    c.status = 'executed';
    c.shadowed = true;
    c.tier = d.tier;
    c.decision = { decision: d.decision, rule: d.rule, reason: d.reason };
    c.result = d.standIn;
    closeTurnIfResolved(s);
  },
  'undo.started': (s, d) => {
    const compensations = new Map<string, CompensationState>();
    for (const o of d.order) compensations.set(o.callId, { callId: o.callId, tool: o.tool, status: o.reversible ? 'pending' : 'irreversible', attempts: 0 });
    s.undo = { status: 'running', by: d.by, order: d.order.map((o) => o.callId), compensations, waiting: null };
  },
  'compensation.requested': (s, d) => {
    const c = comp(s, d.callId);
    c.status = 'approval';
    c.approvalId = d.approvalId;
    mustExist(s.undo, 'the undo of the run').waiting = d.approvalId;
  },
  'compensation.decided': (s, d) => {
    const c = comp(s, d.callId);
    c.status = d.decision === 'approve' ? 'approved' : d.decision === 'skip' ? 'skipped' : 'done';
    if (d.decision === 'approve' && c.escalationId) c.attempts = 0; // a person asked for another round
    mustExist(s.undo, 'the undo of the run').waiting = null;
  },
  'compensation.started': (s, d) => {
    const c = comp(s, d.callId);
    c.status = 'running';
    c.attempts = d.attempt;
  },
  'compensation.succeeded': (s, d) => {
    const c = comp(s, d.callId);
    c.status = 'done';
    c.result = d.result;
  },
  'compensation.failed': (s, d) => {
    comp(s, d.callId).status = d.willRetry ? 'retry' : 'escalated';
  },
  'compensation.escalated': (s, d) => {
    const c = comp(s, d.callId);
    c.status = 'escalated';
    c.escalationId = d.escalationId;
    mustExist(s.undo, 'the undo of the run').waiting = d.escalationId;
  },
  'undo.completed': (s) => {
    mustExist(s.undo, 'the undo of the run').status = 'completed';
  },
};
