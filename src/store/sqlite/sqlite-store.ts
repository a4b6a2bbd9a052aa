import type { DatabaseSync, SQLInputValue, SQLOutputValue } from 'node:sqlite';
import type { AnyNewEvent } from '../../core/events.ts';
import type {
  AgentEventFilter,
  AgentEventRecord,
  CommitBatch,
  ExpiryCutoffs,
  ExternalAppendOptions,
  NewAgentEvent,
  NewIntervention,
  NewRun,
  Store,
} from '../../core/ports/store.ts';
import {
  RUN_COLUMNS_WITHOUT_TEXT,
  runSync,
  type CreateOutcome,
  type DeletedTrees,
  type Dialect,
  type InterventionQuery,
  type Op,
  type RunQuery,
  type Tx,
} from '../dialect.ts';
import {
  encodeJson,
  type BudgetRow,
  type ConversationRow,
  type FleetBudgetRow,
  type EventRow,
  type InterventionRow,
  type RunHeadRow,
  type RunRow,
  type StoredBudgetRow,
} from '../rows.ts';
import { expiredRoot, expiredRootsSql, summarySql, type Param, type SummaryRow } from '../expiry-sql.ts';
import { SqlStore } from '../sql-store.ts';
import { FAILED_MESSAGE, type OutboxInsert, type WebhookEndpointRow, type WebhookOutboxRow } from '../webhook-rows.ts';
import { appendAgentEvent, listAgentEvents } from './agent-events.ts';
import { checkDurability, DEFAULT_BUSY_TIMEOUT_MS, type Durability, isInMemory, openDatabase, synchronousOf } from './open-database.ts';
import { DEFAULT_CHECKPOINT_BYTES, WalCheckpointer } from './wal-checkpointer.ts';
import { toStoreError } from './sqlite-errors.ts';
import { prepareStatements, QueryCache, RunPatcher, type RunCurrentRow, type Statements } from './statements.ts';

/**
 * node:sqlite types every row as a plain record. Each query read through this selects exactly the
 * columns of `T` (statements.ts and the queries below), so the one cast here is safe.
 */
function rowsOf<T>(rows: Record<string, SQLOutputValue>[] | Record<string, unknown>[]): T[] {
  return rows as unknown as T[];
}

export interface SqliteStoreOptions {
  /** Database file (parent directories are created), or `':memory:'` for a private, throwaway one. */
  path: string;
  /** How long a write waits for another process's transaction, ms. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * What a committed write survives: `'process'` (default) a killed or crashed process;
   * `'power'` a power cut or kernel panic as well, at the cost of a sync per commit (see docs/store.md).
   */
  durability?: Durability;
  /** WAL size past which a background thread checkpoints it, bytes (default 4 MiB). */
  checkpointBytes?: number;
}

/**
 * The embedded store: one SQLite file, built-in `node:sqlite`, no server. Opens (and migrates)
 * synchronously, so a failure to open throws here: `STORE_CORRUPT` for a file that is not a
 * Warden database, `STORE_UNAVAILABLE` otherwise. Several processes may share the file; every
 * write is a `BEGIN IMMEDIATE` transaction that waits up to `busyTimeoutMs` for the others.
 *
 * @example
 * const store = createSqliteStore({ path: '.warden/warden.db' });
 * const warden = createWarden({ store });
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const durability = checkDurability(options.durability ?? 'process');
  const db = openDatabase(options.path, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, durability);
  const checkpointer = isInMemory(options.path)
    ? null
    : new WalCheckpointer(db, {
        path: options.path,
        synchronous: synchronousOf(durability),
        thresholdBytes: options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES,
      });
  return new SqliteStore(new SqliteDialect(db, options.path, checkpointer));
}

/** The shared store, plus the agent logs only SQLite keeps. */
class SqliteStore extends SqlStore {
  declare protected readonly dialect: SqliteDialect;

  async appendAgentEvent(event: NewAgentEvent): Promise<AgentEventRecord> {
    return this.use(`Appending ${event?.type} to the log of agent ${event?.agent}`, () => appendAgentEvent(this.dialect.db, event));
  }

