import { WardenError } from '../core/errors.ts';
import type { BreakerConfig, ProviderRateLimit, RetryBudgetConfig } from '../core/coordination.ts';

/**
 * How runs share the machine and the providers. Defaults keep one request from harming the others:
 * breakers on every tool and provider, a global retry budget, and no queue or rate limits until
 * set. Queue bounds and rate limits are shared by every worker on the same store.
 */
export interface SchedulerConfig {
  /** Bounded queue: a submit beyond it fails with QUEUE_FULL instead of growing without bound. */
  maxQueued?: { global?: number; perTenant?: number };
  /** Runs a worker drives at once, in all and per tenant and agent. */
  concurrency?: { perTenant?: number; perAgent?: number };
  /** Calls of one tool running at once in this process. */
  toolConcurrency?: Record<string, number>;
  /** Keyed by provider name, as `model.provider` reports it (e.g. `openai.chat`). */
  rateLimits?: Record<string, ProviderRateLimit>;
  breaker?: BreakerConfig | false;
  retryBudget?: RetryBudgetConfig | false;
}

export const DEFAULT_BREAKER: Readonly<BreakerConfig> = Object.freeze({ failures: 5, windowMs: 30_000, cooldownMs: 10_000 });
export const DEFAULT_RETRY_BUDGET: Readonly<RetryBudgetConfig> = Object.freeze({ ratio: 0.2, windowMs: 60_000, minRetries: 10 });

export interface ResolvedScheduler {
  maxQueued: { global?: number; perTenant?: number };
  concurrency: { perTenant?: number; perAgent?: number };
  toolConcurrency: Record<string, number>;
  rateLimits: Record<string, ProviderRateLimit>;
  breaker: BreakerConfig | null;
  retryBudget: RetryBudgetConfig | null;
}

function positive(where: string, value: unknown): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new WardenError('INVALID_CONFIG', `scheduler.${where} must be a positive number, got ${JSON.stringify(value)}`);
  }
}

export function resolveScheduler(config: SchedulerConfig = {}): ResolvedScheduler {
  positive('maxQueued.global', config.maxQueued?.global);
  positive('maxQueued.perTenant', config.maxQueued?.perTenant);
  positive('concurrency.perTenant', config.concurrency?.perTenant);
  positive('concurrency.perAgent', config.concurrency?.perAgent);
  for (const [tool, n] of Object.entries(config.toolConcurrency ?? {})) positive(`toolConcurrency.${tool}`, n);
  for (const [provider, limit] of Object.entries(config.rateLimits ?? {})) {
    positive(`rateLimits.${provider}.requestsPerMinute`, limit.requestsPerMinute);
    positive(`rateLimits.${provider}.tokensPerMinute`, limit.tokensPerMinute);
  }
  const breaker = config.breaker === false ? null : { ...DEFAULT_BREAKER, ...config.breaker };
  const retryBudget = config.retryBudget === false ? null : { ...DEFAULT_RETRY_BUDGET, ...config.retryBudget };
  if (breaker) for (const k of ['failures', 'windowMs', 'cooldownMs'] as const) positive(`breaker.${k}`, breaker[k]);
  if (retryBudget && !(retryBudget.ratio >= 0 && retryBudget.ratio <= 1)) {
    throw new WardenError('INVALID_CONFIG', `scheduler.retryBudget.ratio must be in [0, 1], got ${retryBudget.ratio}`);
  }
  return {
    maxQueued: { ...config.maxQueued },
    concurrency: { ...config.concurrency },
    toolConcurrency: { ...config.toolConcurrency },
    rateLimits: { ...config.rateLimits },
    breaker,
    retryBudget,
  };
}
