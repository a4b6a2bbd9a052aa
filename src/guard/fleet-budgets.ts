import { WardenError, type ErrorCode } from '../core/errors.ts';
import { usdToNano } from '../core/money.ts';
import type { FleetCharge, StoredBudgetRecord } from '../core/ports/ledger.ts';

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

/** Where a budget was declared: `budgets` on createWarden, or the store (`warden budgets set`). */
export type BudgetSource = 'config' | 'stored';

export interface ResolvedFleetBudget {
  scope: string;
  /** `day`, `month` or `<n>h`, as in the window's key. */
  window: string;
  limitNano: number;
  alertAt: readonly number[];
  spec: FleetBudget['window'];
  source: BudgetSource;
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
    const resolved = checkBudget(b, where, 'INVALID_CONFIG');
    const id = `${resolved.scope}|${resolved.window}`;
    if (seen.has(id)) throw new WardenError('INVALID_CONFIG', `${where}: a second ${resolved.window} budget for ${resolved.scope}`);
    seen.add(id);
    return { ...resolved, source: 'config' };
  });
}

/**
 * Checks a budget someone asks to store (`warden budgets set`, PUT /v1/budgets) and turns it into
 * the store's record; `INVALID_BUDGET` names what is wrong. The window may also be written `6h`.
 *
 * @example
 * storedBudgetOf({ scope: 'tenant:acme', window: 'day', maxUsd: 50, alertAt: [0.8] }, Date.now())
 */
export function storedBudgetOf(b: Omit<FleetBudget, 'window'> & { window: FleetBudget['window'] | string }, at: number): StoredBudgetRecord {
  const window = typeof b?.window === 'string' ? parseBudgetWindow(b.window) : b?.window;
  const resolved = checkBudget({ ...b, window } as FleetBudget, `The budget of ${JSON.stringify(b?.scope)}`, 'INVALID_BUDGET');
  return { scope: resolved.scope, window: resolved.window, limitNano: resolved.limitNano, alertAt: [...resolved.alertAt], updatedAt: at };
}

/** A window as written on the command line or in a stored budget: `day`, `month` or `<n>h` (hours ≥ 1). */
export function parseBudgetWindow(text: string): FleetBudget['window'] {
  if (text === 'day' || text === 'month') return text;
  const hours = /^([1-9]\d*)h$/.exec(text)?.[1];
  if (hours !== undefined && Number.isSafeInteger(Number(hours))) return { hours: Number(hours) };
  throw new WardenError('INVALID_BUDGET', `A budget window must be "day", "month" or "<hours>h" (e.g. "6h"), got ${JSON.stringify(text)}`);
}

/** Budgets read from the store, ready to hold reservations; a record Warden cannot read is skipped by name in `skipped`. */
export function resolveStoredBudgets(records: readonly StoredBudgetRecord[]): { budgets: ResolvedFleetBudget[]; skipped: string[] } {
  const budgets: ResolvedFleetBudget[] = [];
  const skipped: string[] = [];
  for (const r of records) {
    try {
      const spec = parseBudgetWindow(r.window);
      if (!SCOPE.test(r.scope) || !(r.limitNano > 0)) throw new Error('bad scope or limit');
      budgets.push({
        scope: r.scope,
        window: windowLabel(spec),
        limitNano: r.limitNano,
        alertAt: [...r.alertAt].sort((a, b) => a - b),
        spec,
        source: 'stored',
      });
    } catch {
      skipped.push(`${r.scope} ${r.window}`);
    }
  }
  return { budgets, skipped };
}

/**
 * The budgets reservations are held against: the stored ones, and each config budget no stored
 * budget of the same scope and window replaces. A stored budget overrides the config budget it
 * shares a window with (they share the window's spend too: the key is the same), so an operator
 * can raise or lower a deployed limit without a redeploy.
 */
export function effectiveBudgets(config: readonly ResolvedFleetBudget[], stored: readonly ResolvedFleetBudget[]): ResolvedFleetBudget[] {
  const replaced = new Set(stored.map((b) => `${b.scope}|${b.window}`));
  return [...config.filter((b) => !replaced.has(`${b.scope}|${b.window}`)), ...stored];
}

function checkBudget(b: FleetBudget, where: string, code: ErrorCode): Omit<ResolvedFleetBudget, 'source'> {
  if (!b || typeof b.scope !== 'string' || !SCOPE.test(b.scope))
    throw new WardenError(code, `${where}: scope must be "all", "tenant:<name>" or "agent:<name>", got ${JSON.stringify(b?.scope)}`);
  const window = windowName(where, b.window, code);
  if (!(typeof b.maxUsd === 'number' && Number.isFinite(b.maxUsd) && b.maxUsd > 0))
    throw new WardenError(code, `${where}: maxUsd must be a positive number of USD, got ${JSON.stringify(b.maxUsd)}`);
  const limitNano = usdToNano(b.maxUsd);
  if (limitNano < 1) throw new WardenError(code, `${where}: maxUsd must be at least 1 nano-USD, got ${JSON.stringify(b.maxUsd)}`);
  const alertAt = b.alertAt ?? [];
  if (!Array.isArray(alertAt) || !alertAt.every((a) => typeof a === 'number' && a > 0 && a <= 1))
    throw new WardenError(code, `${where}: alertAt must be fractions in (0, 1], got ${JSON.stringify(b.alertAt)}`);
  return { scope: b.scope, window, limitNano, alertAt: [...alertAt].sort((x, y) => x - y), spec: b.window };
}

function windowName(where: string, w: FleetBudget['window'], code: ErrorCode): string {
  if (w === 'day' || w === 'month') return w;
  if (w && typeof w === 'object' && Number.isInteger(w.hours) && w.hours > 0) return `${w.hours}h`;
  throw new WardenError(code, `${where}: window must be "day", "month" or { hours: <positive integer> }, got ${JSON.stringify(w)}`);
}

/** The window's name in keys and listings: `day`, `month` or `<n>h`. */
export function windowLabel(spec: FleetBudget['window']): string {
  return typeof spec === 'string' ? spec : `${spec.hours}h`;
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

/** The key of the budget's window at `at`: `scope|window|window start (ms)`. */
export function windowKey(b: Pick<ResolvedFleetBudget, 'scope' | 'window' | 'spec'>, at: number): string {
  return `${b.scope}|${b.window}|${windowOf(b.spec, at).start}`;
}

/** Does the budget cover a run of this tenant and agent? */
export function covers(b: Pick<ResolvedFleetBudget, 'scope'>, run: { tenant: string; agent: string }): boolean {
  return b.scope === 'all' || b.scope === `tenant:${run.tenant}` || b.scope === `agent:${run.agent}`;
}

/** The windows a reservation made at `at` by this run counts against, with their limits. */
export function fleetCharges(budgets: readonly ResolvedFleetBudget[], run: { tenant: string; agent: string }, at: number): FleetCharge[] {
  return budgets.filter((b) => covers(b, run)).map((b) => ({ key: windowKey(b, at), limitNano: b.limitNano }));
}
