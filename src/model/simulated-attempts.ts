import { createHash } from 'node:crypto';
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';

/**
 * Which attempt at the same prompt a call is, so an error turn (`error: { times: n }`) fails n
 * attempts and then lets the turn through. A failed call adds no assistant message, so the turn
 * index alone cannot tell a retry from the first try.
 *
 * Warden states the attempt in the call (`providerOptions.warden.attempt`, taken from the run's
 * event log), which keeps the simulated model stateless: a resumed run and a replay see the same
 * failures. A caller that does not (such as `generateText` driving the model directly) falls back
 * to counting failures per prompt in a bounded map keyed by a hash of the prompt. The count is
 * dropped when the turn gets through, so a later run with the same prompt fails afresh; runs
 * that send byte-identical prompts at the same moment share one count.
 */

/** Enough for thousands of concurrent runs; the oldest entry goes first when full. */
export const MAX_TRACKED_PROMPTS = 10_000;

export interface AttemptTracker {
  /** The 1-based attempt of this call at its prompt. */
  attempt(options: LanguageModelV3CallOptions, promptKey: () => string): number;
  /** Records a failure served at `attempt` (only needed when the caller did not state it). */
  failed(options: LanguageModelV3CallOptions, promptKey: () => string, attempt: number): void;
  /** Forgets a prompt whose turn got through. */
  passed(options: LanguageModelV3CallOptions, promptKey: () => string): void;
}

/** The attempt Warden stated in the call, if it did. */
export function statedAttempt(options: LanguageModelV3CallOptions): number | undefined {
  const value = options.providerOptions?.warden?.attempt;
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined;
}

/** A stable key for a prompt: the same conversation gives the same key in any process. */
export function hashPrompt(options: Pick<LanguageModelV3CallOptions, 'prompt'>): string {
  return createHash('sha256').update(JSON.stringify(options.prompt)).digest('base64url');
}

export function createAttemptTracker(capacity = MAX_TRACKED_PROMPTS): AttemptTracker {
  const failures = new Map<string, number>();
  return {
    attempt(options, promptKey) {
      return statedAttempt(options) ?? (failures.get(promptKey()) ?? 0) + 1;
    },
    failed(options, promptKey, attempt) {
      if (statedAttempt(options) !== undefined) return;
      const key = promptKey();
      failures.delete(key); // re-inserted last, so the map evicts the least recently failed prompt
      if (failures.size >= capacity) failures.delete(failures.keys().next().value!);
      failures.set(key, attempt);
    },
    passed(options, promptKey) {
      if (statedAttempt(options) === undefined) failures.delete(promptKey());
    },
  };
}
