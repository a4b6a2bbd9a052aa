import type { ResolvedScheduler } from './scheduler-config.ts';
import type { BreakerState, Coordinator } from '../core/coordination.ts';
import type { Decisions } from './decide/decisions.ts';

/** What a run needs from the scheduler: its settings, the shared state, and local tool slots. */
export interface Scheduling {
  config: ResolvedScheduler;
  coordinator: Coordinator;
  /** Told whenever a call's outcome moves a breaker (metrics, logs). */
  onBreakerChange?: (key: string, state: BreakerState) => void;
  toolSlots: ToolSlots;
}

/** Process-local semaphores for `toolConcurrency`. */
export class ToolSlots {
  readonly #inUse = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  /**
   * Takes a slot of `tool` (none to take without a limit). `queued` says whether the call had to
   * wait for one: only then is the wait a scheduling event worth recording.
   */
  async acquire(tool: string, limit: number | undefined): Promise<{ release: () => void; queued: boolean }> {
    if (!limit) return { release: () => {}, queued: false };
    let queued = false;
    while ((this.#inUse.get(tool) ?? 0) >= limit) {
      queued = true;
      await new Promise<void>((resolve) => {
        const queue = this.#waiting.get(tool) ?? [];
        queue.push(resolve);
        this.#waiting.set(tool, queue);
      });
    }
    this.#inUse.set(tool, (this.#inUse.get(tool) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#inUse.set(tool, (this.#inUse.get(tool) ?? 1) - 1);
      this.#waiting.get(tool)?.shift()?.();
    };
    return { release, queued };
  }
}

const RETRY_WINDOW_KEY = 'retries:global';

/** What the scheduling hooks need of a session (a `RunContext` is one). */
export interface SchedulingSession {
  readonly scheduling?: Scheduling;
  readonly signal: AbortSignal;
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  emit: Decisions['emit'];
}

/** Counts one model or tool call attempt in the global retry window. */
export async function countAttempt(ctx: SchedulingSession, isRetry: boolean): Promise<void> {
  const s = ctx.scheduling;
  if (!s?.config.retryBudget) return;
  await s.coordinator.count(RETRY_WINDOW_KEY, { calls: 1, retries: isRetry ? 1 : 0 }, s.config.retryBudget.windowMs, ctx.now());
}

/**
 * The global retry budget: retries may be at most `ratio` of all calls over the window, so a
 * failing dependency cannot multiply the load on itself. Returns why a retry is refused, or null.
 */
export async function retryBudgetRefusal(ctx: SchedulingSession): Promise<string | null> {
  const s = ctx.scheduling;
  const budget = s?.config.retryBudget;
  if (!s || !budget) return null;
  const t = await s.coordinator.count(RETRY_WINDOW_KEY, { calls: 0, retries: 0 }, budget.windowMs, ctx.now());
  if (t.retries < budget.minRetries || t.retries < budget.ratio * t.calls) return null;
  return `the global retry budget is spent (${t.retries} retries for ${t.calls} calls in the last ${budget.windowMs / 1000} s; at most ${Math.round(budget.ratio * 100)}%)`;
}

/** Whether breaker `key` lets a call through now; `null` when it does. */
export async function breakerRefusal(ctx: SchedulingSession, key: string): Promise<{ message: string; retryInMs: number } | null> {
  const s = ctx.scheduling;
  if (!s?.config.breaker) return null;
  const verdict = await s.coordinator.breakerAllows(key, s.config.breaker, ctx.now());
  if (verdict.allowed) return null;
  return {
    message: `the circuit breaker for ${key} is ${verdict.state.replace('_', '-')} after repeated failures; not calling it for now`,
    retryInMs: verdict.retryInMs,
  };
}

/** Records a call's outcome on its breaker, and writes a trace event when the breaker changes. */
export async function breakerOutcome(ctx: SchedulingSession, key: string, ok: boolean): Promise<void> {
  const s = ctx.scheduling;
  if (!s?.config.breaker) return;
  const before = await s.coordinator.breakerState(key);
  const after = await s.coordinator.breakerRecord(key, ok, s.config.breaker, ctx.now());
  if (after !== before) {
    ctx.emit('breaker.changed', { key, state: after });
    s.onBreakerChange?.(key, after);
  }
}

/**
 * Waits until provider `provider` has room for one more request of about `tokens` tokens under
 * its shared rate limits; records the wait in the trace. Returns false if the run was aborted.
 */
export async function waitForProvider(ctx: SchedulingSession, provider: string, tokens: number): Promise<boolean> {
  const s = ctx.scheduling;
  const limit = s?.config.rateLimits[provider];
  if (!s || !limit) return true;
  const started = ctx.now();
  for (;;) {
    let wait = 0;
    if (limit.requestsPerMinute)
      wait = Math.max(wait, await s.coordinator.takeTokens(`rpm:${provider}`, 1, limit.requestsPerMinute, limit.requestsPerMinute / 60_000, ctx.now()));
    if (wait === 0 && limit.tokensPerMinute)
      wait = Math.max(wait, await s.coordinator.takeTokens(`tpm:${provider}`, tokens, limit.tokensPerMinute, limit.tokensPerMinute / 60_000, ctx.now()));
    if (wait === 0) break;
    if (ctx.signal.aborted) return false;
    await ctx.sleep(wait, ctx.signal).catch(() => {});
  }
  const waited = ctx.now() - started;
  if (waited > 0) ctx.emit('scheduler.waited', { reason: 'rate_limit', key: provider, ms: waited });
  return true;
}
