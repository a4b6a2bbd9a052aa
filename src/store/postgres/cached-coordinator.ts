import type { BreakerState, Coordinator } from '../../core/coordination.ts';

/**
 * Puts a process-local cache in front of a shared coordinator, so the common case — a closed
 * breaker, a retry window far from its budget — costs no round trip. Breaker states are re-read
 * at most every `refreshMs`, and any failure is written through at once; retry-window counts are
 * added locally and flushed every `refreshMs`. Other workers therefore see this one's counts at
 * most `refreshMs` late: the budget and the breakers are shared with bounded staleness. Token
 * buckets (rate limits) always go to the shared coordinator.
 */
export function createCachedCoordinator(shared: Coordinator, options: { refreshMs?: number } = {}): Coordinator {
  const refreshMs = options.refreshMs ?? 1_000;
  const states = new Map<string, { state: BreakerState; at: number }>();
  const windows = new Map<string, { windowMs: number; pending: { calls: number; retries: number }; totals: { calls: number; retries: number }; at: number }>();

  type Window = { windowMs: number; pending: { calls: number; retries: number }; totals: { calls: number; retries: number }; at: number };

  async function syncWindow(w: Window, key: string, now: number): Promise<void> {
    const delta = w.pending;
    w.pending = { calls: 0, retries: 0 };
    w.at = now;
    try {
      w.totals = await shared.count(key, delta, w.windowMs, now);
    } catch (e) {
      w.pending = { calls: w.pending.calls + delta.calls, retries: w.pending.retries + delta.retries };
      throw e;
    }
  }

  return {
    takeTokens: (key, amount, capacity, perMs, now) => shared.takeTokens(key, amount, capacity, perMs, now),

    async count(key, add, windowMs, now) {
      let w = windows.get(key);
      if (!w) {
        w = { windowMs, pending: { calls: 0, retries: 0 }, totals: { calls: 0, retries: 0 }, at: -Infinity };
        windows.set(key, w);
      }
      w.pending.calls += add.calls;
      w.pending.retries += add.retries;
      if (now - w.at >= refreshMs) await syncWindow(w, key, now);
      return { calls: w.totals.calls + w.pending.calls, retries: w.totals.retries + w.pending.retries };
    },

    async breakerAllows(key, config, now) {
      const cached = states.get(key);
      if (cached?.state === 'closed' && now - cached.at < refreshMs) return { allowed: true, state: 'closed', retryInMs: 0 };
      const verdict = await shared.breakerAllows(key, config, now);
      states.set(key, { state: verdict.state, at: now });
      return verdict;
    },

    async breakerRecord(key, ok, config, now) {
      const cached = states.get(key);
      if (ok && cached?.state === 'closed' && now - cached.at < refreshMs) return 'closed';
      const state = await shared.breakerRecord(key, ok, config, now);
      states.set(key, { state, at: now });
      return state;
    },

    async breakerState(key) {
      const cached = states.get(key);
      if (cached && Date.now() - cached.at < refreshMs) return cached.state;
      return shared.breakerState(key);
    },
  };
}
