import type { Agent } from '../agent/agent.ts';
import type { AgentModel } from '../agent/agent-models.ts';
import type { FallbackReason, ModelRef } from '../core/events.ts';
import type { ModelFailure } from '../core/ports/model.ts';
import type { RunState } from '../core/run-state.ts';
import { mustExist } from '../core/errors.ts';
import type { Decisions } from './decide/decisions.ts';

/** The model the current step calls (`model.fallback` moves it on), with its place in the agent's list. */
export function stepModel(agent: Agent, state: RunState): { index: number; entry: AgentModel; ref: ModelRef | undefined } {
  // A log written by an agent with more fallbacks than this one has: stay on its last model.
  const index = Math.min(state.stepModel.index, agent.models.length - 1);
  const entry = mustExist(agent.models[index], 'the agent model of the current step');
  return { index, entry, ref: index === 0 ? undefined : refOf(entry) };
}

function refOf(m: AgentModel): ModelRef {
  return { provider: m.model.provider, modelId: m.model.modelId };
}

/**
 * Why a failed attempt goes on to the next model instead of retrying this one, or null when it
 * does not: an open breaker (the provider is known to be down: no wait, no retry spent), an error
 * no retry can fix (a cancel is not one: the run ends), or a retryable error the run may not retry
 * any more (`retryRefused`: retries used up or refused by the global retry budget).
 */
export function fallbackReason(failure: ModelFailure, retryRefused: boolean): FallbackReason | null {
  if (failure.kind === 'breaker_open') return 'breaker_open';
  if (failure.kind === 'aborted') return null;
  if (!failure.retryable) return 'not_retryable';
  return retryRefused ? 'retries_exhausted' : null;
}

/**
 * Records that attempt `attempt` at `step` got no answer and that the step goes on to the next
 * model: the `model.failed` (no retry of this model) and the `model.fallback` that says why. The
 * next attempt is the next model's, reserved at its own price (`modelStep`).
 */
export function fallBack(
  d: Pick<Decisions, 'emit'>,
  agent: Agent,
  at: { step: number; attempt: number; index: number },
  failure: ModelFailure,
  reason: FallbackReason,
): void {
  const from = mustExist(agent.models[at.index], 'the model that failed');
  const to = mustExist(agent.models[at.index + 1], 'the model to fall back to');
  d.emit('model.failed', { step: at.step, attempt: at.attempt, failure, willRetry: false, ...(at.index > 0 ? { model: refOf(from) } : {}) });
  d.emit('model.fallback', {
    step: at.step,
    attempt: at.attempt,
    from: refOf(from),
    to: refOf(to),
    index: at.index + 1,
    reason,
    detail: failure.message,
  });
}
