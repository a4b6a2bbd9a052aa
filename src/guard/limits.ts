import type { RunState } from '../core/run-state.ts';
import type { StopReason } from '../core/events.ts';

/** A limit the run has reached, with words a person can read in the trace. */
export interface LimitHit {
  limit: StopReason;
  detail: string;
}

/** Active time so far, counting the time since the last event unless the run is parked. */
export function activeMs(state: RunState, now: number): number {
  return state.activeMs + (state.pending === null ? Math.max(0, now - state.lastEventAt) : 0);
}

export function wallTimeHit(state: RunState, now: number): LimitHit | null {
  const used = activeMs(state, now);
  if (used < state.limits.maxWallMs) return null;
  return { limit: 'wall_time', detail: `Active for ${used} ms; the limit is ${state.limits.maxWallMs} ms (maxWallMs).` };
}

/** Checked before every model call. */
export function limitBeforeModelCall(state: RunState, now: number): LimitHit | null {
  if (state.steps >= state.limits.maxSteps) {
    return { limit: 'max_steps', detail: `Took ${state.steps} steps; the limit is ${state.limits.maxSteps} (maxSteps).` };
  }
  return wallTimeHit(state, now);
}

/** Checked before every first attempt of a tool call. */
export function limitBeforeToolCall(state: RunState, now: number): LimitHit | null {
  if (state.toolCalls >= state.limits.maxToolCalls) {
    return {
      limit: 'max_tool_calls',
      detail: `Ran ${state.toolCalls} tool calls; the limit is ${state.limits.maxToolCalls} (maxToolCalls).`,
    };
  }
  return wallTimeHit(state, now);
}

/** True while the run may still retry something (every retry draws from one per-run pool). */
export function canRetry(state: RunState): boolean {
  return state.retries < state.limits.maxRetries;
}

export function retriesHit(state: RunState, what: string): LimitHit {
  return {
    limit: 'max_retries',
    detail: `${what}; the run has used ${state.retries} of ${state.limits.maxRetries} retries (maxRetries).`,
  };
}

/** Rejected proposals count as retries: a model that keeps proposing bad calls is stopped. */
export function retriesOverdrawn(state: RunState): LimitHit | null {
  if (state.retries <= state.limits.maxRetries) return null;
  return retriesHit(state, 'The model kept proposing calls that could not run');
}
