/**
 * The ledger part of the `Store` port: each root run's budget. Money is integer nano-USD
 * (1 USD = 1e9); the runtime reserves before a call and settles after it, both inside a
 * `commit` (see `CommitBatch.budget`), so the ledger moves only with the log.
 */
export interface Ledger {
  /** The budget of a root run (children spend against their root's), or undefined. */
  getBudget(rootRunId: string): Promise<BudgetRecord | undefined>;
  /** Fleet budget windows by key (see `FleetCharge`); a key never reserved against is absent. */
  getFleetBudgets(keys: readonly string[]): Promise<FleetBudgetRecord[]>;
  /**
   * Claims the alert of `threshold` (a fraction of the limit) in a fleet window: true for exactly
   * one caller, once spend has reached it, however many workers ask.
   */
  claimFleetAlert(key: string, threshold: number): Promise<boolean>;
  /** Every budget stored with `putStoredBudget`, ordered by scope then window. */
  listStoredBudgets(): Promise<StoredBudgetRecord[]>;
  /** Stores a budget, replacing the one of the same scope and window (its windows' spend is kept). */
  putStoredBudget(budget: StoredBudgetRecord): Promise<void>;
  /** Removes the stored budgets of `scope` (only its `window` one when given); how many were removed. */
  removeStoredBudgets(scope: string, window?: string): Promise<number>;
}

/**
 * A fleet budget kept in the store (`warden budgets set`, `PUT /v1/budgets`) rather than declared
 * on `createWarden`: every process on the store holds reservations against it. The store checks
 * only the shapes; what a valid scope or window is, `guard/fleet-budgets.ts` decides.
 */
export interface StoredBudgetRecord {
  /** `all`, `tenant:<name>` or `agent:<name>`. */
  scope: string;
  /** `day`, `month` or `<n>h`. */
  window: string;
  /** The most the scope may spend in one window, nano-USD. */
  limitNano: number;
  /** Fractions of the limit in (0, 1] announced by `budget.alert`, ascending. */
  alertAt: number[];
  /** When it was last set, ms since the epoch. */
  updatedAt: number;
}

/**
 * One fleet budget window a reservation also counts against: `key` names the budget's scope, its
 * window and the window's start (`tenant:acme|day|1796256000000`), `limitNano` its limit.
 */
export interface FleetCharge {
  key: string;
  limitNano: number;
}

export interface FleetBudgetRecord {
  key: string;
  limitNano: number;
  /** Settled spend in the window, nano-USD. */
  spentNano: number;
  /** Held by reservations not yet settled, nano-USD. */
  reservedNano: number;
}

/**
 * One change to a root's budget, applied in a commit's transaction. A reservation that would
 * take `spent + reserved` above the ceiling fails the whole commit with `BUDGET_EXCEEDED`; a
 * settle is never refused.
 */
export type BudgetOp =
  /** Holds `amountNano` (nano-USD) against the ceiling before a call. */
  | {
      kind: 'reserve';
      rootRunId: string;
      amountNano: number;
      /** Fleet budget windows that must also hold it; one that would go over refuses the commit with `BUDGET_EXHAUSTED`. */
      fleet?: readonly FleetCharge[];
      /** The conversation whose ceiling must also hold it; one that would go over refuses the commit with `CONVERSATION_CEILING`. */
      conversation?: string;
    }
  /** Releases `reservedNano` of the reservation (not below zero) and spends `actualNano` (both nano-USD). */
  | {
      kind: 'settle';
      rootRunId: string;
      reservedNano: number;
      actualNano: number /** The fleet windows the reservation was held in (their keys). */;
      fleet?: readonly string[];
      /** The conversation the reservation was held in. */
      conversation?: string;
    };

export interface BudgetRecord {
  rootRunId: string;
  /** The most the root and all its children may spend, nano-USD. */
  ceilingNano: number;
  /** Settled spend, nano-USD. */
  spentNano: number;
  /** Held by reservations not yet settled, nano-USD. */
  reservedNano: number;
}