  async listAgentEvents(filter: AgentEventFilter = {}): Promise<AgentEventRecord[]> {
    return this.use('Listing agent events', () => listAgentEvents(this.dialect.db, filter));
  }
}

interface PendingWrite {
  /** What the write is, for its error message. */
  what: string;
  work: () => unknown;
  resolve: (value: never) => void;
  reject: (e: unknown) => void;
}

/** SQLite's SQL and connection: one synchronous connection, prepared statements, grouped commits. */
class SqliteDialect implements Dialect, Tx {
  readonly kind = 'sqlite' as const;
  readonly where: string;
  readonly db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Statements;
  readonly #patcher: RunPatcher;
  readonly #queries: QueryCache;
  readonly #listeners = new Set<(runId: string) => void>();
  readonly #checkpointer: WalCheckpointer | null;
  #pending: PendingWrite[] = [];
  /** The tenant this store's last claim ended on; the next claim starts after it. */
  #claimCursor = '';

  constructor(db: DatabaseSync, path: string, checkpointer: WalCheckpointer | null) {
    this.db = db;
    this.#checkpointer = checkpointer;
    this.#path = path;
    this.where = `the SQLite store at ${path}`;
    this.#sql = prepareStatements(db);
    this.#patcher = new RunPatcher(db);
    this.#queries = new QueryCache(db);
  }

  toStoreError = toStoreError;

  async transaction<T>(step: (tx: Tx) => Op<T>): Promise<T> {
    return this.#transaction(() => runSync(step(this)));
  }

  /**
   * Writes are grouped: every commit, run creation and lease change asked for in the same turn of
   * the event loop goes into one SQLite transaction, each inside its own savepoint, so one that
   * fails (a stale writer, a refused reservation) is rolled back alone while the others land
   * together. Many concurrent runs then share the cost of one write to the log instead of paying
   * it each; and as the group is written in the order it was asked for, a run's two commits asked
   * for back to back (a tool's outcome, then the next reservation) share one transaction too.
   */
  commit(batch: CommitBatch, step: (tx: Tx) => Op<void>): Promise<void> {
    return this.#grouped(`Commit to run ${batch.runId}`, () => runSync(step(this)));
  }

