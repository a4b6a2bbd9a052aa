import { mustExist, WardenError } from '../errors.ts';
import { canRetry } from '../guard/limits.ts';
import { detectLoop } from '../guard/loop-detector.ts';
import { PARKED_STATUSES, TERMINAL_STATUSES } from './events.ts';
import { type CallState, isResolved, type RunState } from './fold.ts';
import { modelStep, budgetSnapshot } from './model-step.ts';
import type { RunContext } from './run-context.ts';
import { cancelRun, stopRun } from './run-end.ts';
import { escalateUnknownOutcome, executeReady } from './tool-step.ts';
import { driveUndo, undoOrder } from './undo.ts';
import { vetProposed } from './vet.ts';

/**
 * Drives a run until it ends or parks (waiting for a person). Each turn of the loop moves the run
 * by one decision, taken from the folded log, so a resumed run goes on exactly where the log says
 * it stopped: check the proposed calls, run the ready ones, or ask the model for the next step.
 */
export async function driveRun(ctx: RunContext): Promise<void> {
  beginSession(ctx);
  for (;;) {
    const s = ctx.state;
    if (TERMINAL_STATUSES.has(s.status) || PARKED_STATUSES.has(s.status)) break;
    if (ctx.signal.aborted && !s.cancelRequested) {
      await ctx.flush();
      await ctx.pullExternal();
      if (!ctx.state.cancelRequested) cancelRun(ctx, 'runtime', `aborted: ${String(ctx.signal.reason ?? 'no reason')}`);
      continue;
    }
    if (s.cancelRequested) {
      cancelRun(ctx, s.cancelRequested.by, s.cancelRequested.reason);
      continue;
    }
    const loop = detectLoop(s, ctx.agent.loopDetection);
    if (loop) {
      stopRun(ctx, loop);
      continue;
    }
    const before = s.seq;
    const open = openCalls(s);
    if (open.length === 0) {
      const denied = deniedInLastTurn(s);
      if (denied && ctx.agent.policy.onDeny === 'stop') {
        stopRun(ctx, { limit: 'denied', detail: `${denied.tool} was denied: ${denied.note ?? 'no reason given'}` });
        continue;
      }
      await modelStep(ctx);
    } else if (open.some((c) => c.status === 'proposed')) {
      await vetProposed(ctx);
    } else if (open.some((c) => c.status === 'running' && !s.children.has(c.callId))) {
      settleInterruptedCalls(ctx);
    } else {
      await executeReady(ctx);
    }
    if (ctx.state.seq === before && !ctx.budgetRefusal) {
      throw new WardenError('INTERNAL', `Run ${s.runId} made no progress (open calls: ${open.map((c) => `${c.callId} ${c.status}`).join(', ') || 'none'})`, {
        context: { runId: s.runId },
      });
    }
  }
  const s = ctx.state;
  if ((s.status === 'failed' || s.status === 'stopped') && ctx.agent.compensateOnFailure && !s.undo && undoOrder(s, ctx.agent).length > 0) {
    // Saga: a run that failed after writing takes back what it wrote, as steps in its own log.
    await driveUndo(ctx, 'runtime', `compensateOnFailure: the run ${s.status} (${s.stopReason ?? s.error?.code ?? 'error'}) after it had written`);
  }
  await ctx.flush();
}

/** The latest turn's calls that still need work, in the order the model proposed them. */
function openCalls(s: RunState): CallState[] {
  const last = s.turns.at(-1);
  return last ? last.callIds.map((id) => mustExist(s.calls.get(id), 'the call in the run state')).filter((c) => !isResolved(c.status)) : [];
}

/** A call of the latest model turn that policy or a person refused, if any. */
function deniedInLastTurn(s: RunState): CallState | undefined {
  const last = s.turns.at(-1);
  return last?.callIds.map((id) => mustExist(s.calls.get(id), 'the call in the run state')).find((c) => c.status === 'denied');
}

/**
 * Starts an execution session. Anything the previous session left open is settled first:
 * a reservation with no outcome is charged in full; a tool call with no outcome is retried with
 * the same idempotency key if the tool is idempotent, and escalated to a person if it is not.
 * A delegation whose child is still going is driven again from the child's own log.
 */
function beginSession(ctx: RunContext): void {
  const s: RunState = ctx.state;
  ctx.emit('run.started', { worker: ctx.worker, session: s.sessions + 1, resumedFrom: s.seq });
  chargeOpenReservations(ctx);
  if (ctx.state.crashedSessions >= ctx.maxCrashedSessions) return stopPoisonRun(ctx);
  settleInterruptedCalls(ctx);
}

/**
 * A poison run: every session that drove it died before recording an outcome. Driving it again
 * would crash the next worker and bill the ceiling away, so it stops with `crashed` and a person
 * is told (an escalation in the inbox; deciding it only closes it, the run stays stopped).
 */
function stopPoisonRun(ctx: RunContext): void {
  const s = ctx.state;
  const id = `esc_${ctx.runId.replace(/^run_/, '')}_crashed${s.sessions}`;
  const inFlight = [...s.calls.values()].filter((c) => c.status === 'running').map((c) => `${c.tool} (${c.callId}, attempt ${c.attempts})`);
  const detail =
    `${s.crashedSessions} sessions of this run ended with no outcome recorded (the process or worker driving it died), ` +
    `the limit is ${ctx.maxCrashedSessions}${inFlight.length ? `; in flight each time: ${inFlight.join(', ')}` : ''}. ` +
    `It is not driven again; escalation ${id} tells a person.`;
  ctx.intervene({ id, kind: 'escalation', callId: null, tool: null, args: null, argsHash: null, reason: detail, evidence: { crashed: true, crashedSessions: s.crashedSessions, inFlight }, requestedAt: ctx.now() });
  stopRun(ctx, { limit: 'crashed', detail });
}

/** Reservations with no recorded outcome are charged in full: the call may have been billed. */
export function chargeOpenReservations(ctx: RunContext): void {
  const s = ctx.state;
  for (const [reservationId, amountNano] of [...s.openReservations]) {
    ctx.budget({ kind: 'settle', rootRunId: s.rootRunId, reservedNano: amountNano, actualNano: amountNano });
    const before = budgetSnapshot(ctx);
    ctx.emit('budget.committed', {
      reservationId,
      actualNano: amountNano,
      releasedNano: 0,
      assumed: true,
      after: { ...before, spentNano: before.spentNano + amountNano, reservedNano: before.reservedNano - amountNano },
    });
  }
}

/** Calls marked running with no outcome: the process that ran them is gone. */
function settleInterruptedCalls(ctx: RunContext): void {
  for (const call of [...ctx.state.calls.values()]) {
    if (call.status !== 'running' || ctx.state.children.has(call.callId)) continue;
    const tool = ctx.agent.toolsByName.get(call.tool);
    if (!tool) throw new WardenError('INVALID_CONFIG', `Run ${ctx.runId} was interrupted in tool "${call.tool}", which the agent no longer has`);
    const message = 'the process running it stopped before its outcome was recorded';
    if (!tool.idempotent) {
      if (ctx.state.pending) continue; // one person's decision at a time; this one comes next
      escalateUnknownOutcome(ctx, call.callId, tool, call.attempts, message);
      continue;
    }
    const willRetry = call.attempts <= tool.retries && canRetry(ctx.state);
    ctx.emit('tool.failed', {
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
