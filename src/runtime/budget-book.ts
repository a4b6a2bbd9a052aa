import type { Store } from '../core/ports/store.ts';
import { budgetStatus, currentKeys, type BudgetStatus } from '../guard/budget-status.ts';
import {
  effectiveBudgets,
  type FleetBudget,
  resolveStoredBudgets,
  type ResolvedFleetBudget,
  storedBudgetOf,
  windowKey,
  windowLabel,
  parseBudgetWindow,
} from '../guard/fleet-budgets.ts';

/** How long a process goes on using the stored budgets it read, at most, before it reads them again (ms). */
export const DEFAULT_BUDGET_REFRESH_MS = 1_000;

/** A budget as `warden budgets set` and PUT /v1/budgets take it; the window may be written `6h`. */
export type BudgetInput = Omit<FleetBudget, 'window'> & { window: FleetBudget['window'] | string };

/**
 * The fleet budgets of one Warden: those declared on createWarden and those kept in the store,
 * which any process may set or remove while this one runs. Stored budgets are read again before a
 * reservation once the last read is `refreshMs` old (0: before every reservation), so a budget
 * set anywhere holds here no later than `refreshMs` after it was stored (docs/guarantees.md).
 */
export class BudgetBook {
  private effective: readonly ResolvedFleetBudget[];
  private stored: readonly ResolvedFleetBudget[] = [];
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<readonly ResolvedFleetBudget[]> | null = null;

  private readonly store: Store;
  /** The budgets declared on createWarden. */
  readonly config: readonly ResolvedFleetBudget[];
  private readonly refreshMs: number;
  private readonly now: () => number;

  constructor(store: Store, config: readonly ResolvedFleetBudget[], refreshMs: number, now: () => number) {
    this.store = store;
    this.config = config;
    this.refreshMs = refreshMs;
    this.now = now;
    this.effective = config;
  }

  /** The budgets as of the last read of the store (synchronous: what a decision holds a reservation against). */
  current(): readonly ResolvedFleetBudget[] {
    return this.effective;
  }

  /** The budgets, reading the stored ones again when the last read is `refreshMs` old or older. */
  async fresh(): Promise<readonly ResolvedFleetBudget[]> {
    if (this.now() - this.readAt < this.refreshMs) return this.effective;
    this.reading ??= this.read().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async read(): Promise<readonly ResolvedFleetBudget[]> {
    const at = this.now();
    const { budgets } = resolveStoredBudgets(await this.store.listStoredBudgets());
    this.stored = budgets;
    this.effective = effectiveBudgets(this.config, budgets);
    this.readAt = at;
    return this.effective;
  }

  /** Stores a budget (replacing the stored one of the same scope and window); this process holds it from now on. */
  async set(input: BudgetInput): Promise<ResolvedFleetBudget> {
    const record = storedBudgetOf(input, this.now());
    await this.store.putStoredBudget(record);
    await this.read();
    const spec = parseBudgetWindow(record.window);
    return { scope: record.scope, window: windowLabel(spec), limitNano: record.limitNano, alertAt: record.alertAt, spec, source: 'stored' };
  }

  /** Removes the stored budgets of `scope` (only its `window` one when given); how many. Config budgets stay. */
  async remove(scope: string, window?: string): Promise<number> {
    const label = window === undefined ? undefined : windowLabel(parseBudgetWindow(window));
    const removed = await this.store.removeStoredBudgets(scope, label);
    await this.read();
    return removed;
  }

  /**
   * Every budget with its current window's spend and projection: stored ones, then config ones (a
   * config budget a stored one overrides is listed with `active: false`).
   */
  async list(): Promise<BudgetStatus[]> {
    await this.read();
    const now = this.now();
    const all = [...this.stored, ...this.config];
    const rows = await this.store.getFleetBudgets(currentKeys(all, now));
    const overridden = new Set(this.stored.map((b) => `${b.scope}|${b.window}`));
    return all.map((b) =>
      budgetStatus(
        b,
        rows.find((r) => r.key === windowKey(b, now)),
        now,
        b.source === 'stored' || !overridden.has(`${b.scope}|${b.window}`),
      ),
    );
  }
}
