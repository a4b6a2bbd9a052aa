import { nanoToUsd } from '../core/money.ts';
import type { FleetBudgetRecord } from '../core/ports/ledger.ts';
import { type ResolvedFleetBudget, windowKey, windowOf } from './fleet-budgets.ts';

/**
 * Where a fleet budget stands in its current window, and where it is heading. The rate is the
 * window's average so far: settled spend in the window ÷ time elapsed since the window began. The
 * projection carries that rate on to the window's end; `exhaustsAt` is when it reaches the limit.
 */
export interface BudgetStatus {
  source: ResolvedFleetBudget['source'];
  scope: string;
  /** `day`, `month` or `<n>h`. */
  window: string;
  /** False for a config budget a stored one of the same scope and window overrides (it holds nothing). */
  active: boolean;
  /** The current window: start and end, ms since the epoch (UTC). */
  windowStart: number;
  windowEnd: number;
  /** Settled spend in the window, nano-USD. */
  spentNano: number;
  /** Held by reservations not yet settled, nano-USD. */
  reservedNano: number;
  limitNano: number;
  /** `spentNano / limitNano`. */
  fraction: number;
  alertAt: readonly number[];
  /** The thresholds of `alertAt` that settled spend has reached in this window. */
  alertsCrossed: number[];
  /** Settled spend per hour, averaged over the window so far (nano-USD per hour). */
  rateNanoPerHour: number;
  /** Spend at the window's end if the rate holds, nano-USD. */
  projectedNano: number;
  /** When the rate takes spend to the limit inside this window (ms), or null when it does not. */
  exhaustsAt: number | null;
}

const HOUR_MS = 3_600_000;

/**
 * The status of `budget` at `now` from its current window's row (absent: nothing reserved yet).
 *
 * @example
 * budgetStatus(budget, await store.getFleetBudgets([windowKey(budget, now)]).then((r) => r[0]), now)
 */
export function budgetStatus(budget: ResolvedFleetBudget, row: FleetBudgetRecord | undefined, now: number, active = true): BudgetStatus {
  const { start, end } = windowOf(budget.spec, now);
  const spentNano = row?.spentNano ?? 0;
  const elapsed = Math.max(0, now - start);
  const ratePerMs = elapsed > 0 ? spentNano / elapsed : 0;
  const projectedNano = Math.round(spentNano + ratePerMs * (end - now));
  let exhaustsAt: number | null = null;
  if (spentNano >= budget.limitNano) exhaustsAt = now;
  else if (ratePerMs > 0) {
    const at = now + Math.ceil((budget.limitNano - spentNano) / ratePerMs);
    if (at < end) exhaustsAt = at;
  }
  return {
    source: budget.source,
    scope: budget.scope,
    window: budget.window,
    active,
    windowStart: start,
    windowEnd: end,
    spentNano,
    reservedNano: row?.reservedNano ?? 0,
    limitNano: budget.limitNano,
    fraction: spentNano / budget.limitNano,
    alertAt: budget.alertAt,
    alertsCrossed: budget.alertAt.filter((t) => spentNano >= t * budget.limitNano),
    rateNanoPerHour: Math.round(ratePerMs * HOUR_MS),
    projectedNano,
    exhaustsAt,
  };
}

/** The key of each budget's current window, to read their rows in one call. */
export function currentKeys(budgets: readonly ResolvedFleetBudget[], now: number): string[] {
  return [...new Set(budgets.map((b) => windowKey(b, now)))];
}

/** A budget's status as the CLI's `--json` and GET /v1/budgets give it: USD and ISO times. */
export interface BudgetStatusView {
  source: BudgetStatus['source'];
  scope: string;
  window: string;
  active: boolean;
  windowStart: string;
  windowEnd: string;
  spentUsd: number;
  reservedUsd: number;
  maxUsd: number;
  fraction: number;
  alertAt: number[];
  alertsCrossed: number[];
  rateUsdPerHour: number;
  projectedUsd: number;
  projectedFraction: number;
  exhaustsAt: string | null;
}

export function budgetStatusView(s: BudgetStatus): BudgetStatusView {
  return {
    source: s.source,
    scope: s.scope,
    window: s.window,
    active: s.active,
    windowStart: new Date(s.windowStart).toISOString(),
    windowEnd: new Date(s.windowEnd).toISOString(),
    spentUsd: nanoToUsd(s.spentNano),
    reservedUsd: nanoToUsd(s.reservedNano),
    maxUsd: nanoToUsd(s.limitNano),
    fraction: round(s.fraction),
    alertAt: [...s.alertAt],
    alertsCrossed: s.alertsCrossed,
    rateUsdPerHour: nanoToUsd(s.rateNanoPerHour),
    projectedUsd: nanoToUsd(s.projectedNano),
    projectedFraction: round(s.projectedNano / s.limitNano),
    exhaustsAt: s.exhaustsAt === null ? null : new Date(s.exhaustsAt).toISOString(),
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
