import type { Agent } from '../../agent/agent.ts';
import { WardenError } from '../../core/errors.ts';
import { PARKED_STATUSES, TERMINAL_STATUSES } from '../../core/events.ts';
import { isResolved } from '../../core/fold.ts';
import type { CallState, RunState } from '../../core/run-state.ts';
import type { LimitHit } from '../../guard/limits.ts';
import { detectLoop } from '../../guard/loop-detector.ts';

/** What the loop does next; every kind but `done` moves the run by at least one event. */
export type NextAction =
  /** Ended or parked for a person: nothing to drive. */
  | { kind: 'done' }
  /** The session was aborted (shutdown, lost lease) with no cancel on record: read the log, then cancel. */
  | { kind: 'abort' }
  | { kind: 'cancel'; by: string; reason: string }
  | { kind: 'stop'; hit: LimitHit }
  /** Nothing open: ask the model for the next step. */
  | { kind: 'ask_model' }
  /** The latest turn has proposed calls: schema, plan, policy and confidence, in order. */
  | { kind: 'vet' }
  /** Calls left running by a process that is gone: retry or escalate them. */
  | { kind: 'settle_interrupted' }
  /** Calls cleared to run: run them as one batch. */
  | { kind: 'execute' };

/**
 * The one decision of each turn of the loop, read off the folded log alone, so a resumed run goes
 * on exactly where its log says it stopped.
 */
export function nextAction(s: RunState, agent: Agent, aborted: boolean): NextAction {
  if (TERMINAL_STATUSES.has(s.status) || PARKED_STATUSES.has(s.status)) return { kind: 'done' };
  if (aborted && !s.cancelRequested) return { kind: 'abort' };
  if (s.cancelRequested) return { kind: 'cancel', by: s.cancelRequested.by, reason: s.cancelRequested.reason };
  const loop = detectLoop(s, agent.loopDetection);
  if (loop) return { kind: 'stop', hit: loop };
  const open = openCalls(s);
  if (open.length === 0) {
    const denied = deniedInLastTurn(s);
    if (denied && agent.policy.onDeny === 'stop')
      return { kind: 'stop', hit: { limit: 'denied', detail: `${denied.tool} was denied: ${denied.note ?? 'no reason given'}` } };
    return { kind: 'ask_model' };
  }
  if (open.some((c) => c.status === 'proposed')) return { kind: 'vet' };
  if (open.some((c) => c.status === 'running' && !s.children.has(c.callId))) return { kind: 'settle_interrupted' };
  return { kind: 'execute' };
}

/** The latest turn's calls that still need work, in the order the model proposed them. */
export function openCalls(s: RunState): CallState[] {
  return latestTurnCalls(s).filter((c) => !isResolved(c.status));
}

/** A call of the latest model turn that policy or a person refused, if any. */
function deniedInLastTurn(s: RunState): CallState | undefined {
  return latestTurnCalls(s).find((c) => c.status === 'denied');
}

function latestTurnCalls(s: RunState): CallState[] {
  const last = s.turns.at(-1);
  if (!last) return [];
  return last.callIds.map((id) => {
    const call = s.calls.get(id);
    if (!call)
      throw new WardenError('INTERNAL', `Run ${s.runId}: turn ${s.turns.length} names call ${id}, which its log never proposed`, {
        context: { runId: s.runId },
      });
    return call;
  });
}
