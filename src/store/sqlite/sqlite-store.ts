import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { WardenError } from '../../core/errors.ts';
import type { AnyNewEvent, AnyRunEvent } from '../../core/events.ts';
import { checkBudgetOps, checkClaim, checkDecision, checkEvents, checkInterventions, checkNewRun, checkRunPatch, checkTtl, requireInteger, checkRecordKey } from '../input-checks.ts';
import { budgetExceeded, foreignBudget, missingBudget, noSuchRun, rootWithoutBudget, runExists, staleWriter, undecidable } from '../store-errors.ts';
import {
  DEFAULT_LIST_LIMIT,
  type BudgetOp,
  type BudgetRecord,
  type ClaimOptions,
  type CommitBatch,
  type ExternalAppendOptions,
  type InterventionFilter,
  type InterventionRecord,
  type LockAttempt,
  type NewIntervention,
  type NewRun,
  type RunFilter,
  type RunRecord,
  type Store,
  type AgentEventFilter,
  type AgentEventRecord,
  type NewAgentEvent,
  runMode,
} from '../../core/ports/store.ts';
import { appendAgentEvent, listAgentEvents } from './agent-events.ts';
import { DEFAULT_BUSY_TIMEOUT_MS, openDatabase } from './open-database.ts';
import {
  encodeJson,
  toBudgetRecord,
  toInterventionRecord,
  toRunEvent,
  toRunRecord,
  type BudgetRow,
  type EventRow,
  type InterventionRow,
  type RunHeadRow,
  type RunRow,
} from '../rows.ts';
import { toStoreError } from './sqlite-errors.ts';
import { prepareStatements, QueryCache, RunPatcher, type Statements } from './statements.ts';

