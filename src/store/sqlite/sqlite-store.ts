import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { WardenError } from '../../errors.ts';
import type { AnyNewEvent, AnyRunEvent } from '../../runtime/events.ts';
import { checkBudgetOps, checkEvents, checkInterventions, checkRunPatch, requireInteger } from '../input-checks.ts';
import {
  DEFAULT_LIST_LIMIT,
  type BudgetOp,
  type BudgetRecord,
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
} from '../store.ts';
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
} from './rows.ts';
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
      requireInteger(run.createdAt, 'createdAt', 0, { runId: run.runId });
      const isRoot = run.runId === run.rootRunId;
      if (isRoot) requireInteger(run.ceilingNano, 'ceilingNano', 0, { runId: run.runId });
      if (run.submitted?.type !== 'run.submitted') {
        throw new WardenError('INVALID_ARGUMENT', `A run starts with a run.submitted event, got ${String(run.submitted?.type)}`, { context: { runId: run.runId } });
      }
      checkEvents([run.submitted], run.runId);
      this.#transaction(() => {
        if (this.#sql.runHead.get(run.runId)) {
          throw new WardenError('CONFLICT', `Run ${run.runId} already exists; run ids must be unique`, { context: { runId: run.runId } });
        }
        if (!isRoot && !this.#sql.budget.get(run.rootRunId)) {
          throw new WardenError('NOT_FOUND', `Child run ${run.runId} names root run ${run.rootRunId}, which has no budget; create the root run first`, {
            context: { runId: run.runId, rootRunId: run.rootRunId },
          });
        }
        const s = this.#sql;
        s.insertRun.run(run.runId, run.agent, run.tenant, run.status, run.parentRunId, run.rootRunId, run.input, run.createdAt, run.createdAt, runMode(run));
        if (isRoot) s.insertBudget.run(run.runId, run.ceilingNano);
        this.#insertEvents(run.runId, 0, [run.submitted]);
      });
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
      if (decision) {
        requireInteger(decision.decidedAt, 'decidedAt', 0, { runId });
        if ((decision.status as string) === 'pending') {
          throw new WardenError('INVALID_ARGUMENT', `A decision cannot set intervention ${decision.id} back to pending`, { context: { runId } });
        }
      }
      return this.#transaction(() => {
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
          if (changes === 0) this.#explainUndecidable(runId, decision.id);
        }
        this.#insertEvents(runId, head.last_seq, events);
        const lastSeq = head.last_seq + events.length;
        this.#patcher.apply(runId, lastSeq, Date.now(), options.run);
        return lastSeq;
      });
    });
  }

  async loadEvents(runId: string, afterSeq = 0): Promise<AnyRunEvent[]> {
    return this.#use(`Loading events of run ${runId}`, () => {
      requireInteger(afterSeq, 'afterSeq', 0, { runId });
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
      if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
        throw new WardenError('INVALID_ARGUMENT', `ttlMs must be a finite number ≥ 0, got ${String(ttlMs)}`, { context: { runId } });
      }
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

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#pending.length) this.#commitPending();
    this.#closed = true;
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
    if (!head) throw new WardenError('NOT_FOUND', `No run with id "${runId}"`, { context: { runId } });
    return head;
  }

  #insertEvents(runId: string, lastSeq: number, events: readonly AnyNewEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      this.#sql.insertEvent.run(runId, lastSeq + i + 1, e.type, e.at, e.v, encodeJson(e.data, `The data of ${e.type} event`));
    }
  }

  #applyBudgetOp(runId: string, head: RunHeadRow, op: BudgetOp): void {
    // A run spends only against its own root's budget: that is what makes the ceiling per request.
    if (op.rootRunId !== head.root_run_id) {
      throw new WardenError('INVALID_ARGUMENT', `Run ${runId} belongs to root ${head.root_run_id} but its budget op names ${op.rootRunId}`, {
        context: { runId, rootRunId: op.rootRunId },
      });
    }
    if (op.kind === 'settle') {
      // Never refused: the money is already spent, and the runtime never settles above what it reserved.
      const { changes } = this.#sql.settle.run(op.reservedNano, op.actualNano, op.rootRunId);
      if (changes === 0) this.#missingBudget(runId, op.rootRunId);
      return;
    }
    const { changes } = this.#sql.reserve.run(op.amountNano, op.rootRunId);
    if (changes > 0) return;
    const row = this.#sql.budget.get(op.rootRunId) as BudgetRow | undefined;
    if (!row) this.#missingBudget(runId, op.rootRunId);
    const b = toBudgetRecord(row);
    throw new WardenError(
      'BUDGET_EXCEEDED',
      `Reserving ${usd(op.amountNano)} would take root run ${op.rootRunId} to ${usd(b.spentNano + b.reservedNano + op.amountNano)}, ` +
        `above its ceiling of ${usd(b.ceilingNano)} (spent ${usd(b.spentNano)}, reserved ${usd(b.reservedNano)}). Nothing was written`,
      {
        context: { runId, rootRunId: op.rootRunId, spentNano: b.spentNano, reservedNano: b.reservedNano, ceilingNano: b.ceilingNano, amountNano: op.amountNano },
      },
    );
  }

  #missingBudget(runId: string, rootRunId: string): never {
    throw new WardenError('NOT_FOUND', `No budget for root run ${rootRunId}`, { context: { runId, rootRunId } });
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

  /** Called when deciding an intervention changed no row: says why, as a typed error. */
  #explainUndecidable(runId: string, id: string): never {
    const row = this.#sql.intervention.get(id) as InterventionRow | undefined;
    if (!row) throw new WardenError('NOT_FOUND', `No intervention with id "${id}"`, { context: { runId } });
    if (row.run_id !== runId) {
      throw new WardenError('INVALID_ARGUMENT', `Intervention ${id} belongs to run ${row.run_id}, not ${runId}`, { context: { runId } });
    }
    throw new WardenError(
      'CONFLICT',
      `Intervention ${id} was already decided (${row.status} by ${row.decided_by ?? 'unknown'}); nothing was written`,
      { context: { runId, status: row.status, decidedBy: row.decided_by } },
    );
  }
}

function whereClause(conditions: string[]): string {
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}

/** Money for messages: dollars with the nano-USD figure people can grep the log for. */
function usd(nano: number): string {
  return `$${(nano / 1e9).toFixed(6)} (${nano} nano-USD)`;
}
