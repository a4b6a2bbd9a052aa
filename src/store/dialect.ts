import type { WardenError } from '../core/errors.ts';
import type { AnyNewEvent } from '../core/events.ts';
import type { CommitBatch, ExpiryCutoffs, ExternalAppendOptions, NewIntervention, NewRun, RunPatch } from '../core/ports/store.ts';
import type { SummaryRow } from './expiry-sql.ts';
import type { BudgetRow, ConversationRow, EventRow, FleetBudgetRow, InterventionRow, RunHeadRow, RunRow, StoredBudgetRow } from './rows.ts';
import type { OutboxInsert, WebhookEndpointRow, WebhookOutboxRow } from './webhook-rows.ts';

/**
 * The dialect port: what `SqlStore` (the one implementation of the `Store` port's rules) needs
 * from a database. A dialect holds the SQL text and the connection handling, nothing else: it
 * validates nothing, numbers nothing and decides no errors; it reports what the database did.
 *
 * Writes inside a transaction are written once, as generators (`Op`), so the same code runs
 * synchronously on SQLite (its steps never yield, and a group of commits shares one transaction
 * in one turn of the event loop) and asynchronously on PostgreSQL (its steps yield the promise
 * of each query): see `runSync` and `runAsync`.
 */

/** A step of a write: yields the promises it waits on (none on a synchronous database). */
export type Op<T> = Generator<PromiseLike<unknown>, T, unknown>;

/** A value now (SQLite) or later (PostgreSQL). */
export type Awaitable<T> = T | Promise<T>;

/** Runs `op` to the end without waiting: for a dialect whose steps never yield. */
export function runSync<T>(op: Op<T>): T {
  const r = op.next();
  if (!r.done) throw new Error('A synchronous store dialect waited on a promise');
  return r.value;
}

/** Runs `op`, feeding each promise it yields back to it once settled. */
export async function runAsync<T>(op: Op<T>): Promise<T> {
  let r = op.next();
  while (!r.done) {
    let value: unknown;
    try {
      value = await r.value;
    } catch (e) {
      r = op.throw(e);
      continue;
    }
    r = op.next(value);
  }
  return r.value;
}

/** The writes of one transaction. Seqs are the run's last seq before the write. */
export interface Tx {
  /** What a write needs to know about the run, locked for the rest of the transaction; undefined for an unknown run. */
  head(runId: string): Op<RunHeadRow | undefined>;
  /**
   * Moves the run's `last_seq` from `batch.expectedSeq` to `newSeq` and writes `batch.run`, only
   * if `last_seq` is `expectedSeq`. Returns the run's head, or undefined when nothing moved.
   */
  advance(batch: CommitBatch, newSeq: number, updatedAt: number): Op<RunHeadRow | undefined>;
  /** The run's last seq, undefined for an unknown run. */
  lastSeq(runId: string): Op<number | undefined>;
  /** Sets the run's `last_seq` (from `lastSeq`, which the transaction holds) and writes `patch`. */
  patchRun(runId: string, lastSeq: number, newSeq: number, updatedAt: number, patch: RunPatch | undefined): Op<void>;
  /** Inserts `events` as seq `lastSeq + 1` onwards. */
  insertEvents(runId: string, lastSeq: number, events: readonly AnyNewEvent[]): Op<void>;
  /**
   * Reserves `amountNano` on the root's budget if `spent + reserved + amountNano ≤ ceiling`
   * (see `fitsCeiling`). When it does not, the budget row as it was decided on (undefined: no budget).
   */
  reserve(rootRunId: string, amountNano: number): Op<{ reserved: true } | { reserved: false; budget: BudgetRow | undefined }>;
  /** Releases `reservedNano` (not below zero) and spends `actualNano`; false when there is no budget. */
  settle(rootRunId: string, reservedNano: number, actualNano: number): Op<boolean>;
  /**
   * Reserves `amountNano` in a fleet budget window (created on first use) if
   * `spent + reserved + amountNano ≤ limitNano`, in one conditional statement; false when it does not fit.
   */
  reserveFleet(key: string, limitNano: number, amountNano: number): Op<boolean>;
  /** Releases `reservedNano` (not below zero) and spends `actualNano` in a fleet budget window. */
  settleFleet(key: string, reservedNano: number, actualNano: number): Op<void>;
  /**
   * Reserves `amountNano` in the conversation if it has no ceiling or `spent + reserved + amountNano
   * ≤ ceiling`, in one conditional statement. When it does not, the row as it was decided on (undefined: no conversation).
   */
  reserveConversation(conversationId: string, amountNano: number): Op<{ reserved: true } | { reserved: false; row: ConversationRow | undefined }>;
  /** Releases `reservedNano` (not below zero) and spends `actualNano` in the conversation. */
  settleConversation(conversationId: string, reservedNano: number, actualNano: number): Op<void>;
  /** Inserts a pending intervention; `args` (null for undefined) and `evidence` are JSON text. */
  insertIntervention(runId: string, head: RunHeadRow, i: NewIntervention, args: string | null, evidence: string): Op<void>;
  /** Decides the intervention if it is the run's and still pending; false otherwise. */
  decide(runId: string, decision: NonNullable<ExternalAppendOptions['intervention']>): Op<boolean>;
  /** The intervention as the transaction sees it (to say why it could not be decided). */
  currentIntervention(id: string): Op<InterventionRow | undefined>;
  /** Tells other processes, when the transaction commits, that the run may be claimable (or nothing). */
  notify(runId: string): Op<void>;
  /** Inserts message `${key}.${endpointId}` for each enabled endpoint listening to its type (once per id). Rows written. */
  enqueueWebhooks(message: OutboxInsert): Op<number>;
}

