import type { LoopDetection } from '../core/limits.ts';
import type { RunState } from '../core/run-state.ts';
import { canonicalJson } from '../core/canonical.ts';
import type { LimitHit } from './limits.ts';

const ARGS_PREVIEW = 120;

/**
 * Stops a run that repeats itself without progress, well before `maxSteps` would:
 * - the same tool with the same arguments returned the same result `repeats` times, or
 * - `noProgressSteps` steps in a row proposed only calls already made, with results already seen.
 */
export function detectLoop(state: RunState, config: LoopDetection): LimitHit | null {
  const repeat = state.lastRepeat;
  if (repeat && repeat.steps.length >= config.repeats) {
    let args = canonicalJson(repeat.args);
    if (args.length > ARGS_PREVIEW) args = `${args.slice(0, ARGS_PREVIEW)}…`;
    return {
      limit: 'loop_detected',
      detail: `${repeat.tool}(${args}) returned the same result ${repeat.steps.length} times (steps ${repeat.steps.join(', ')}).`,
    };
  }
  if (state.stepsWithoutProgress >= config.noProgressSteps) {
    return {
      limit: 'loop_detected',
      detail: `${state.stepsWithoutProgress} steps in a row produced nothing new (same calls, same results).`,
    };
  }
  return null;
}
