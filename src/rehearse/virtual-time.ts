import { AsyncLocalStorage } from 'node:async_hooks';
import { seededRandom } from '../model/seeded-random.ts';

/**
 * Each rehearsed run keeps its own clock. Simulated latency, backoff and tool time advance the
 * clock instead of the process waiting, so ten thousand requests' worth of production time runs
 * in seconds, and the run's timings (and the wall-time limit) follow from the seed alone.
 *
 * The clock travels with the run's async work (AsyncLocalStorage), so the runtime, the behaviour
 * model and the simulated tools all read the same clock without being told about each other.
 */
export class RunClock {
  #t: number;
  readonly random: () => number;

  constructor(start: number, seed: number) {
    this.#t = start;
    this.random = seededRandom(seed);
  }

  now(): number {
    return this.#t;
  }

  /** Waits `ms` of the run's time. Parallel waits begun at the same moment overlap, as real ones do. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const target = this.#t + Math.max(0, ms);
    return Promise.resolve().then(() => {
      this.#t = Math.max(this.#t, target);
    });
  }
}

const clocks = new AsyncLocalStorage<RunClock>();

/** Runs `fn` with `clock` as the current run's clock. */
export function withClock<T>(clock: RunClock, fn: () => Promise<T>): Promise<T> {
  return clocks.run(clock, fn);
}

/** The current run's clock, if the caller is inside a rehearsed run. */
export function currentClock(): RunClock | undefined {
  return clocks.getStore();
}

/** `now`, `sleep` and `random` for createWarden: the run's clock inside a rehearsed run, real time outside. */
export const virtualTime = {
  now: (): number => clocks.getStore()?.now() ?? Date.now(),
  sleep: (ms: number, signal?: AbortSignal): Promise<void> => {
    const clock = clocks.getStore();
    if (clock) return clock.wait(ms, signal);
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  },
  random: (): number => clocks.getStore()?.random() ?? Math.random(),
};