/** A listing's filters, checked and in order: `column = value` for each of `equals`, and so on. */
export interface RunQuery {
  equals: [column: string, value: string][];
  /** `status` is one of these (never empty). */
  statusIn?: string[];
  /** `created_at >= since`, ms. */
  since?: number;
  /** Select `RUN_COLUMNS_WITHOUT_TEXT` instead of every column. */
  withoutText?: boolean;
  limit: number;
}

/** The runs columns with the texts replaced by their empty values: what an aggregate reads. */
export const RUN_COLUMNS_WITHOUT_TEXT =
  "run_id, mode, agent, tenant, status, stop_reason, parent_run_id, root_run_id, '' AS input, NULL AS output, NULL AS error, cost_nano, steps, tool_calls, last_seq, created_at, updated_at, lease_owner, lease_expires_at, undo, conversation_id, turn";

export interface InterventionQuery {
  equals: [column: string, value: string][];
  /** `requested_at >= since`, ms. */
  since?: number;
  /** `expires_at <= expiresBy` (ms); those without a deadline never match. */
  expiresBy?: number;
  limit: number;
}

/**
 * `conversation-*`: the run was to be a conversation's turn and the conversation refused it: it
 * belongs to another tenant or agent (`mismatch`), it is closed (`closed`), or the turn is not the
 * next one (`turn-taken`). Nothing was written.
 */
export type CreateOutcome = 'created' | 'exists' | 'no-root-budget' | 'conversation-mismatch' | 'conversation-closed' | 'turn-taken';

export interface Dialect {
  readonly kind: 'sqlite' | 'postgres';
  /** Names the store in messages, e.g. `the SQLite store at .warden/warden.db`. */
  readonly where: string;
  /** Anything a call threw, as a typed store error (`WardenError`s pass through). */
  toStoreError(e: unknown, what: string): WardenError;

  /** Runs `step` as one transaction: all of it or none of it. */
  transaction<T>(step: (tx: Tx) => Op<T>): Promise<T>;
  /** Runs a commit's `step` as one transaction, or anything equivalent that is faster for this database. */
  commit(batch: CommitBatch, step: (tx: Tx) => Op<void>): Promise<void>;
  /** Writes the run's row, its budget (root runs) and `run.submitted` as seq 1, all or nothing. */
  createRun(run: NewRun, mode: string, submittedData: string): Awaitable<CreateOutcome>;
  /** After a write queued a run: tells this process's watchers, where the database does not. */
  announce(runId: string): void;

  events(runId: string, afterSeq: number): Awaitable<EventRow[]>;
  run(runId: string): Awaitable<RunRow | undefined>;
  runs(query: RunQuery): Awaitable<RunRow[]>;
  budget(rootRunId: string): Awaitable<BudgetRow | undefined>;
  fleetBudgets(keys: readonly string[]): Awaitable<FleetBudgetRow[]>;
  /** Raises the window's announced threshold to `threshold` if it is lower and spend has reached it; true when this call did. */
  claimFleetAlert(key: string, threshold: number): Awaitable<boolean>;
  conversation(conversationId: string): Awaitable<ConversationRow | undefined>;
  /** Most recently updated first. */
  conversations(query: { equals: [column: string, value: string][]; limit: number }): Awaitable<ConversationRow[]>;
  /** Sets an open conversation's status to `cancelled`; whether it did. */
  closeConversation(conversationId: string, at: number): Awaitable<boolean>;
  /** Every stored budget, ordered by scope then window. */
  storedBudgets(): Awaitable<StoredBudgetRow[]>;
  /** Inserts or replaces the stored budget of (scope, window); `alertAt` is JSON text. */
  putStoredBudget(scope: string, window: string, limitNano: number, alertAt: string, updatedAt: number): Awaitable<void>;
  /** Deletes the stored budgets of `scope` (of its `window` only, when given); rows deleted. */
  removeStoredBudgets(scope: string, window: string | undefined): Awaitable<number>;
  intervention(id: string): Awaitable<InterventionRow | undefined>;
  interventions(query: InterventionQuery): Awaitable<InterventionRow[]>;

