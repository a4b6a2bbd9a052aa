import { isWardenError, mustExist } from '../core/errors.ts';
import { type AnyNewEvent, newEvent, type RunStatus } from '../core/events.ts';
import { APPROVAL_TIMEOUT } from '../core/fold.ts';
import { escalationId } from '../core/ids.ts';
import { PLAN_TOOL } from '../core/plan.ts';
import type { InterventionRecord, NewIntervention, Store } from '../core/ports/store.ts';
import { formatDuration } from '../core/duration.ts';

/** What became of an approval nobody decided in time. */
export interface ExpiredApproval {
  approval: InterventionRecord;
  outcome: 'denied' | 'escalated';
  /** The escalation it turned into (`escalated`). */
  escalationId?: string;
  /** The run's new last seq. */
  lastSeq: number;
}

/**
 * Expires one approval whose deadline has passed: `approval.expired` (and, for `onTimeout:
 * 'escalate'`, an `escalated` event and its escalation) in one append that also closes the
 * approval as `expired` — only if it is still pending and `now` is at or past its deadline, in the
 * same statement. Null when it is not due, not pending, or a person decided it first.
 */
export async function expireApproval(store: Store, record: InterventionRecord, now: number): Promise<ExpiredApproval | null> {
  if (record.kind !== 'approval' || record.status !== 'pending' || record.expiresAt === null || now < record.expiresAt) return null;
  const callId = mustExist(record.callId, 'the call of an approval');
  // A plan that nobody approved is refused (the model may propose another); it has no call to escalate.
  const escalate = record.evidence.onTimeout === 'escalate' && record.tool !== PLAN_TOOL;
  const waited = formatDuration(record.expiresAt - record.requestedAt);
  const events: AnyNewEvent[] = [];
  const interventions: NewIntervention[] = [];
  let status: RunStatus = 'queued';
  let escalation: string | undefined;
  if (escalate) {
    escalation = escalationId(record.runId, callId, 'timeout');
    const detail = `nobody decided approval ${record.id} of ${record.tool} within ${waited}; a person decides the call instead`;
    const evidence = { tool: record.tool, args: record.args, detail, approvalId: record.id, ...record.evidence };
    events.push(
      newEvent('approval.expired', { approvalId: record.id, callId, expiresAt: record.expiresAt, outcome: 'escalated', escalationId: escalation }, now),
    );
    events.push(newEvent('escalated', { escalationId: escalation, reason: APPROVAL_TIMEOUT, callId, evidence }, now));
    interventions.push({
      id: escalation,
      kind: 'escalation',
      callId,
      tool: record.tool,
      args: record.args,
      argsHash: record.argsHash,
      reason: detail,
      evidence,
      requestedAt: now,
    });
    status = 'escalated';
  } else {
    events.push(newEvent('approval.expired', { approvalId: record.id, callId, expiresAt: record.expiresAt, outcome: 'denied' }, now));
  }
  try {
    const lastSeq = await store.appendExternal(record.runId, events, {
      run: { status },
      intervention: {
        id: record.id,
        status: 'expired',
        decidedBy: 'warden',
        decisionReason: `nobody decided within ${waited}; ${escalate ? 'escalated' : 'denied'}`,
        decidedAt: now,
      },
      interventions,
    });
    return { approval: record, outcome: escalate ? 'escalated' : 'denied', ...(escalation ? { escalationId: escalation } : {}), lastSeq };
  } catch (e) {
    // A person (or another sweeper) decided it first: theirs stands.
    if (isWardenError(e, 'CONFLICT')) return null;
    throw e;
  }
}

/** Pending approvals whose deadline is at or before `now`, soonest-requested first. */
export function dueApprovals(store: Store, now: number, options: { runId?: string; limit?: number } = {}): Promise<InterventionRecord[]> {
  return store.listInterventions({
    kind: 'approval',
    status: 'pending',
    expiresBy: now,
    limit: options.limit ?? 100,
    ...(options.runId ? { runId: options.runId } : {}),
  });
}
