import { WardenError } from '../core/errors.ts';
import { nanoToUsd } from '../core/money.ts';
import { covers, type FleetBudget, parseBudgetWindow, type ResolvedFleetBudget, resolveFleetBudgets } from '../guard/fleet-budgets.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A month, for a forecast: thirty days (a forecast has no calendar). */
const MONTH_MS = 30 * DAY_MS;

/**
 * What the rehearsed traffic would do to one fleet budget in one window. Requests arrive evenly
 * spread over the window at the projection's volume (`--volume` a day, default `--requests`), each
 * costing what the rehearsed request of the same place in the sequence cost (the sequence repeats
 * when the window holds more requests than were rehearsed). The budget is exhausted by the first
 * request whose whole cost no longer fits under the maximum; it and every later request in the
 * window would be refused or stopped (`BUDGET_EXHAUSTED`, `budget_exhausted`).
 */
export interface BudgetForecast {
  scope: string;
  /** `day`, `month` (30 days here) or `<n>h`. */
  window: string;
  maxUsd: number;
  /** False when the budget's scope does not cover the rehearsed runs (another agent or tenant): nothing else is set. */
  covers: boolean;
  /** Requests arriving in one window at the projected volume. */
  requestsPerWindow: number;
  /** What those requests would cost with no budget, USD. */
  projectedUsd: number;
  projectedFraction: number;
  exhausts: boolean;
  /** When the budget runs out, ms after the window starts (the arrival of the first request that does not fit); null when it holds. */
  exhaustsAfterMs: number | null;
  /** That request's number in the window (1-based); null when it holds. */
  exhaustsAtRequest: number | null;
  /** Requests of the window refused or stopped by the budget. */
  refusedRequests: number;
}

/**
 * A `--budget` flag: `SCOPE:WINDOW:MAX_USD`, e.g. `tenant:acme:day:50`, `all:6h:5` (the scope may
 * itself hold a colon, so the last two parts are the window and the maximum).
 */
export function parseBudgetFlag(text: string): FleetBudget {
  const parts = text.split(':');
  const max = parts.pop();
  const window = parts.pop();
  const scope = parts.join(':');
  if (!scope || window === undefined || max === undefined || max.trim() === '' || !Number.isFinite(Number(max)))
    throw new WardenError('INVALID_BUDGET', `--budget must be SCOPE:WINDOW:MAX_USD, e.g. tenant:acme:day:50 or all:6h:5, got ${JSON.stringify(text)}`);
  return { scope, window: parseBudgetWindow(window), maxUsd: Number(max) };
}

/** Checks the budgets given to a rehearsal (flags, the agent module's `budgets` export): `INVALID_BUDGET` names what is wrong. */
export function resolveFleetBudgetsAs(budgets: readonly FleetBudget[]): ResolvedFleetBudget[] {
  try {
    return resolveFleetBudgets(budgets);
  } catch (e) {
    if (e instanceof WardenError && e.code === 'INVALID_CONFIG') throw new WardenError('INVALID_BUDGET', e.message);
    throw e;
  }
}

function windowMs(spec: FleetBudget['window']): number {
  if (spec === 'day') return DAY_MS;
  if (spec === 'month') return MONTH_MS;
  return spec.hours * HOUR_MS;
}

/**
 * The forecast of each budget for the rehearsed runs' costs (nano-USD, in request order) at
 * `volumePerDay` requests a day, for runs of `agent` and `tenant`.
 *
 * @example
 * forecastBudgets(resolveFleetBudgets([{ scope: 'all', window: 'day', maxUsd: 50 }]), costs, 10_000, { agent: 'desk', tenant: 'default' })
 */
export function forecastBudgets(
  budgets: readonly ResolvedFleetBudget[],
  costsNano: readonly number[],
  volumePerDay: number,
  run: { agent: string; tenant: string },
): BudgetForecast[] {
  return budgets.map((b) => {
    const base = { scope: b.scope, window: b.window, maxUsd: nanoToUsd(b.limitNano) };
    const empty = {
      requestsPerWindow: 0,
      projectedUsd: 0,
      projectedFraction: 0,
      exhausts: false,
      exhaustsAfterMs: null,
      exhaustsAtRequest: null,
      refusedRequests: 0,
    };
    if (!covers(b, run)) return { ...base, covers: false, ...empty };
    const span = windowMs(b.spec);
    const count = Math.floor((volumePerDay * span) / DAY_MS);
    if (count === 0 || costsNano.length === 0) return { ...base, covers: true, ...empty, requestsPerWindow: count };
    const gap = span / count;
    let total = 0;
    let spent = 0;
    let first: number | null = null;
    for (let i = 0; i < count; i++) {
      const cost = costsNano[i % costsNano.length] ?? 0;
      total += cost;
      if (first === null && spent + cost > b.limitNano) first = i;
      if (first === null) spent += cost;
    }
    return {
      ...base,
      covers: true,
      requestsPerWindow: count,
      projectedUsd: nanoToUsd(total),
      projectedFraction: Math.round((total / b.limitNano) * 1e4) / 1e4,
      exhausts: first !== null,
      exhaustsAfterMs: first === null ? null : Math.round(first * gap),
      exhaustsAtRequest: first === null ? null : first + 1,
      refusedRequests: first === null ? 0 : count - first,
    };
  });
}
