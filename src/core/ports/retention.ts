/**
 * The retention part of the `Store` port: finding and deleting the run logs a retention policy
 * (`core/retention.ts`) has expired. The unit is a run tree — a root run with every run under
 * it — because a child's log is part of its root's story and the root's budget row is shared.
 *
 * A tree is expired when **every** run in it is finished (`completed`, `failed`, `stopped`,
 * `cancelled`), no undo of it is under way, and every run in it was last written before its
 * root tenant's cutoff. A run that is live, queued, waiting for a person or being undone is never
 * expired, whatever its age, and neither is anything else in its tree.
 *
 * Deleting a tree removes its runs, their events, interventions and budget in one transaction,
 * re-checking in that transaction that the tree is still expired (an undo may have started since
 * it was listed): no run is ever left without its events, and no event without its run.
 */
export interface Retention {
  /** What the cutoffs expire now, per tenant (a preview: nothing is changed). */
  summarizeExpired(cutoffs: ExpiryCutoffs): Promise<ExpirySummary[]>;
  /** Expired trees in root run id order, after `afterRootRunId`, at most `limit` (default 100). */
  listExpiredRuns(cutoffs: ExpiryCutoffs, options?: ListExpiredOptions): Promise<ExpiredTree[]>;
  /**
   * Deletes expired trees (every one, or only those of `rootRunIds` that are still expired), at
   * most `batchSize` trees per transaction (default 100), so writers wait for one batch at a time.
   * The PostgreSQL store drops a whole month of events at once where every run in it is expired
   * (see docs/store.md, "Retention").
   */
  deleteExpiredRuns(cutoffs: ExpiryCutoffs, options?: DeleteExpiredOptions): Promise<ExpiryReport>;
}

/**
 * Times (ms since the epoch) before which a finished run tree's last write must lie for it to
 * expire. `tenants` overrides `default` for the trees whose root belongs to that tenant; `null`
 * keeps them all.
 */
export interface ExpiryCutoffs {
  default: number | null;
  tenants?: Readonly<Record<string, number | null>>;
}

export interface ListExpiredOptions {
  afterRootRunId?: string;
  limit?: number;
}

export interface DeleteExpiredOptions {
  /** Only these trees (by root run id), each only if it is still expired. */
  rootRunIds?: readonly string[];
  /** Trees per transaction; default 100. */
  batchSize?: number;
}

/** A root run and every run under it, all expired. */
export interface ExpiredTree {
  rootRunId: string;
  tenant: string;
  /** The root first, then the others in creation order. */
  runIds: string[];
}

/** What a policy expires in one tenant (by the tenant of each tree's root). */
export interface ExpirySummary {
  tenant: string;
  /** Run trees. */
  trees: number;
  /** Runs, roots and children. */
  runs: number;
  events: number;
  /** Bytes of the runs' texts and the events' payloads as stored (JSON text): what deleting frees, roughly. */
  bytes: number;
  /** The oldest last write among them, ms since the epoch. */
  oldestAt: number;
  /** The newest last write among them, ms since the epoch. */
  newestAt: number;
}

/** What a deletion removed. */
export interface ExpiryReport {
  trees: number;
  runs: number;
  events: number;
  /** Transactions of batched deletes. */
  batches: number;
  /** Whole event partitions dropped (PostgreSQL), by table name. */
  partitionsDropped: string[];
}

/** Trees per delete transaction unless `batchSize` says otherwise. */
export const DEFAULT_EXPIRY_BATCH = 100;
