/** Requests and tokens per minute a model provider allows, shared by every worker. */
export interface ProviderRateLimit {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

/** Circuit breaker: after `failures` failures within `windowMs`, calls are refused for `cooldownMs`, then one probe decides. */
export interface BreakerConfig {
  failures: number;
  windowMs: number;
  cooldownMs: number;
}

/** Retries may be at most `ratio` of calls over the sliding `windowMs` (but `minRetries` are always allowed). */
export interface RetryBudgetConfig {
  ratio: number;
  windowMs: number;
  minRetries: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * The shared state runs coordinate through: token buckets (provider rate limits), sliding-window
 * counters (the global retry budget) and circuit breakers. `createLocalCoordinator` keeps it in
 * this process (embedded mode: exact, no I/O); a store-backed one shares it between workers.
 */
export interface Coordinator {
  /**
   * Takes `amount` tokens from bucket `key` (holding at most `capacity`, refilled at `perMs` a ms).
   * Returns 0 when they were taken, else how long to wait before asking again.
   */
  takeTokens(key: string, amount: number, capacity: number, perMs: number, now: number): Promise<number>;
  /** Adds to the counters of `key` and returns their totals over the last `windowMs`. */
  count(key: string, add: { calls: number; retries: number }, windowMs: number, now: number): Promise<{ calls: number; retries: number }>;
  /** Whether a call may go through breaker `key` now (an open breaker lets one probe through after its cooldown). */
  breakerAllows(key: string, config: BreakerConfig, now: number): Promise<{ allowed: boolean; state: BreakerState; retryInMs: number }>;
  /** Records a call's outcome on breaker `key`; returns the state it leaves the breaker in. */
  breakerRecord(key: string, ok: boolean, config: BreakerConfig, now: number): Promise<BreakerState>;
  /** The breaker's state, read without changing anything. */
  breakerState(key: string): Promise<BreakerState>;
}

/** A circuit breaker's state, as stored (in memory or in a database row). */
export interface BreakerRecord {
  state: BreakerState;
  /** Times of recent failures, ms. */
  failures: number[];
  openedAt: number;
  probing: boolean;
}

export interface BucketRecord {
  tokens: number;
  at: number;
}

export const NEW_BREAKER: Readonly<BreakerRecord> = Object.freeze({ state: 'closed', failures: [], openedAt: 0, probing: false });

/** Takes tokens from a bucket record (mutating it); returns 0 or the wait in ms. */
export function takeFrom(b: BucketRecord, amount: number, capacity: number, perMs: number, now: number): number {
  b.tokens = Math.min(capacity, b.tokens + Math.max(0, now - b.at) * perMs);
  b.at = now;
  const need = Math.min(amount, capacity);
  if (b.tokens >= need) {
    b.tokens -= need;
    return 0;
  }
  return Math.ceil((need - b.tokens) / perMs);
}

/** Whether a breaker record lets a call through (mutating it: half-open, probing). */
export function breakerGate(b: BreakerRecord, config: BreakerConfig, now: number): { allowed: boolean; state: BreakerState; retryInMs: number } {
  if (b.state === 'closed') return { allowed: true, state: b.state, retryInMs: 0 };
  const wait = b.openedAt + config.cooldownMs - now;
  if (b.state === 'open' && wait <= 0) b.state = 'half_open';
  if (b.state === 'half_open' && !b.probing) {
    b.probing = true; // one probe at a time decides
    return { allowed: true, state: b.state, retryInMs: 0 };
  }
  return { allowed: false, state: b.state, retryInMs: Math.max(wait, 50) };
}

/** Records an outcome on a breaker record (mutating it); returns the state it is left in. */
export function breakerNote(b: BreakerRecord, ok: boolean, config: BreakerConfig, now: number): BreakerState {
  if (b.state === 'half_open' && b.probing) {
    b.probing = false;
    if (ok) Object.assign(b, { state: 'closed', failures: [] });
    else Object.assign(b, { state: 'open', openedAt: now });
    return b.state;
  }
  if (ok) return b.state;
  b.failures = [...b.failures.filter((t) => t > now - config.windowMs), now];
  if (b.state === 'closed' && b.failures.length >= config.failures) Object.assign(b, { state: 'open', openedAt: now });
  return b.state;
}

/** Ten buckets per window: the sliding window moves a tenth at a time. */
export const WINDOW_BUCKETS = 10;

/**
 * In-process coordination: exact for one process, which is what embedded mode is.
 *
 * @example
 * const warden = createWarden({ store, coordinator: createLocalCoordinator() });
 */
export function createLocalCoordinator(): Coordinator {
  const buckets = new Map<string, BucketRecord>();
  const windows = new Map<string, { start: number; calls: number; retries: number }[]>();
  const breakers = new Map<string, BreakerRecord>();
  const breaker = (key: string): BreakerRecord => {
    let b = breakers.get(key);
    if (!b) {
      b = { ...NEW_BREAKER, failures: [] };
      breakers.set(key, b);
    }
    return b;
  };
  return {
    async takeTokens(key, amount, capacity, perMs, now) {
      let b = buckets.get(key);
      if (!b) {
        b = { tokens: capacity, at: now };
        buckets.set(key, b);
      }
      return takeFrom(b, amount, capacity, perMs, now);
    },
    async count(key, add, windowMs, now) {
      const size = Math.max(1, Math.floor(windowMs / WINDOW_BUCKETS));
      const start = now - (now % size);
      const list = (windows.get(key) ?? []).filter((w) => w.start + size > now - windowMs);
      let current = list.at(-1);
      if (current?.start !== start) {
        current = { start, calls: 0, retries: 0 };
        list.push(current);
      }
      current.calls += add.calls;
      current.retries += add.retries;
      windows.set(key, list);
      return list.reduce((t, w) => ({ calls: t.calls + w.calls, retries: t.retries + w.retries }), { calls: 0, retries: 0 });
    },
    async breakerAllows(key, config, now) {
      return breakerGate(breaker(key), config, now);
    },
    async breakerRecord(key, ok, config, now) {
      return breakerNote(breaker(key), ok, config, now);
    },
    async breakerState(key) {
      return breakers.get(key)?.state ?? 'closed';
    },
  };
}