  /** Each write below says whether it changed a row. Times are ms since the epoch. */
  acquireLease(runId: string, owner: string, expiresAt: number, force: boolean, now: number): Awaitable<boolean>;
  releaseLease(runId: string, owner: string): Awaitable<void>;
  renewLease(runId: string, owner: string, expiresAt: number): Awaitable<boolean>;
  /** Leases up to `limit` claimable root runs to `worker`, fairly across tenants; the rows taken. */
  claim(worker: string, expiresAt: number, now: number, limit: number, agents: readonly string[] | null): Awaitable<RunRow[]>;
  watch(listener: (runId: string) => void): Awaitable<() => Promise<void>>;

  acquireLock(key: string, holder: string, expiresAt: number, force: boolean, now: number): Awaitable<boolean>;
  lock(key: string): Awaitable<{ holder: string; expires_at: number | string } | undefined>;
  releaseLock(key: string, holder: string): Awaitable<void>;

  /** Records hold JSON text. */
  getRecord(ns: string, key: string): Awaitable<string | undefined>;
  /** Writes the record, or with `ifAbsent` only if there is none; whether it wrote. */
  putRecord(ns: string, key: string, value: string, updatedAt: number, ifAbsent: boolean): Awaitable<boolean>;
  listRecords(ns: string): Awaitable<{ key: string; value: string }[]>;
  deleteRecord(ns: string, key: string): Awaitable<boolean>;

  /** Webhooks. `addWebhookEndpoint` says false when the id exists. */
  addWebhookEndpoint(row: WebhookEndpointRow): Awaitable<boolean>;
  webhookEndpoints(): Awaitable<WebhookEndpointRow[]>;
  removeWebhookEndpoint(id: string): Awaitable<boolean>;
  /** Moves up to `limit` messages due at `now` to `leaseUntil`, counting an attempt; the rows taken. */
  claimWebhookMessages(now: number, leaseUntil: number, limit: number): Awaitable<WebhookOutboxRow[]>;
  /** Sets the attempt's outcome; `deliveredAt` and `nextAttemptAt` are null when not delivered / not retried. */
  recordWebhookAttempt(id: string, deliveredAt: number | null, nextAttemptAt: number | null, status: number | null, error: string | null): Awaitable<void>;
  /** Newest first; `pending` true: due or leased, false: settled; `failed` true: undelivered with a last error. */
  webhookMessages(endpointId: string | null, pending: boolean | null, failed: boolean | null, limit: number): Awaitable<WebhookOutboxRow[]>;
  /** Settled (next_attempt_at NULL) messages created before `before`: counted, or up to `limit` of them deleted; how many. */
  settledWebhookMessages(before: number, remove: boolean, limit: number): Awaitable<number>;

  /** Retention: what `expiry-sql.ts` defines as expired trees. Their summary per tenant. */
  expirySummary(cutoffs: ExpiryCutoffs): Awaitable<SummaryRow[]>;
  /** Expired roots with a run id after `after`, in run id order, at most `limit`. */
  expiredRoots(cutoffs: ExpiryCutoffs, after: string, limit: number): Awaitable<{ run_id: string; tenant: string }[]>;
  /** Every run of these trees: root first, then by creation. */
  treeRuns(rootRunIds: readonly string[]): Awaitable<{ run_id: string; root_run_id: string }[]>;
  /** In one transaction: deletes the trees among `rootRunIds` still expired (runs, events, interventions, budgets). */
  deleteTrees(cutoffs: ExpiryCutoffs, rootRunIds: readonly string[]): Awaitable<DeletedTrees>;
  /** Where the events table is partitioned by time: removes whole partitions of expired trees first (PostgreSQL). */
  dropExpiredPartitions?(cutoffs: ExpiryCutoffs): Promise<DeletedTrees & { partitionsDropped: string[] }>;

  close(): Awaitable<void>;
}

/** What one delete transaction removed. */
export interface DeletedTrees {
  trees: number;
  runs: number;
  events: number;
}
