import type { RetryBackoff } from '../core/limits.ts';

/** Exponential backoff with full jitter; a server's `retry-after` wins when it asks for longer. */
export function backoffMs(retry: number, config: RetryBackoff, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(config.maxMs, config.baseMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.round(ceiling * random());
  return retryAfterMs !== undefined && retryAfterMs > jittered ? Math.min(retryAfterMs, Math.max(config.maxMs, retryAfterMs)) : jittered;
}

/** Longest `Retry-After` a run waits for when the agent does not say (`backoff.maxRetryAfterMs`). */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/**
 * Why a provider's `Retry-After` is not waited for, or null when it may be: a wait longer than the
 * cap (`backoff.maxRetryAfterMs`, default 60 s) or one that would run past the run's wall-time
 * limit would hold a worker slot for nothing, so the run stops instead.
 *
 * @example
 * retryAfterRefusal(3_600_000, { baseMs: 250, maxMs: 8_000 }, 0, 600_000); // 'the provider asked to wait 3600 s (Retry-After), …'
 */
export function retryAfterRefusal(retryAfterMs: number | undefined, config: RetryBackoff, activeMs: number, maxWallMs: number): string | null {
  if (retryAfterMs === undefined) return null;
  const cap = config.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const asked = `the provider asked to wait ${Math.round(retryAfterMs / 1000)} s (Retry-After)`;
  if (retryAfterMs > cap) return `${asked}, longer than the ${Math.round(cap / 1000)} s this agent waits for (backoff.maxRetryAfterMs)`;
  if (activeMs + retryAfterMs > maxWallMs) return `${asked}, past the run's wall-time limit (${maxWallMs - activeMs} ms left of maxWallMs ${maxWallMs})`;
  return null;
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
