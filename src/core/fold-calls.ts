import type { EventPayloads } from './events.ts';
import { mustExist, WardenError } from './errors.ts';
import { hashValue } from './canonical.ts';
import type { CallState, CallStatus, RunState } from './run-state.ts';

/** How each event type changes the state; the fold's table is assembled from several of these. */
export type Appliers = { [T in keyof EventPayloads]?: (state: RunState, data: EventPayloads[T]) => void };

export function call(state: RunState, callId: string): CallState {
  const c = state.calls.get(callId);
  if (!c) throw new WardenError('STORE_CORRUPT', `Run ${state.runId}: event refers to unknown call ${callId}`);
  return c;
}

/** Marks progress once every call of the latest turn has an outcome. */
export function closeTurnIfResolved(state: RunState): void {
  const last = state.turns.at(-1);
  if (!last || last.callIds.length === 0) return;
  const calls = last.callIds.map((id) => mustExist(state.calls.get(id), 'the call in the run state'));
  if (calls.some((c) => !isResolved(c.status))) return;
  let progress = false;
  for (const c of calls) {
    const pair = `${c.tool}\u0000${c.argsHash}`;
    const triple = `${pair}\u0000${c.status === 'executed' ? hashValue(c.result) : c.status}`;
    if (!state.seen.has(pair) || !state.seen.has(triple)) progress = true;
    state.seen.add(pair);
    state.seen.add(triple);
  }
  state.stepsWithoutProgress = progress ? 0 : state.stepsWithoutProgress + 1;
}

export function isResolved(status: CallStatus): boolean {
  return status === 'executed' || status === 'failed' || status === 'rejected' || status === 'denied' || status === 'skipped';
}
