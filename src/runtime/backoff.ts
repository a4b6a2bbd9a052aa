import type { RetryBackoff } from '../agent/agent.ts';

/** Exponential backoff with full jitter; a server's `retry-after` wins when it asks for longer. */
export function backoffMs(retry: number, config: RetryBackoff, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(config.maxMs, config.baseMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.round(ceiling * random());
  return retryAfterMs !== undefined && retryAfterMs > jittered ? Math.min(retryAfterMs, Math.max(config.maxMs, retryAfterMs)) : jittered;
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
