import { WardenError } from '../core/errors.ts';
import { usdToNano } from '../core/money.ts';
import type { FleetCharge } from '../core/ports/ledger.ts';

/**
 * A budget over time for part of the fleet: every run of a tenant (`tenant:acme`), of an agent
 * (`agent:support-desk`) or every run (`all`), per calendar day or month (UTC) or per fixed
 * window of `hours` (aligned to the epoch). When spend crosses a fraction in `alertAt`, a
 * `budget.alert` event (and webhook, and metric) announces it, once per threshold per window.
 */
export interface FleetBudget {
  scope: string;
  window: 'day' | 'month' | { hours: number };
  maxUsd: number;
  alertAt?: number[];
}

export interface ResolvedFleetBudget {
  scope: string;
  /** `day`, `month` or `<n>h`, as in the window's key. */
  window: string;
  limitNano: number;
  alertAt: readonly number[];
  spec: FleetBudget['window'];
}

const SCOPE = /^(all|tenant:[^|\s]+|agent:[^|\s]+)$/;
const HOUR_MS = 3_600_000;

/** Checks `budgets` on createWarden; the message names the budget and what is wrong with it. */
export function resolveFleetBudgets(budgets: readonly FleetBudget[] | undefined): ResolvedFleetBudget[] {
  if (budgets === undefined) return [];
  if (!Array.isArray(budgets)) throw new WardenError('INVALID_CONFIG', 'budgets must be an array of { scope, window, maxUsd, alertAt? }');
  const seen = new Set<string>();
  return budgets.map((b, i) => {
    const where = `budgets[${i}]`;
    if (!b || typeof b.scope !== 'string' || !SCOPE.test(b.scope))
      throw new WardenError('INVALID_CONFIG', `${where}: scope must be "all", "tenant:<name>" or "agent:<name>", got ${JSON.stringify(b?.scope)}`);
    const window = windowName(where, b.window);
    if (!(typeof b.maxUsd === 'number' && Number.isFinite(b.maxUsd) && b.maxUsd > 0))
      throw new WardenError('INVALID_CONFIG', `${where}: maxUsd must be a positive number of USD, got ${JSON.stringify(b.maxUsd)}`);
    const alertAt = b.alertAt ?? [];
    if (!Array.isArray(alertAt) || !alertAt.every((a) => typeof a === 'number' && a > 0 && a <= 1))
      throw new WardenError('INVALID_CONFIG', `${where}: alertAt must be fractions in (0, 1], got ${JSON.stringify(b.alertAt)}`);
    const id = `${b.scope}|${window}`;
    if (seen.has(id)) throw new WardenError('INVALID_CONFIG', `${where}: a second ${window} budget for ${b.scope}`);
    seen.add(id);
    return { scope: b.scope, window, limitNano: usdToNano(b.maxUsd), alertAt: [...alertAt].sort(), spec: b.window };
  });
}

function windowName(where: string, w: FleetBudget['window']): string {
  if (w === 'day' || w === 'month') return w;
  if (w && typeof w === 'object' && Number.isInteger(w.hours) && w.hours > 0) return `${w.hours}h`;
  throw new WardenError('INVALID_CONFIG', `${where}: window must be "day", "month" or { hours: <positive integer> }, got ${JSON.stringify(w)}`);
}

/** The window `at` (ms) falls in: its start and end, ms since the epoch (UTC). */
export function windowOf(spec: FleetBudget['window'], at: number): { start: number; end: number } {
  const d = new Date(at);
  if (spec === 'day') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { start, end: start + 24 * HOUR_MS };
  }
  if (spec === 'month') return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
  const size = spec.hours * HOUR_MS;
  const start = Math.floor(at / size) * size;
  return { start, end: start + size };
}

/** Does the budget cover a run of this tenant and agent? */
export function covers(b: Pick<ResolvedFleetBudget, 'scope'>, run: { tenant: string; agent: string }): boolean {
  return b.scope === 'all' || b.scope === `tenant:${run.tenant}` || b.scope === `agent:${run.agent}`;
}

/** The windows a reservation made at `at` by this run counts against, with their limits. */
export function fleetCharges(budgets: readonly ResolvedFleetBudget[], run: { tenant: string; agent: string }, at: number): FleetCharge[] {
  return budgets.filter((b) => covers(b, run)).map((b) => ({ key: `${b.scope}|${b.window}|${windowOf(b.spec, at).start}`, limitNano: b.limitNano }));
}