interface PendingCommit {
  batch: CommitBatch;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface SqliteStoreOptions {
  /** Database file (parent directories are created), or `':memory:'` for a private, throwaway one. */
  path: string;
  /** How long a write waits for another process's transaction, ms. Default 5000. */
  busyTimeoutMs?: number;
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
  return new SqliteStore(openDatabase(options.path, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS), options.path);
}

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Statements;
  readonly #patcher: RunPatcher;
  readonly #queries: QueryCache;
  readonly #listeners = new Set<(runId: string) => void>();
  #closed = false;
  #pending: PendingCommit[] = [];

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#sql = prepareStatements(db);
    this.#patcher = new RunPatcher(db);
    this.#queries = new QueryCache(db);
  }

  async createRun(run: NewRun): Promise<void> {
    this.#use(`Creating run ${run.runId}`, () => {
      checkNewRun(run);
      const isRoot = run.runId === run.rootRunId;
      this.#transaction(() => {
        if (this.#sql.runHead.get(run.runId)) throw runExists(run.runId);
        if (!isRoot && !this.#sql.budget.get(run.rootRunId)) throw rootWithoutBudget(run.runId, run.rootRunId);
        const s = this.#sql;
        s.insertRun.run(run.runId, run.agent, run.tenant, run.status, run.parentRunId, run.rootRunId, run.input, run.createdAt, run.createdAt, runMode(run));
        if (isRoot) s.insertBudget.run(run.runId, run.ceilingNano);
        this.#insertEvents(run.runId, 0, [run.submitted]);
      });
      if (run.status === 'queued') this.#announce(run.runId);
    });
  }

  /**
   * Commits are grouped: every commit asked for in the same turn of the event loop goes into one
   * SQLite transaction, each inside its own savepoint, so one commit that fails (a stale writer,
   * a refused reservation) is rolled back alone while the others land together. Many concurrent
   * runs then share the cost of one write to the log instead of paying it each.
   */
  async commit(batch: CommitBatch): Promise<void> {
    const { runId } = batch;
    this.#use(`Commit to run ${runId}`, () => {
      requireInteger(batch.expectedSeq, 'expectedSeq', 0, { runId });
      checkEvents(batch.events, runId);
      checkRunPatch(batch.run, runId);
      checkBudgetOps(batch.budget, runId);
      checkInterventions(batch.interventions, runId);
    });
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ batch, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#commitPending());
    });
  }

  #commitPending(): void {
    const group = this.#pending;
    this.#pending = [];
    const failures = new Map<PendingCommit, unknown>();
    try {
      this.#use(`Commit of ${group.length} step(s)`, () =>
        this.#transaction(() => {
          for (const item of group) {
            this.#sql.savepoint.run();
            try {
              this.#commitOne(item.batch);
              this.#sql.release.run();
            } catch (e) {
              this.#sql.rollbackTo.run();
              this.#sql.release.run();
              failures.set(item, toStoreError(e, `Commit to run ${item.batch.runId}`));
            }
          }
        }),
      );
    } catch (e) {
      for (const item of group) item.reject(e);
      return;
    }
    for (const item of group) {
      if (failures.has(item)) item.reject(failures.get(item));
      else item.resolve();
    }
  }

  #commitOne(batch: CommitBatch): void {
    const { runId } = batch;
    const head = this.#head(runId);
    if (head.last_seq !== batch.expectedSeq) {
      throw new WardenError(
        'STALE_WRITER',
        `Run ${runId} has moved on: expected last seq ${batch.expectedSeq}, found ${head.last_seq}; reload its events and retry. Nothing was written`,
        { context: { runId, expectedSeq: batch.expectedSeq, foundSeq: head.last_seq } },
      );
    }
    for (const op of batch.budget ?? []) this.#applyBudgetOp(runId, head, op);
    this.#insertEvents(runId, head.last_seq, batch.events);
    for (const i of batch.interventions ?? []) this.#insertIntervention(runId, head, i);
    this.#patcher.apply(runId, head.last_seq + batch.events.length, Date.now(), batch.run);
  }

  async appendExternal(runId: string, events: AnyNewEvent[], options: ExternalAppendOptions = {}): Promise<number> {
    return this.#use(`External append to run ${runId}`, () => {
      checkEvents(events, runId);
      checkRunPatch(options.run, runId);
      const decision = options.intervention;
      checkDecision(decision, runId);
      const lastSeq = this.#transaction(() => {
        const head = this.#head(runId);
        if (decision) {
          const { changes } = this.#sql.decideIntervention.run(
            decision.status,
            decision.decidedBy,
            decision.decisionReason,
            decision.decidedAt,
            decision.id,
            runId,
          );
          if (changes === 0) throw undecidable(runId, decision.id, this.#sql.intervention.get(decision.id) as InterventionRow | undefined);
        }
        this.#insertEvents(runId, head.last_seq, events);
        const lastSeq = head.last_seq + events.length;
        this.#patcher.apply(runId, lastSeq, Date.now(), options.run);
        return lastSeq;
      });
      if (options.run?.status === 'queued') this.#announce(runId);
      return lastSeq;
    });
  }

  async loadEvents(runId: string, afterSeq = 0): Promise<AnyRunEvent[]> {
    return this.#use(`Loading events of run ${runId}`, () => {
      requireInteger(afterSeq, 'afterSeq', 0, { runId });
      // Safe: node:sqlite types rows as plain records; this query's columns are those of EventRow.
      return (this.#sql.events.all(runId, afterSeq) as unknown as EventRow[]).map((row) => toRunEvent(runId, row));
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#use(`Reading run ${runId}`, () => {
      const row = this.#sql.run.get(runId) as RunRow | undefined;
      return row && toRunRecord(row);
    });
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.#use('Listing runs', () => {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      const eq = (column: string, value: string | undefined) => {
        if (value === undefined) return;
        where.push(`${column} = ?`);
        params.push(value);
      };
      eq('agent', filter.agent);
      eq('tenant', filter.tenant);
      eq('stop_reason', filter.stopReason);
      eq('root_run_id', filter.rootRunId);
      eq('mode', filter.mode);
      if (Array.isArray(filter.status)) {
        if (filter.status.length === 0) return [];
        where.push(`status IN (${filter.status.map(() => '?').join(', ')})`);
        params.push(...filter.status);
      } else {
        eq('status', filter.status);
      }
      if (filter.since !== undefined) {
        where.push('created_at >= ?');
        params.push(requireInteger(filter.since, 'since', 0));
      }
      params.push(requireInteger(filter.limit ?? DEFAULT_LIST_LIMIT, 'limit', 1));
      // rowid breaks ties between runs created in the same millisecond: the later insert first.
      const sql = `SELECT * FROM runs ${whereClause(where)} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
      // Safe: node:sqlite types rows as plain records; this query's columns are those of RunRow.
      return (this.#queries.all(sql, params) as unknown as RunRow[]).map(toRunRecord);
    });
  }

  async getBudget(rootRunId: string): Promise<BudgetRecord | undefined> {
    return this.#use(`Reading the budget of run ${rootRunId}`, () => {
      const row = this.#sql.budget.get(rootRunId) as BudgetRow | undefined;
      return row && toBudgetRecord(row);
    });
  }

  async listInterventions(filter: InterventionFilter = {}): Promise<InterventionRecord[]> {
    return this.#use('Listing interventions', () => {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      for (const [column, value] of [
        ['kind', filter.kind],
        ['status', filter.status],
        ['run_id', filter.runId],
        ['tenant', filter.tenant],
      ] as const) {
        if (value === undefined) continue;
        where.push(`${column} = ?`);
        params.push(value);
      }
      params.push(requireInteger(filter.limit ?? DEFAULT_LIST_LIMIT, 'limit', 1));
      const sql = `SELECT * FROM interventions ${whereClause(where)} ORDER BY requested_at, rowid LIMIT ?`;
      // Safe: node:sqlite types rows as plain records; this query's columns are those of InterventionRow.
      return (this.#queries.all(sql, params) as unknown as InterventionRow[]).map(toInterventionRecord);
    });
  }

  async getIntervention(id: string): Promise<InterventionRecord | undefined> {
    return this.#use(`Reading intervention ${id}`, () => {
      const row = this.#sql.intervention.get(id) as InterventionRow | undefined;
      return row && toInterventionRecord(row);
    });
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, options: { force?: boolean } = {}): Promise<boolean> {
    return this.#use(`Taking the lease of run ${runId}`, () => {
      checkTtl(ttlMs, runId);
      const now = Date.now();
      const { changes } = this.#sql.acquireLease.run(owner, Math.ceil(now + ttlMs), runId, options.force ? 1 : 0, now);
      return changes > 0;
    });
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    this.#use(`Releasing the lease of run ${runId}`, () => {
      this.#sql.releaseLease.run(runId, owner);
    });
  }

  async acquireLock(key: string, holder: string, ttlMs: number, options: { force?: boolean } = {}): Promise<LockAttempt> {
    return this.#use(`Taking the lock "${key}"`, () => {
      if (typeof key !== 'string' || key.length === 0 || key.length > 512) {
        throw new WardenError('INVALID_ARGUMENT', `A lock key must be a string of 1 to 512 characters, got ${JSON.stringify(key)}`);
      }
      if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
        throw new WardenError('INVALID_ARGUMENT', `ttlMs must be a finite number ≥ 0, got ${String(ttlMs)}`);
      }
      const now = Date.now();
      const { changes } = this.#sql.acquireLock.run(key, holder, Math.ceil(now + ttlMs), options.force ? 1 : 0, now);
      if (changes > 0) return { acquired: true };
      const row = this.#sql.lock.get(key) as { holder: string; expires_at: number } | undefined;
      return row ? { acquired: false, holder: row.holder, expiresAt: Number(row.expires_at) } : { acquired: false, holder: '', expiresAt: 0 };
    });
  }

  async getRecord(ns: string, key: string): Promise<unknown> {
    return this.#use(`Reading record ${ns}/${key}`, () => {
      const row = this.#sql.getRecord.get(ns, key) as { value: string } | undefined;
      return row ? JSON.parse(row.value) : undefined;
    });
  }

  async putRecord(ns: string, key: string, value: unknown, options: { ifAbsent?: boolean } = {}): Promise<{ stored: boolean; value: unknown }> {
    return this.#use(`Writing record ${ns}/${key}`, () => {
      checkRecordKey(ns, key);
      const text = encodeJson(value, `Record ${ns}/${key}`);
      if (!options.ifAbsent) {
        this.#sql.upsertRecord.run(ns, key, text, Date.now());
        return { stored: true, value };
      }
      const { changes } = this.#sql.insertRecord.run(ns, key, text, Date.now());
      if (changes > 0) return { stored: true, value };
      return { stored: false, value: JSON.parse((this.#sql.getRecord.get(ns, key) as { value: string }).value) };
    });
  }

  async listRecords(ns: string): Promise<{ key: string; value: unknown }[]> {
    return this.#use(`Listing records ${ns}`, () =>
      (this.#sql.listRecords.all(ns) as { key: string; value: string }[]).map((r) => ({ key: r.key, value: JSON.parse(r.value) })),
    );
  }

  async deleteRecord(ns: string, key: string): Promise<boolean> {
    return this.#use(`Deleting record ${ns}/${key}`, () => this.#sql.deleteRecord.run(ns, key).changes > 0);
  }

  async releaseLock(key: string, holder: string): Promise<void> {
    this.#use(`Releasing the lock "${key}"`, () => {
      this.#sql.releaseLock.run(key, holder);
    });
  }

  async appendAgentEvent(event: NewAgentEvent): Promise<AgentEventRecord> {
    return this.#use(`Appending ${event?.type} to the log of agent ${event?.agent}`, () => appendAgentEvent(this.#db, event));
  }

  async listAgentEvents(filter: AgentEventFilter = {}): Promise<AgentEventRecord[]> {
    return this.#use('Listing agent events', () => listAgentEvents(this.#db, filter));
  }

  async renewLease(runId: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.#use(`Renewing the lease of run ${runId}`, () => {
      checkTtl(ttlMs, runId);
      return this.#sql.renewLease.run(Math.ceil(Date.now() + ttlMs), runId, owner).changes > 0;
    });
  }

  async claimRuns(worker: string, options: ClaimOptions): Promise<RunRecord[]> {
    return this.#use(`Claiming runs for ${worker}`, () => {
      checkClaim(worker, options);
      const now = Date.now();
      const agents = options.agents ?? null;
      if (agents && agents.length === 0) return [];
      // One UPDATE … RETURNING under SQLite's single-writer lock: atomic across processes.
      const filter = agents ? `AND agent IN (${agents.map(() => '?').join(', ')})` : '';
      // Fair across tenants: ranked within their tenant, oldest first, and taken rank by rank.
      const sql = `UPDATE runs SET lease_owner = ?, lease_expires_at = ?
        WHERE rowid IN (SELECT rowid FROM (SELECT rowid, created_at,
            row_number() OVER (PARTITION BY tenant ORDER BY created_at, rowid) AS rk FROM runs
          WHERE status IN ('queued', 'running') AND parent_run_id IS NULL
            AND (lease_owner IS NULL OR lease_expires_at < ?) ${filter})
          ORDER BY rk, created_at, rowid LIMIT ?)
        RETURNING *`;
      const params: SQLInputValue[] = [worker, Math.ceil(now + options.leaseMs), now, ...(agents ?? []), options.limit];
      // Safe: node:sqlite types rows as plain records; this query's columns are those of RunRow.
      const rows = this.#queries.all(sql, params) as unknown as RunRow[];
      return rows.map(toRunRecord).sort((a, b) => a.createdAt - b.createdAt);
    });
  }

  async watchRunnable(listener: (runId: string) => void): Promise<() => Promise<void>> {
    this.#use('Watching for runnable runs', () => undefined);
    this.#listeners.add(listener);
    return async () => {
      this.#listeners.delete(listener);
    };
  }

  /** Tells this store's watchers (SQLite has no cross-process channel; other processes poll). */
  #announce(runId: string): void {
    for (const listener of this.#listeners) {
      try {
        listener(runId);
      } catch {
        // A watcher's failure is its own; the write already succeeded.
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#pending.length) this.#commitPending();
    this.#closed = true;
    this.#listeners.clear();
    try {
      this.#db.close();
    } catch (e) {
      throw toStoreError(e, `Closing the SQLite store at ${this.#path}`);
    }
  }

  /** Runs `fn` on an open store and turns anything untyped it throws into a store error. */
  #use<T>(what: string, fn: () => T): T {
    if (this.#closed) {
      throw new WardenError('STORE_UNAVAILABLE', `${what} failed: the SQLite store at ${this.#path} is closed`);
    }
    try {
      return fn();
    } catch (e) {
      throw toStoreError(e, what);
    }
  }

  /** All or nothing: any throw inside `fn` rolls everything back. */
  #transaction<T>(fn: () => T): T {
    this.#sql.begin.run();
    try {
      const result = fn();
      this.#sql.commit.run();
      return result;
    } catch (e) {
      if (this.#db.isTransaction) {
        try {
          this.#sql.rollback.run();
        } catch {
          // The first error says what went wrong; SQLite discards the transaction either way.
        }
      }
      throw e;
    }
  }

  #head(runId: string): RunHeadRow {
    const head = this.#sql.runHead.get(runId) as RunHeadRow | undefined;
    if (!head) throw noSuchRun(runId);
    return head;
  }

  #insertEvents(runId: string, lastSeq: number, events: readonly AnyNewEvent[]): void {
    for (const [i, e] of events.entries()) {
      this.#sql.insertEvent.run(runId, lastSeq + i + 1, e.type, e.at, e.v, encodeJson(e.data, `The data of ${e.type} event`));
    }
  }

  #applyBudgetOp(runId: string, head: RunHeadRow, op: BudgetOp): void {
    // A run spends only against its own root's budget: that is what makes the ceiling per request.
    if (op.rootRunId !== head.root_run_id) throw foreignBudget(runId, head.root_run_id, op);
    if (op.kind === 'settle') {
      // Never refused: the money is already spent, and the runtime never settles above what it reserved.
      const { changes } = this.#sql.settle.run(op.reservedNano, op.actualNano, op.rootRunId);
      if (changes === 0) throw missingBudget(runId, op.rootRunId);
      return;
    }
    const { changes } = this.#sql.reserve.run(op.amountNano, op.rootRunId);
    if (changes > 0) return;
    const row = this.#sql.budget.get(op.rootRunId) as BudgetRow | undefined;
    if (!row) throw missingBudget(runId, op.rootRunId);
    throw budgetExceeded(runId, op.amountNano, toBudgetRecord(row));
  }

  #insertIntervention(runId: string, head: RunHeadRow, i: NewIntervention): void {
    this.#sql.insertIntervention.run(
      i.id,
      runId,
      head.agent,
      head.tenant,
      i.kind,
      i.callId,
      i.tool,
      i.args === undefined ? null : encodeJson(i.args, `The args of intervention ${i.id}`),
      i.argsHash,
      i.reason,
      encodeJson(i.evidence ?? {}, `The evidence of intervention ${i.id}`),
      i.requestedAt,
    );
  }
}

function whereClause(conditions: string[]): string {
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}
