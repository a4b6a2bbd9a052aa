import { AsyncLocalStorage } from 'node:async_hooks';
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { ModelCallError } from '../model/model-failure.ts';
import type { SimulatedModel } from '../model/simulated-types.ts';

/** Requests `[first, last]` (0-based, in request order) during which the primary model is down. */
export interface OutageWindow {
  first: number;
  last: number;
}

/**
 * The requests a primary outage covers: `share` of them, in one stretch starting a quarter of the
 * way through (moved earlier when it would not fit), so the report has runs before, during and
 * after it. Null when `share` is 0.
 *
 * @example
 * outageWindow(0.3, 1000); // { first: 250, last: 549 }
 */
export function outageWindow(share: number, requests: number): OutageWindow | null {
  const length = Math.min(requests, Math.ceil(share * requests));
  if (length <= 0) return null;
  const first = Math.max(0, Math.min(Math.floor(requests / 4), requests - length));
  return { first, last: first + length - 1 };
}

const down = new AsyncLocalStorage<boolean>();

/** Runs `fn` (one rehearsed request) with the primary model down or up. */
export function withPrimaryDown<T>(isDown: boolean, fn: () => Promise<T>): Promise<T> {
  return down.run(isDown, fn);
}

/**
 * The primary as an outage leaves it: inside a request the window covers, every call is refused
 * the way production refuses it once the model's circuit breaker has opened (`breaker_open`, no
 * call made, nothing billed), so the step falls back to the next model at once. A rehearsal's
 * breakers are off (each run keeps its own clock), so the failures that open a breaker in
 * production are not rehearsed: the window shows the steady state of an outage.
 */
export function primaryWithOutage(model: SimulatedModel): SimulatedModel {
  const refusal = () =>
    new ModelCallError({
      kind: 'breaker_open',
      retryable: true,
      message: `the circuit breaker for model:${model.provider}/${model.modelId} is open: the provider is down (rehearsed outage)`,
    });
  const generate = model.doGenerate;
  const stream = model.doStream;
  return Object.assign(model, {
    doGenerate: async (call: LanguageModelV3CallOptions) => {
      if (down.getStore()) throw refusal();
      return generate(call);
    },
    doStream: async (call: LanguageModelV3CallOptions) => {
      if (down.getStore()) throw refusal();
      return stream(call);
    },
  });
}