  #grouped<T>(what: string, work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ what, work, resolve: resolve as (value: never) => void, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#commitPending());
    });
  }

  #commitPending(): void {
    const group = this.#pending;
    this.#pending = [];
    if (group.length === 0) return;
    const [only] = group;
    if (group.length === 1 && only) {
      // Alone in its turn (one run at a time): the transaction is the savepoint. A failure rolls
      // it back whole, which is exactly what rolling back its savepoint would have done, with two
      // statements fewer per commit.
      let result: unknown;
      try {
        this.#transaction(() => {
          result = only.work();
        });
      } catch (e) {
        only.reject(toStoreError(e, only.what));
        return;
      }
      only.resolve(result as never);
      return;
    }
    const failures = new Map<PendingWrite, unknown>();
    const results: unknown[] = [];
    try {
      this.#transaction(() => {
        for (const item of group) {
          this.#sql.savepoint.run();
          try {
            results.push(item.work());
            this.#sql.release.run();
          } catch (e) {
            this.#sql.rollbackTo.run();
            this.#sql.release.run();
            results.push(undefined);
            failures.set(item, toStoreError(e, item.what));
          }
        }
      });
    } catch (e) {
      const error = toStoreError(e, `Commit of ${group.length} write(s)`);
      for (const item of group) item.reject(error);
      return;
    }
    for (const [i, item] of group.entries()) {
      if (failures.has(item)) item.reject(failures.get(item));
      else item.resolve(results[i] as never);
    }
  }

  createRun(run: NewRun, mode: string, submittedData: string): Promise<CreateOutcome> {
    const isRoot = run.runId === run.rootRunId;
    return this.#grouped(`Creating run ${run.runId}`, (): CreateOutcome => {
      const s = this.#sql;
      if (s.runHead.get(run.runId)) return 'exists';
      if (!isRoot && !s.budget.get(run.rootRunId)) return 'no-root-budget';
      const turn = run.conversation;
      if (turn) {
        const c = s.conversation.get(turn.conversationId) as ConversationRow | undefined;
        if (!c) {
          if (turn.turn !== 1) return 'turn-taken';
          s.insertConversation.run(turn.conversationId, run.tenant, run.agent, turn.ceilingNano, run.createdAt, run.createdAt);
        } else {
          if (c.tenant !== run.tenant || c.agent !== run.agent) return 'conversation-mismatch';
          if (c.status !== 'open') return 'conversation-closed';
          if (c.turns !== turn.turn - 1) return 'turn-taken';
        }
        s.nextTurn.run(turn.turn, turn.ceilingNano, run.createdAt, turn.conversationId);
      }
      s.insertRun.run(
        run.runId,
        run.agent,
        run.tenant,
        run.status,
        run.parentRunId,
        run.rootRunId,
        run.input,
        run.createdAt,
        run.createdAt,
        mode,
        turn?.conversationId ?? null,
        turn?.turn ?? null,
      );
      if (isRoot) s.insertBudget.run(run.runId, run.ceilingNano);
      const e = run.submitted;
      s.insertEvent.run(run.runId, 1, e.type, e.at, e.v, submittedData);
      return 'created';
    });
  }

  /** Tells this store's watchers (SQLite has no cross-process channel; other processes poll). */
  announce(runId: string): void {
    for (const listener of this.#listeners) {
      try {
        listener(runId);
      } catch {
        // A watcher's failure is its own; the write already succeeded.
      }
    }
  }

  // Tx: the steps never yield, so `runSync` completes them in one turn.
  // biome-ignore-start lint/correctness/useYield: SQLite's steps have nothing to wait on

  *head(runId: string): Op<RunHeadRow | undefined> {
    return this.#sql.runHead.get(runId) as RunHeadRow | undefined;
  }

  *advance(batch: CommitBatch, newSeq: number, updatedAt: number): Op<RunHeadRow | undefined> {
    const current = this.#sql.runCurrent.get(batch.runId) as RunCurrentRow | undefined;
    if (!current || current.last_seq !== batch.expectedSeq) return undefined;
    this.#patcher.apply(batch.runId, newSeq, updatedAt, batch.run, current);
    return current;
  }

  *lastSeq(runId: string): Op<number | undefined> {
    return (this.#sql.runHead.get(runId) as RunHeadRow | undefined)?.last_seq;
  }

  *patchRun(runId: string, _lastSeq: number, newSeq: number, updatedAt: number, patch: CommitBatch['run']): Op<void> {
    this.#patcher.apply(runId, newSeq, updatedAt, patch);
  }

  *insertEvents(runId: string, lastSeq: number, events: readonly AnyNewEvent[]): Op<void> {
    for (const [i, e] of events.entries()) {
      this.#sql.insertEvent.run(runId, lastSeq + i + 1, e.type, e.at, e.v, encodeJson(e.data, `The data of ${e.type} event`));
    }
  }

  *reserve(rootRunId: string, amountNano: number): Op<{ reserved: true } | { reserved: false; budget: BudgetRow | undefined }> {
    // The ceiling check and the write are one statement: no other writer can slip in between.
    if (this.#sql.reserve.run(amountNano, rootRunId).changes > 0) return { reserved: true };
    return { reserved: false, budget: this.#sql.budget.get(rootRunId) as BudgetRow | undefined };
  }

  *settle(rootRunId: string, reservedNano: number, actualNano: number): Op<boolean> {
    return this.#sql.settle.run(reservedNano, actualNano, rootRunId).changes > 0;
  }

  *reserveFleet(key: string, limitNano: number, amountNano: number): Op<boolean> {
    this.#sql.openFleet.run(key, limitNano);
    return this.#sql.reserveFleet.run(amountNano, key, limitNano).changes > 0;
  }

  *settleFleet(key: string, reservedNano: number, actualNano: number): Op<void> {
    this.#sql.settleFleet.run(reservedNano, actualNano, key);
  }

  *reserveConversation(conversationId: string, amountNano: number): Op<{ reserved: true } | { reserved: false; row: ConversationRow | undefined }> {
    if (this.#sql.reserveConversation.run(amountNano, conversationId).changes > 0) return { reserved: true };
    return { reserved: false, row: this.conversation(conversationId) };
  }

  *settleConversation(conversationId: string, reservedNano: number, actualNano: number): Op<void> {
    this.#sql.settleConversation.run(reservedNano, actualNano, conversationId, Date.now());
  }

  *insertIntervention(runId: string, head: RunHeadRow, i: NewIntervention, args: string | null, evidence: string): Op<void> {
    this.#sql.insertIntervention.run(
      i.id,
      runId,
      head.agent,
      head.tenant,
      i.kind,
      i.callId,
      i.tool,
      args,
      i.argsHash,
      i.reason,
      evidence,
      i.requestedAt,
      i.expiresAt ?? null,
    );
  }

  *decide(runId: string, d: NonNullable<ExternalAppendOptions['intervention']>): Op<boolean> {
    return this.#sql.decideIntervention.run(d.status, d.decidedBy, d.decisionReason, d.decidedAt, d.id, runId).changes > 0;
  }

  *currentIntervention(id: string): Op<InterventionRow | undefined> {
    return this.intervention(id);
  }

  /** Nothing to tell other processes: they poll (this process's watchers hear `announce`). */
  *notify(_runId: string): Op<void> {}

  *enqueueWebhooks(m: OutboxInsert): Op<number> {
    return this.#queries.run(
      `INSERT INTO webhook_outbox (id, endpoint_id, type, payload, attempts, next_attempt_at, created_at)
       SELECT ? || '.' || id, id, ?, ?, 0, ?, ? FROM webhook_endpoints
        WHERE enabled = 1 AND instr(',' || events || ',', ',' || ? || ',') > 0
       ON CONFLICT (id) DO NOTHING`,
      [m.key, m.type, m.payload, m.now, m.now, m.type],
    );
  }
  // biome-ignore-end lint/correctness/useYield: -

  // Reads and single-statement writes.

  events(runId: string, afterSeq: number): EventRow[] {
    return rowsOf<EventRow>(this.#sql.events.all(runId, afterSeq));
  }

  run(runId: string): RunRow | undefined {
    return this.#sql.run.get(runId) as RunRow | undefined;
  }

  runs(q: RunQuery): RunRow[] {
    const where = q.equals.map(([column]) => `${column} = ?`);
    const params: SQLInputValue[] = q.equals.map(([, value]) => value);
    if (q.statusIn) {
      where.push(`status IN (${q.statusIn.map(() => '?').join(', ')})`);
      params.push(...q.statusIn);
    }
    if (q.since !== undefined) {
      where.push('created_at >= ?');
      params.push(q.since);
    }
    params.push(q.limit);
    // rowid breaks ties between runs created in the same millisecond: the later insert first.
    const columns = q.withoutText ? RUN_COLUMNS_WITHOUT_TEXT : '*';
    const sql = `SELECT ${columns} FROM runs ${whereClause(where)} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    return rowsOf<RunRow>(this.#queries.all(sql, params));
  }

  budget(rootRunId: string): BudgetRow | undefined {
    return this.#sql.budget.get(rootRunId) as BudgetRow | undefined;
  }

  claimFleetAlert(key: string, threshold: number): boolean {
    return this.#sql.claimFleetAlert.run(threshold, key).changes > 0;
  }

  storedBudgets(): StoredBudgetRow[] {
    return rowsOf<StoredBudgetRow>(this.#sql.storedBudgets.all());
  }

  putStoredBudget(scope: string, window: string, limitNano: number, alertAt: string, updatedAt: number): void {
    this.#sql.putStoredBudget.run(scope, window, limitNano, alertAt, updatedAt);
  }

  removeStoredBudgets(scope: string, window: string | undefined): number {
    return Number((window === undefined ? this.#sql.removeStoredBudgets.run(scope) : this.#sql.removeStoredBudget.run(scope, window)).changes);
  }

  fleetBudgets(keys: readonly string[]): FleetBudgetRow[] {
    if (keys.length === 0) return [];
    const sql = `SELECT key, limit_nano, spent_nano, reserved_nano FROM fleet_budgets WHERE key IN (${keys.map(() => '?').join(', ')})`;
    return rowsOf<FleetBudgetRow>(this.#queries.all(sql, [...keys]));
  }

  conversation(conversationId: string): ConversationRow | undefined {
    return this.#sql.conversation.get(conversationId) as ConversationRow | undefined;
  }

  conversations(q: { equals: [string, string][]; limit: number }): ConversationRow[] {
    const where = q.equals.map(([column]) => `${column} = ?`);
    const params: SQLInputValue[] = [...q.equals.map(([, value]) => value), q.limit];
    return rowsOf<ConversationRow>(this.#queries.all(`SELECT * FROM conversations ${whereClause(where)} ORDER BY updated_at DESC, rowid DESC LIMIT ?`, params));
  }

  closeConversation(conversationId: string, at: number): boolean {
    return this.#sql.closeConversation.run(conversationId, at).changes > 0;
  }

  intervention(id: string): InterventionRow | undefined {
    return this.#sql.intervention.get(id) as InterventionRow | undefined;
  }

  interventions(q: InterventionQuery): InterventionRow[] {
    const where = q.equals.map(([column]) => `${column} = ?`);
    const params: SQLInputValue[] = q.equals.map(([, value]) => value);
    if (q.since !== undefined) {
      where.push('requested_at >= ?');
      params.push(q.since);
    }
    if (q.expiresBy !== undefined) {
      where.push('expires_at <= ?');
      params.push(q.expiresBy);
    }
    params.push(q.limit);
    const sql = `SELECT * FROM interventions ${whereClause(where)} ORDER BY requested_at, rowid LIMIT ?`;
    return rowsOf<InterventionRow>(this.#queries.all(sql, params));
  }

  // Lease changes join the group's transaction, like commits: one write transaction fewer each.

  acquireLease(runId: string, owner: string, expiresAt: number, force: boolean, now: number): Promise<boolean> {
    return this.#grouped(`Taking the lease of run ${runId}`, () => this.#sql.acquireLease.run(owner, expiresAt, runId, force ? 1 : 0, now).changes > 0);
  }

  releaseLease(runId: string, owner: string): Promise<void> {
    return this.#grouped(`Releasing the lease of run ${runId}`, () => {
      this.#sql.releaseLease.run(runId, owner);
    });
  }

  renewLease(runId: string, owner: string, expiresAt: number): Promise<boolean> {
    return this.#grouped(`Renewing the lease of run ${runId}`, () => this.#sql.renewLease.run(expiresAt, runId, owner).changes > 0);
  }

  claim(worker: string, expiresAt: number, now: number, limit: number, agents: readonly string[] | null): RunRow[] {
    // Bounded by the batch, not the backlog, as on PostgreSQL (docs/store.md): walk the ready
    // (tenant, agent) pairs round-robin from the tenant after the last claim's, read a few runs
    // of each, and take them rank by rank. One transaction under SQLite's single-writer lock, so
    // no other claimer sees the runs between the reads and the update.
    return this.#transaction(() => {
      const wanted = agents ? new Set(agents) : null;
      const inAgents = agents ? `AND agent IN (${agents.map(() => '?').join(', ')})` : '';
      const picks: { rowid: number; rank: number; turn: number; createdAt: number; tenant: string }[] = [];
      for (const r of this.#queries.all(
        `SELECT rowid, created_at, tenant FROM runs INDEXED BY runs_leased WHERE ${LEASED} AND lease_expires_at < ? ${inAgents}
         ORDER BY lease_expires_at LIMIT ?`,
        [now, ...(agents ?? []), limit],
      )) {
        picks.push({ rowid: Number(r.rowid), rank: 0, turn: 0, createdAt: Number(r.created_at), tenant: String(r.tenant) });
      }
      let turn = 0;
      let lastTenant: string | undefined;
      for (const pair of this.#ring(this.#claimCursor)) {
        if (wanted && !wanted.has(pair.agent)) continue;
        if (pair.tenant !== lastTenant) {
          if (++turn > limit) break;
          lastTenant = pair.tenant;
        }
        const runs = this.#queries.all(
          `SELECT rowid, created_at FROM runs INDEXED BY runs_ready WHERE ${READY} AND tenant = ? AND agent = ? ORDER BY created_at, rowid LIMIT ?`,
          [pair.tenant, pair.agent, limit],
        );
        for (const r of runs) picks.push({ rowid: Number(r.rowid), rank: 1, turn, createdAt: Number(r.created_at), tenant: pair.tenant });
      }
      // Rank within each tenant (oldest first), then every tenant's first before any tenant's second.
      const seen = new Map<string, number>();
      for (const p of picks.filter((x) => x.rank > 0).sort((a, b) => a.createdAt - b.createdAt || a.rowid - b.rowid)) {
        p.rank = (seen.get(p.tenant) ?? 0) + 1;
        seen.set(p.tenant, p.rank);
      }
      picks.sort((a, b) => a.rank - b.rank || a.turn - b.turn || a.createdAt - b.createdAt || a.rowid - b.rowid);
      const taken = picks.slice(0, limit);
      if (taken.length === 0) return [];
      const last = taken.reduce((a, b) => (b.turn > a.turn ? b : a));
      if (last.turn > 0) this.#claimCursor = last.tenant;
      return rowsOf<RunRow>(
        this.#queries.all(`UPDATE runs SET lease_owner = ?, lease_expires_at = ? WHERE rowid IN (${taken.map(() => '?').join(', ')}) RETURNING *`, [
          worker,
          expiresAt,
          ...taken.map((p) => p.rowid),
        ]),
      );
    });
  }

  /** The distinct ready (tenant, agent) pairs, from the first tenant after `cursor` round to it; one index probe each. */
  *#ring(cursor: string): Generator<{ tenant: string; agent: string }> {
    const first = (condition: string, params: SQLInputValue[]) =>
      this.#queries.all(`SELECT tenant, agent FROM runs INDEXED BY runs_ready WHERE ${READY} AND ${condition} ORDER BY tenant, agent LIMIT 1`, params)[0] as
        | { tenant: string; agent: string }
        | undefined;
    let pair = first('tenant > ?', [cursor]);
    let wrapped = false;
    if (!pair) {
      pair = first('tenant <= ?', [cursor]);
      wrapped = true;
    }
    while (pair) {
      yield pair;
      // Two seeks, not a row-value comparison: SQLite would walk the tenant's whole range for that.
      pair =
        first('tenant = ? AND agent > ?', [pair.tenant, pair.agent]) ??
        (wrapped ? first('tenant > ? AND tenant <= ?', [pair.tenant, cursor]) : first('tenant > ?', [pair.tenant]));
      if (!pair && !wrapped) {
        pair = first('tenant <= ?', [cursor]);
        wrapped = true;
      }
    }
  }

  watch(listener: (runId: string) => void): () => Promise<void> {
    this.#listeners.add(listener);
    return async () => {
      this.#listeners.delete(listener);
    };
  }

  acquireLock(key: string, holder: string, expiresAt: number, force: boolean, now: number): boolean {
    return this.#sql.acquireLock.run(key, holder, expiresAt, force ? 1 : 0, now).changes > 0;
  }

  lock(key: string): { holder: string; expires_at: number } | undefined {
    return this.#sql.lock.get(key) as { holder: string; expires_at: number } | undefined;
  }

  releaseLock(key: string, holder: string): void {
    this.#sql.releaseLock.run(key, holder);
  }

  getRecord(ns: string, key: string): string | undefined {
    return (this.#sql.getRecord.get(ns, key) as { value: string } | undefined)?.value;
  }

  putRecord(ns: string, key: string, value: string, updatedAt: number, ifAbsent: boolean): boolean {
    return (ifAbsent ? this.#sql.insertRecord : this.#sql.upsertRecord).run(ns, key, value, updatedAt).changes > 0;
  }

  listRecords(ns: string): { key: string; value: string }[] {
    return this.#sql.listRecords.all(ns) as { key: string; value: string }[];
  }

  deleteRecord(ns: string, key: string): boolean {
    return this.#sql.deleteRecord.run(ns, key).changes > 0;
  }

  addWebhookEndpoint(r: WebhookEndpointRow): boolean {
    const sql = `INSERT INTO webhook_endpoints (id, url, secret, events, format, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`;
    return this.#queries.run(sql, [r.id, r.url, r.secret, r.events, r.format, Number(r.enabled), r.created_at]) > 0;
  }

  webhookEndpoints(): WebhookEndpointRow[] {
    return rowsOf<WebhookEndpointRow>(this.#queries.all('SELECT * FROM webhook_endpoints ORDER BY created_at, id', []));
  }

  removeWebhookEndpoint(id: string): boolean {
    // Its queued messages go with it (ON DELETE CASCADE).
    return this.#queries.run('DELETE FROM webhook_endpoints WHERE id = ?', [id]) > 0;
  }

  claimWebhookMessages(now: number, leaseUntil: number, limit: number): WebhookOutboxRow[] {
    // One UPDATE … RETURNING under SQLite's single-writer lock: atomic across processes.
    const sql = `UPDATE webhook_outbox SET next_attempt_at = ?, attempts = attempts + 1
        WHERE id IN (SELECT id FROM webhook_outbox WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?
                     ORDER BY next_attempt_at, created_at, id LIMIT ?)
        RETURNING *`;
    return rowsOf<WebhookOutboxRow>(this.#queries.all(sql, [leaseUntil, now, limit]));
  }

  recordWebhookAttempt(id: string, deliveredAt: number | null, nextAttemptAt: number | null, status: number | null, error: string | null): void {
    const sql = 'UPDATE webhook_outbox SET delivered_at = ?, next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?';
    this.#queries.run(sql, [deliveredAt, nextAttemptAt, status, error, id]);
  }

  settledWebhookMessages(before: number, remove: boolean, limit: number): number {
    if (!remove) {
      const row = this.#queries.all('SELECT count(*) AS n FROM webhook_outbox WHERE next_attempt_at IS NULL AND created_at < ?', [before])[0];
      return Number(row?.n ?? 0);
    }
    const sql = `DELETE FROM webhook_outbox WHERE id IN (
        SELECT id FROM webhook_outbox WHERE next_attempt_at IS NULL AND created_at < ? ORDER BY created_at, id LIMIT ?)`;
    return this.#queries.run(sql, [before, limit]);
  }

  webhookMessages(endpointId: string | null, pending: boolean | null, failed: boolean | null, limit: number): WebhookOutboxRow[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (endpointId !== null) {
      where.push('endpoint_id = ?');
      params.push(endpointId);
    }
    if (pending !== null) where.push(pending ? 'next_attempt_at IS NOT NULL' : 'next_attempt_at IS NULL');
    if (failed !== null) where.push(failed ? FAILED_MESSAGE : `NOT (${FAILED_MESSAGE})`);
    params.push(limit);
    return rowsOf<WebhookOutboxRow>(
      this.#queries.all(`SELECT * FROM webhook_outbox ${whereClause(where)} ORDER BY created_at DESC, rowid DESC LIMIT ?`, params),
    );
  }

  expirySummary(cutoffs: ExpiryCutoffs): SummaryRow[] {
    const { param, values } = positional();
    const sql = summarySql(
      cutoffs,
      (name) => name,
      param,
      (column) => `length(CAST(${column} AS BLOB))`,
    );
    return rowsOf<SummaryRow>(this.#queries.all(sql, values));
  }

  expiredRoots(cutoffs: ExpiryCutoffs, after: string, limit: number): { run_id: string; tenant: string }[] {
    const { param, values } = positional();
    return rowsOf<{ run_id: string; tenant: string }>(this.#queries.all(expiredRootsSql(cutoffs, 'runs', param, after, limit), values));
  }

  treeRuns(rootRunIds: readonly string[]): { run_id: string; root_run_id: string }[] {
    const sql = `SELECT run_id, root_run_id FROM runs WHERE root_run_id IN (SELECT value FROM json_each(?))
      ORDER BY root_run_id, parent_run_id IS NOT NULL, created_at, rowid`;
    return rowsOf<{ run_id: string; root_run_id: string }>(this.#queries.all(sql, [JSON.stringify(rootRunIds)]));
  }

  /** One `BEGIN IMMEDIATE` transaction: no other writer can change a tree between the check and the deletes. */
  deleteTrees(cutoffs: ExpiryCutoffs, rootRunIds: readonly string[]): DeletedTrees {
    return this.#transaction(() => {
      const { param, values } = positional();
      const ids = param(JSON.stringify(rootRunIds), 'text');
      const check = `SELECT r.run_id FROM runs r WHERE r.run_id IN (SELECT value FROM json_each(${ids})) AND ${expiredRoot(cutoffs, 'runs', param)}`;
      const roots = rowsOf<{ run_id: string }>(this.#queries.all(check, values)).map((r) => r.run_id);
      if (roots.length === 0) return { trees: 0, runs: 0, events: 0 };
      const k = [JSON.stringify(roots)];
      const trees = '(SELECT value FROM json_each(?))';
      const runsOf = `(SELECT run_id FROM runs WHERE root_run_id IN ${trees})`;
      const events = this.#queries.run(`DELETE FROM events WHERE run_id IN ${runsOf}`, k);
      this.#queries.run(`DELETE FROM interventions WHERE run_id IN ${runsOf}`, k);
      this.#queries.run(`DELETE FROM budgets WHERE root_run_id IN ${trees}`, k);
      const runs = this.#queries.run(`DELETE FROM runs WHERE root_run_id IN ${trees}`, k);
      return { trees: roots.length, runs, events };
    });
  }

  async close(): Promise<void> {
    if (this.#pending.length) this.#commitPending();
    this.#listeners.clear();
    // The thread's connection closes first; the writer's, the last one, then checkpoints the WAL.
    await this.#checkpointer?.close();
    try {
      this.db.close();
    } catch (e) {
      throw toStoreError(e, `Closing the SQLite store at ${this.#path}`);
    }
  }

  /** All or nothing: any throw inside `fn` rolls everything back. */
  #transaction<T>(fn: () => T): T {
    this.#sql.begin.run();
    try {
      const result = fn();
      this.#sql.commit.run();
      this.#checkpointer?.afterWrite(this.db);
      return result;
    } catch (e) {
      if (this.db.isTransaction) {
        try {
          this.#sql.rollback.run();
        } catch {
          // The first error says what went wrong; SQLite discards the transaction either way.
        }
      }
      throw e;
    }
  }
}

/** The root runs a worker may take now (the predicate of the `runs_ready` index). */
const READY = `status IN ('queued', 'running') AND parent_run_id IS NULL AND lease_owner IS NULL`;
/** Root runs leased out (the predicate of the `runs_leased` index): taken over once the lease lapses. */
const LEASED = `status IN ('queued', 'running') AND parent_run_id IS NULL AND lease_owner IS NOT NULL`;

/** `?` placeholders, bound in the order the SQL text uses them. */
function positional(): { param: Param; values: SQLInputValue[] } {
  const values: SQLInputValue[] = [];
  return {
    values,
    param: (value) => {
      values.push(value);
      return '?';
    },
  };
}

function whereClause(conditions: string[]): string {
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}
