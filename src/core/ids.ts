import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * Every id the runtime writes into a log. Ids other than a new run's are derived, never drawn:
 * the same run, call and attempt always give the same id, so a worker that crashes between
 * deciding and writing cannot create a second approval, escalation or child on its next try.
 */

/**
 * A new run: `run_` and a UUIDv7 as 32 hex digits (RFC 9562, from `uuid`: node:crypto has none before Node 24). Its first 12 digits
 * are the creation time in ms, so ids sort by time: new runs land at the end of every index keyed
 * by run id instead of on random pages (random ids doubled the bytes written per step and slowed a
 * store that already held a million events to 0.75×). The rest is random.
 */
export function newRunId(): string {
  return `run_${uuidv7().replaceAll('-', '')}`;
}

/** A run id from `newRunId`: its first 12 hex digits are a time. */
const TIME_ORDERED = /^run_[0-9a-f]{32}$/;

/**
 * A child's id depends only on its parent and the call, so a crash between steps cannot start two.
 * A child of a time-ordered parent shares its parent's time prefix (and sorts next to it); a
 * parent with an older or chosen id keeps the derivation it always had, so a run begun before an
 * upgrade finds the children it already started.
 */
export function childRunId(parentRunId: string, callId: string): string {
  const hash = createHash('sha256').update(`${parentRunId}/${callId}`).digest('hex');
  if (TIME_ORDERED.test(parentRunId)) return `run_${parentRunId.slice(4, 16)}${hash.slice(0, 20)}`;
  return `run_${hash.slice(0, 16)}`;
}

const bare = (runId: string) => runId.replace(/^run_/, '');

/** The approval a call waits for; an edited call asks again under `_e<edits>`. */
export function approvalId(runId: string, callId: string, edits = 0): string {
  return `apr_${bare(runId)}_${callId}${edits > 0 ? `_e${edits}` : ''}`;
}

/** The approval undoing a delete-tier call waits for. */
export function undoApprovalId(runId: string, callId: string): string {
  return `apr_${bare(runId)}_${callId}_undo`;
}

/** An escalation about one attempt of a call (`attempt` may also name a kind: `plan`, `final`). */
export function escalationId(runId: string, callId: string, attempt: number | string): string {
  return `esc_${bare(runId)}_${callId}_${attempt}`;
}

/** An escalation about a compensation that failed. */
export function undoEscalationId(runId: string, callId: string, attempt: number): string {
  return `esc_${bare(runId)}_${callId}_undo${attempt}`;
}

/** The escalation of a poison run, raised by the session that found it. */
export function crashEscalationId(runId: string, sessions: number): string {
  return `esc_${bare(runId)}_crashed${sessions}`;
}

/** What a tool sees as `ctx.idempotencyKey`: the same for every attempt of one call. */
export function idempotencyKey(runId: string, callId: string): string {
  return `${runId}:${callId}`;
}

/** The idempotency key of a call's compensation. */
export function undoKey(runId: string, callId: string): string {
  return `${runId}:${callId}:undo`;
}
