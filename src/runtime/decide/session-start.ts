import type { Agent } from '../../agent/agent.ts';
import type { AnyTool } from '../../agent/tool.ts';
import { WardenError } from '../../core/errors.ts';
import { crashEscalationId, escalationId, idempotencyKey } from '../../core/ids.ts';
import { canRetry } from '../../guard/limits.ts';
import type { Decisions } from './decisions.ts';
import { settle } from './ledger.ts';
import { stopRun } from './run-end.ts';

/**
 * What a new execution session decides before anything else, from the folded log alone. Anything
 * the previous session left open is settled: a reservation with no outcome is charged in full; a
 * tool call with no outcome is retried with the same idempotency key if the tool is idempotent,
 * and escalated to a person if it is not. A run whose sessions keep dying stops as poison.
 */
export function beginSession(d: Decisions, agent: Agent, session: { worker: string; maxCrashedSessions: number }): void {
  const s = d.state;
  d.emit('run.started', { worker: session.worker, session: s.sessions + 1, resumedFrom: s.seq });
  chargeOpenReservations(d);
  if (d.state.crashedSessions >= session.maxCrashedSessions) {
    stopPoisonRun(d, session.maxCrashedSessions);
    return;
  }
  settleInterruptedCalls(d, agent);
}

/** Reservations with no recorded outcome are charged in full: the call may have been billed. */
export function chargeOpenReservations(d: Decisions): void {
  const s = d.state;
  for (const [reservationId, amountNano] of [...s.openReservations]) {
    settle(d, reservationId, amountNano, amountNano, { assumed: true });
  }
}

/**
 * A poison run: every session that drove it died before recording an outcome. Driving it again
 * would crash the next worker and bill the ceiling away, so it stops with `crashed` and a person
 * is told (an escalation in the inbox; deciding it only closes it, the run stays stopped).
 */
export function stopPoisonRun(d: Decisions, maxCrashedSessions: number): void {
  const s = d.state;
  const id = crashEscalationId(s.runId, s.sessions);
  const inFlight = [...s.calls.values()].filter((c) => c.status === 'running').map((c) => `${c.tool} (${c.callId}, attempt ${c.attempts})`);
  const detail =
    `${s.crashedSessions} sessions of this run ended with no outcome recorded (the process or worker driving it died), ` +
    `the limit is ${maxCrashedSessions}${inFlight.length ? `; in flight each time: ${inFlight.join(', ')}` : ''}. ` +
    `It is not driven again; escalation ${id} tells a person.`;
  d.intervene({
    id,
    kind: 'escalation',
    callId: null,
    tool: null,
    args: null,
    argsHash: null,
    reason: detail,
    evidence: { crashed: true, crashedSessions: s.crashedSessions, inFlight },
    requestedAt: d.now(),
  });
  stopRun(d, { limit: 'crashed', detail });
}

/** Calls marked running with no outcome: the process that ran them is gone. */
export function settleInterruptedCalls(d: Decisions, agent: Agent): void {
  for (const call of [...d.state.calls.values()]) {
    if (call.status !== 'running' || d.state.children.has(call.callId)) continue;
    const tool = agent.toolsByName.get(call.tool);
    if (!tool) throw new WardenError('INVALID_CONFIG', `Run ${d.state.runId} was interrupted in tool "${call.tool}", which the agent no longer has`);
    const message = 'the process running it stopped before its outcome was recorded';
    if (!tool.idempotent) {
      if (d.state.pending) continue; // one person's decision at a time; this one comes next
      escalateUnknownOutcome(d, call.callId, tool, call.attempts, message);
      continue;
    }
    const willRetry = call.attempts <= tool.retries && canRetry(d.state);
    d.emit('tool.failed', {
      callId: call.callId,
      tool: call.tool,
      attempt: call.attempts,
      error: { code: 'TOOL_OUTCOME_UNKNOWN', message: `${call.tool}: ${message}` },
      durationMs: 0,
      willRetry,
      unknownOutcome: true,
    });
  }
}

/**
 * A call of a tool that is not idempotent ended with no known outcome (timed out, or its process
 * died): running it again could repeat it, so a person decides.
 */
export function escalateUnknownOutcome(d: Decisions, callId: string, tool: AnyTool, attempt: number, message: string): void {
  const runId = d.state.runId;
  const call = d.state.calls.get(callId);
  if (!call) throw new WardenError('INTERNAL', `Run ${runId} has no call ${callId} to escalate`, { context: { runId } });
  const id = escalationId(runId, callId, attempt);
  const reason = `${tool.name} is not idempotent and its outcome is unknown (${message}); running it again could repeat it`;
  const evidence = { tool: tool.name, args: call.args, attempt, idempotencyKey: idempotencyKey(runId, callId) };
  d.emit('escalated', { escalationId: id, reason: 'unknown_outcome', callId, evidence: { ...evidence, detail: reason } });
  d.intervene({ id, kind: 'escalation', callId, tool: tool.name, args: call.args, argsHash: call.argsHash, reason, evidence, requestedAt: d.now() });
}
