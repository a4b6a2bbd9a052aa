import pg from 'pg';
import { mustExist, WardenError } from '../../core/errors.ts';
import type { AnyNewEvent, AnyRunEvent } from '../../core/events.ts';
import { checkBudgetOps, checkClaim, checkDecision, checkEvents, checkInterventions, checkNewRun, checkRunPatch, checkTtl, requireInteger, checkRecordKey } from '../input-checks.ts';
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
  type NewIntervention,
  type NewRun,
  type RunFilter,
  type RunPatch,
  type RunRecord,
  type Store,
  type LockAttempt,
  runMode,
} from '../../core/ports/store.ts';
import { DEFAULT_SCHEMA, PG_TYPES, quoteSchema, redact, splitUrl } from './connection.ts';
import { checkPostgresCurrent, migratePostgres } from './migrations.ts';
import { RunnableNotifier, runnableChannel } from './notifier.ts';
import { isConnectionError, toPgStoreError } from './pg-errors.ts';
import { createPostgresCoordinator } from './coordinator.ts';
import { createCachedCoordinator } from './cached-coordinator.ts';
import type { Coordinator } from '../../core/coordination.ts';
import { patchClause, pgStatements, statement, type PgStatements, type Statement } from './statements.ts';

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db`; a `?schema=name` parameter sets `schema`. Give this or `pool`. */
  url?: string;
  /** A pool you own (the store never ends it). */
  pool?: pg.Pool;
  /** Schema holding Warden's tables; created if missing. Default `warden`. */
  schema?: string;
  /** Apply missing migrations on open (default true); with false, a schema behind is refused. */
  migrate?: boolean;
  /** Connections in the pool the store creates from `url` (plus one for `LISTEN`). Default 10. */
  poolSize?: number;
}

/**
 * The PostgreSQL store, for many worker processes on many machines. Opens a pool (or uses
 * yours), migrates the schema (under an advisory lock, so workers may start together) and
 * resolves to a `Store`. Every rule of the port holds across processes: commits are
 * transactions, `expectedSeq` and the ceiling are checked by conditional updates under row locks,
 * workers claim runs with `FOR UPDATE SKIP LOCKED`, and `watchRunnable` uses `LISTEN/NOTIFY`.
 *
 * @example
 * const store = await createPostgresStore({ url: 'postgres://warden@db/warden' });
 * const warden = createWarden({ store });
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const fromUrl = options.url ? splitUrl(options.url) : undefined;
  const schema = options.schema ?? fromUrl?.schema ?? DEFAULT_SCHEMA;
  quoteSchema(schema);
  if (!options.pool && !fromUrl) throw new WardenError('INVALID_CONFIG', 'createPostgresStore needs a url or a pool');
  const owned = !options.pool;
  const pool =
    options.pool ??
    new pg.Pool({ connectionString: mustExist(fromUrl, 'the url of a store given no pool').url, max: (options.poolSize ?? 10) + 1, connectionTimeoutMillis: 10_000 });
  // An idle connection the server drops must not crash the process; the next query reconnects.
  if (owned) pool.on('error', () => {});
  const where = fromUrl ? redact(fromUrl.url) : 'the given pool';
  try {
    if (options.migrate === false) await checkPostgresCurrent(pool, schema);
    else await migratePostgres(pool, schema);
  } catch (e) {
    if (owned) await pool.end().catch(() => {});
    throw toPgStoreError(e, `Opening the PostgreSQL store at ${where} (schema ${schema})`);
  }
  return new PostgresStore(pool, owned, schema, where);
}

type Queryable = pg.Pool | pg.PoolClient;

/**
 * A commit's budget operations as one net change, when they allow it: all on one root, every
 * settle before every reserve (then checking the final total against the ceiling is the same as
 * checking each reserve in turn). Null otherwise, or when interventions or a requeue come along.
 */
function netBudget(batch: CommitBatch): { root: string; settledReserved: number; settledActual: number; reserved: number } | null {
  const ops = batch.budget ?? [];
  const first = ops[0];
  if (first === undefined || batch.interventions?.length || batch.run?.status === 'queued') return null;
  const root = first.rootRunId;
  let reserving = false;
  const net = { root, settledReserved: 0, settledActual: 0, reserved: 0 };
  for (const op of ops) {
    if (op.rootRunId !== root) return null;
    if (op.kind === 'settle') {
      if (reserving) return null;
      net.settledReserved += op.reservedNano;
      net.settledActual += op.actualNano;
    } else {
      reserving = true;
      net.reserved += op.amountNano;
    }
  }
  return net;
}

class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #owned: boolean;
  readonly #where: string;
  readonly #channel: string;
  readonly #sql: PgStatements;
  readonly #notifier: RunnableNotifier;
  /** Run-row updates, one per combination of patched fields (and fast path or not). */
  readonly #patches = new Map<string, Statement>();
  #closed = false;

  constructor(pool: pg.Pool, owned: boolean, schema: string, where: string) {
    this.#pool = pool;
    this.#owned = owned;
    this.#where = `${where} (schema ${schema})`;
    this.#channel = runnableChannel(schema);
    this.#sql = pgStatements(schema);
    this.#notifier = new RunnableNotifier(pool, this.#channel);
  }

  async createRun(run: NewRun): Promise<void> {
    return this.#use(`Creating run ${run.runId}`, async () => {
      checkNewRun(run);
      const isRoot = run.runId === run.rootRunId;
      const e = run.submitted;
      const values = [run.runId, run.agent, run.tenant, run.status, run.parentRunId, run.rootRunId, run.input, run.createdAt, isRoot, isRoot ? run.ceilingNano : 0];
      values.push(e.type, e.at, e.v, encodeJson(e.data, `The data of ${e.type} event`), this.#channel, runMode(run));
      try {
        const { rows } = await this.#pool.query(this.#sql.createRun.with(values));
        if (rows[0].inserted === 0) throw rootWithoutBudget(run.runId, run.rootRunId);
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw runExists(run.runId);
        throw err;
      }
    });
  }

  async commit(batch: CommitBatch): Promise<void> {
    const { runId } = batch;
    return this.#use(`Commit to run ${runId}`, async () => {
      requireInteger(batch.expectedSeq, 'expectedSeq', 0, { runId });
      checkEvents(batch.events, runId);
      checkRunPatch(batch.run, runId);
      checkBudgetOps(batch.budget, runId);
      checkInterventions(batch.interventions, runId);
      const newSeq = batch.expectedSeq + batch.events.length;
      const simple = !batch.budget?.length && !batch.interventions?.length && batch.run?.status !== 'queued';
      if (simple) {
        // One statement, so one round trip: the run row's conditional update and the events.
        const { rows } = await this.#pool.query(this.#patchRun(batch.run, true).with(this.#patchValues(batch, newSeq, true)));
        if (rows[0].n === 0) await this.#explainStale(this.#pool, runId, batch.expectedSeq);
        return;
      }
      const net = netBudget(batch);
      if (net) {
        // Settles then reserves on one root (the usual step): one statement that either lands whole
        // or fails whole. A stale writer, a refused reservation or a foreign root aborts it, and the
        // locked path below decides which, with the exact figures.
        try {
          await this.#pool.query(this.#patchRunWithBudget(batch.run).with([...this.#patchValues(batch, newSeq, true), net.root, net.settledReserved, net.settledActual, net.reserved]));
          return;
        } catch (e) {
          if ((e as { code?: string }).code !== '22012') throw e;
        }
      }
      await this.#transaction(async (c) => {
        const { rows } = await c.query(this.#patchRun(batch.run, false).with(this.#patchValues(batch, newSeq, false)));
        if (rows.length === 0) await this.#explainStale(c, runId, batch.expectedSeq);
        const head = rows[0] as RunHeadRow;
        for (const op of batch.budget ?? []) await this.#applyBudgetOp(c, runId, head, op);
        await this.#insertEvents(c, runId, batch.expectedSeq, batch.events);
        for (const i of batch.interventions ?? []) await this.#insertIntervention(c, runId, head, i);
        if (batch.run?.status === 'queued') await c.query(this.#sql.notify.with([this.#channel, runId]));
      });
    });
  }

  async appendExternal(runId: string, events: AnyNewEvent[], options: ExternalAppendOptions = {}): Promise<number> {
    return this.#use(`External append to run ${runId}`, async () => {
      checkEvents(events, runId);
      checkRunPatch(options.run, runId);
      const decision = options.intervention;
      checkDecision(decision, runId);
      return this.#transaction(async (c) => {
        const { rows } = await c.query(this.#sql.lockRunHead.with([runId]));
        if (rows.length === 0) throw noSuchRun(runId);
        const head = rows[0] as RunHeadRow;
        if (decision) {
          const d = decision;
          const { rowCount } = await c.query(this.#sql.decideIntervention.with([d.status, d.decidedBy, d.decisionReason, d.decidedAt, d.id, runId]));
          if (rowCount === 0) throw undecidable(runId, d.id, (await c.query(this.#sql.intervention.with([d.id]))).rows[0] as InterventionRow | undefined);
        }
        const lastSeq = head.last_seq + events.length;
        await this.#insertEvents(c, runId, head.last_seq, events);
        const batch = { runId, expectedSeq: head.last_seq, events, run: options.run };
        await c.query(this.#patchRun(options.run, false).with(this.#patchValues(batch, lastSeq, false)));
        if (options.run?.status === 'queued') await c.query(this.#sql.notify.with([this.#channel, runId]));
        return lastSeq;
      });
    });
  }

  async loadEvents(runId: string, afterSeq = 0): Promise<AnyRunEvent[]> {
    return this.#use(`Loading events of run ${runId}`, async () => {
      requireInteger(afterSeq, 'afterSeq', 0, { runId });
      const { rows } = await this.#pool.query(this.#sql.events.with([runId, afterSeq]));
      return (rows as EventRow[]).map((row) => toRunEvent(runId, row));
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#use(`Reading run ${runId}`, async () => {
      const row = (await this.#pool.query(this.#sql.run.with([runId]))).rows[0] as RunRow | undefined;
      return row && toRunRecord(row);
    });
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.#use('Listing runs', async () => {
      const where = new Conditions();
      where.eq('agent', filter.agent);
      where.eq('tenant', filter.tenant);
      where.eq('stop_reason', filter.stopReason);
      where.eq('root_run_id', filter.rootRunId);
      where.eq('mode', filter.mode);
      if (Array.isArray(filter.status)) {
        if (filter.status.length === 0) return [];
        where.add('status = ANY(?::text[])', filter.status);
      } else {
        where.eq('status', filter.status);
      }
      if (filter.since !== undefined) where.add('created_at >= ?', requireInteger(filter.since, 'since', 0));
      const limit = where.param(requireInteger(filter.limit ?? DEFAULT_LIST_LIMIT, 'limit', 1));
      // ord breaks ties between runs created in the same millisecond: the later insert first.
      const text = `SELECT * FROM ${this.#sql.schema}.runs ${where.clause()} ORDER BY created_at DESC, ord DESC LIMIT ${limit}`;
      const { rows } = await this.#pool.query(statement(text).with(where.values));
      return (rows as RunRow[]).map(toRunRecord);
    });
  }

  async getBudget(rootRunId: string): Promise<BudgetRecord | undefined> {
    return this.#use(`Reading the budget of run ${rootRunId}`, async () => {
      const row = (await this.#pool.query(this.#sql.budget.with([rootRunId]))).rows[0] as BudgetRow | undefined;
      return row && toBudgetRecord(row);
    });
  }

  async listInterventions(filter: InterventionFilter = {}): Promise<InterventionRecord[]> {
    return this.#use('Listing interventions', async () => {
      const where = new Conditions();
      where.eq('kind', filter.kind);
      where.eq('status', filter.status);
      where.eq('run_id', filter.runId);
      where.eq('tenant', filter.tenant);
      const limit = where.param(requireInteger(filter.limit ?? DEFAULT_LIST_LIMIT, 'limit', 1));
      const text = `SELECT * FROM ${this.#sql.schema}.interventions ${where.clause()} ORDER BY requested_at, ord LIMIT ${limit}`;
      const { rows } = await this.#pool.query(statement(text).with(where.values));
      return (rows as InterventionRow[]).map(toInterventionRecord);
    });
  }

  async getIntervention(id: string): Promise<InterventionRecord | undefined> {
    return this.#use(`Reading intervention ${id}`, async () => {
      const row = (await this.#pool.query(this.#sql.intervention.with([id]))).rows[0] as InterventionRow | undefined;
      return row && toInterventionRecord(row);
    });
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, options: { force?: boolean } = {}): Promise<boolean> {
    return this.#use(`Taking the lease of run ${runId}`, async () => {
      checkTtl(ttlMs, runId);
      const now = Date.now();
      const { rowCount } = await this.#pool.query(this.#sql.acquireLease.with([owner, Math.ceil(now + ttlMs), runId, options.force === true, now]));
      return (rowCount ?? 0) > 0;
    });
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    return this.#use(`Releasing the lease of run ${runId}`, async () => {
      await this.#pool.query(this.#sql.releaseLease.with([runId, owner]));
    });
  }

  /** Scheduler state shared by every worker on this database (cached locally, see `createCachedCoordinator`). */
  coordinator(): Coordinator {
    return createCachedCoordinator(createPostgresCoordinator(this.#pool, this.#sql.schema));
  }

  async getRecord(ns: string, key: string): Promise<unknown> {
    return this.#use(`Reading record ${ns}/${key}`, async () => {
      const { rows } = await this.#pool.query(`SELECT value FROM ${this.#sql.schema}.records WHERE ns = $1 AND key = $2`, [ns, key]);
      return rows.length ? JSON.parse(rows[0].value) : undefined;
    });
  }

  async putRecord(ns: string, key: string, value: unknown, options: { ifAbsent?: boolean } = {}): Promise<{ stored: boolean; value: unknown }> {
    return this.#use(`Writing record ${ns}/${key}`, async () => {
      checkRecordKey(ns, key);
      const text = encodeJson(value, `Record ${ns}/${key}`);
      const s = this.#sql.schema;
      if (!options.ifAbsent) {
        await this.#pool.query(
          `INSERT INTO ${s}.records (ns, key, value, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (ns, key) DO UPDATE SET value = $3, updated_at = $4`,
          [ns, key, text, Date.now()],
        );
        return { stored: true, value };
      }
      const { rowCount } = await this.#pool.query(`INSERT INTO ${s}.records (ns, key, value, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (ns, key) DO NOTHING`, [ns, key, text, Date.now()]);
      if ((rowCount ?? 0) > 0) return { stored: true, value };
      const { rows } = await this.#pool.query(`SELECT value FROM ${s}.records WHERE ns = $1 AND key = $2`, [ns, key]);
      return { stored: false, value: JSON.parse(rows[0].value) };
    });
  }

  async listRecords(ns: string): Promise<{ key: string; value: unknown }[]> {
    return this.#use(`Listing records ${ns}`, async () => {
      const { rows } = await this.#pool.query(`SELECT key, value FROM ${this.#sql.schema}.records WHERE ns = $1 ORDER BY key`, [ns]);
      return rows.map((r: { key: string; value: string }) => ({ key: r.key, value: JSON.parse(r.value) }));
    });
  }

  async deleteRecord(ns: string, key: string): Promise<boolean> {
    return this.#use(`Deleting record ${ns}/${key}`, async () => {
      const { rowCount } = await this.#pool.query(`DELETE FROM ${this.#sql.schema}.records WHERE ns = $1 AND key = $2`, [ns, key]);
      return (rowCount ?? 0) > 0;
    });
  }

  async acquireLock(key: string, holder: string, ttlMs: number, options: { force?: boolean } = {}): Promise<LockAttempt> {
    return this.#use(`Taking the lock "${key}"`, async () => {
      if (typeof key !== 'string' || key.length === 0 || key.length > 512) {
        throw new WardenError('INVALID_ARGUMENT', `A lock key must be a string of 1 to 512 characters, got ${JSON.stringify(key)}`);
      }
      checkTtl(ttlMs, key);
      const now = Date.now();
      const { rowCount } = await this.#pool.query(this.#sql.acquireLock.with([key, holder, Math.ceil(now + ttlMs), options.force === true, now]));
      if ((rowCount ?? 0) > 0) return { acquired: true };
      const { rows } = await this.#pool.query(this.#sql.lock.with([key]));
      const row = rows[0] as { holder: string; expires_at: string | number } | undefined;
      return row ? { acquired: false, holder: row.holder, expiresAt: Number(row.expires_at) } : { acquired: false, holder: '', expiresAt: 0 };
    });
  }

  async releaseLock(key: string, holder: string): Promise<void> {
    return this.#use(`Releasing the lock "${key}"`, async () => {
      await this.#pool.query(this.#sql.releaseLock.with([key, holder]));
    });
  }

  async renewLease(runId: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.#use(`Renewing the lease of run ${runId}`, async () => {
      checkTtl(ttlMs, runId);
      const { rowCount } = await this.#pool.query(this.#sql.renewLease.with([Math.ceil(Date.now() + ttlMs), runId, owner]));
      return (rowCount ?? 0) > 0;
    });
  }

  async claimRuns(worker: string, options: ClaimOptions): Promise<RunRecord[]> {
    return this.#use(`Claiming runs for ${worker}`, async () => {
      checkClaim(worker, options);
      if (options.agents && options.agents.length === 0) return [];
      const now = Date.now();
      const values = [worker, Math.ceil(now + options.leaseMs), now, options.limit, options.agents ? [...options.agents] : null];
      const { rows } = await this.#pool.query(this.#sql.claim.with(values));
      return (rows as RunRow[]).map(toRunRecord).sort((a, b) => a.createdAt - b.createdAt);
    });
  }

  async watchRunnable(listener: (runId: string) => void): Promise<() => Promise<void>> {
    return this.#use('Listening for runnable runs', () => this.#notifier.add(listener));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#notifier.close();
    if (!this.#owned) return;
    try {
      await this.#pool.end();
    } catch (e) {
      throw toPgStoreError(e, `Closing the PostgreSQL store at ${this.#where}`);
    }
  }

  /** Runs `fn` on an open store and turns anything untyped it throws into a store error. */
  async #use<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    if (this.#closed) throw new WardenError('STORE_UNAVAILABLE', `${what} failed: the PostgreSQL store at ${this.#where} is closed`);
    try {
      return await fn();
    } catch (e) {
      throw toPgStoreError(e, what);
    }
  }

  /** All or nothing on one pooled connection; a broken connection is dropped, not reused. */
  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    // A connection that dies while checked out emits 'error' on the client; unhandled, that
    // would end the process. Note it, let the query in flight reject, and drop the connection.
    const onError = (e: Error) => (broken = e);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      if (isConnectionError(e)) broken = e as Error;
      else await client.query('ROLLBACK').catch((r: Error) => (broken = r));
      throw e;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * The conditional update of a run row: `last_seq` moves only from `expectedSeq`, which both
   * checks the writer is current and locks the row for the rest of the transaction. On the fast
   * path the events are inserted by the same statement.
   */
  #patchRun(patch: RunPatch | undefined, withEvents: boolean): Statement {
    const first = withEvents ? 9 : 5;
    const { mask, sets } = patchClause(patch, first);
    const key = `${mask}:${withEvents}`;
    let s = this.#patches.get(key);
    if (!s) {
      const runs = `${this.#sql.schema}.runs`;
      const update = `UPDATE ${runs} SET last_seq = $3, updated_at = $4${sets} WHERE run_id = $1 AND last_seq = $2`;
      s = statement(
        withEvents
          ? `WITH h AS (${update} RETURNING run_id),
             e AS (INSERT INTO ${this.#sql.schema}.events (run_id, seq, type, at, v, data)
                   SELECT h.run_id, $2 + x.o, x.t, x.a, x.v, x.d FROM h, unnest($5::text[], $6::bigint[], $7::int[], $8::text[]) WITH ORDINALITY AS x(t, a, v, d, o))
             SELECT count(*)::int AS n FROM h`
          : `${update} RETURNING last_seq, root_run_id, agent, tenant`,
      );
      this.#patches.set(key, s);
    }
    return s;
  }

  /** The fast path's statement: the budget row, the run row and the events, all or nothing. */
  #patchRunWithBudget(patch: RunPatch | undefined): Statement {
    const { mask, sets, values } = patchClause(patch, 9);
    const key = `${mask}:budget`;
    let s = this.#patches.get(key);
    if (!s) {
      const S = this.#sql.schema;
      const p = 9 + values.length; // root, settled reserved, settled actual, newly reserved
      const reservedAfter = `GREATEST(reserved_nano - $${p + 1}::bigint, 0) + $${p + 3}::bigint`;
      s = statement(
        `WITH b AS (UPDATE ${S}.budgets SET reserved_nano = ${reservedAfter}, spent_nano = spent_nano + $${p + 2}::bigint
                    WHERE root_run_id = $${p} AND root_run_id = (SELECT root_run_id FROM ${S}.runs WHERE run_id = $1)
                      AND ($${p + 3}::bigint = 0 OR spent_nano + $${p + 2}::bigint + ${reservedAfter} <= ceiling_nano)
                    RETURNING 1),
              h AS (UPDATE ${S}.runs SET last_seq = $3, updated_at = $4${sets} WHERE run_id = $1 AND last_seq = $2 RETURNING run_id),
              e AS (INSERT INTO ${S}.events (run_id, seq, type, at, v, data)
                    SELECT h.run_id, $2 + x.o, x.t, x.a, x.v, x.d FROM h, unnest($5::text[], $6::bigint[], $7::int[], $8::text[]) WITH ORDINALITY AS x(t, a, v, d, o))
         -- Divides by zero (aborting every change above) unless both the budget and the run row moved.
         SELECT (SELECT count(*) FROM h)::int / ((SELECT count(*) FROM h)::int * (SELECT count(*) FROM b)::int) AS n`,
      );
      this.#patches.set(key, s);
    }
    return s;
  }

  #patchValues(batch: Pick<CommitBatch, 'runId' | 'expectedSeq' | 'events' | 'run'>, newSeq: number, withEvents: boolean): unknown[] {
    const values: unknown[] = [batch.runId, batch.expectedSeq, newSeq, Date.now()];
    if (withEvents) values.push(...eventColumns(batch.events));
    values.push(...patchClause(batch.run, 0).values);
    return values;
  }

  /** Called when a run row's conditional update matched nothing: unknown run, or a stale writer. */
  async #explainStale(db: Queryable, runId: string, expectedSeq: number): Promise<never> {
    const row = (await db.query(this.#sql.lastSeq.with([runId]))).rows[0] as { last_seq: number } | undefined;
    if (!row) throw noSuchRun(runId);
    throw staleWriter(runId, expectedSeq, row.last_seq);
  }

  async #insertEvents(c: pg.PoolClient, runId: string, lastSeq: number, events: readonly AnyNewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await c.query(this.#sql.insertEvents.with([runId, lastSeq, ...eventColumns(events)]));
  }

  async #applyBudgetOp(c: pg.PoolClient, runId: string, head: RunHeadRow, op: BudgetOp): Promise<void> {
    // A run spends only against its own root's budget: that is what makes the ceiling per request.
    if (op.rootRunId !== head.root_run_id) throw foreignBudget(runId, head.root_run_id, op);
    if (op.kind === 'settle') {
      // Never refused: the money is already spent, and the runtime never settles above what it reserved.
      const { rowCount } = await c.query(this.#sql.settle.with([op.reservedNano, op.actualNano, op.rootRunId]));
      if (rowCount === 0) throw missingBudget(runId, op.rootRunId);
      return;
    }
    // Lock the budget row first, so the figures a refusal reports are the ones it was decided on
    // (a concurrent settle cannot slip in between the check and the message).
    const row = (await c.query(this.#sql.lockBudget.with([op.rootRunId]))).rows[0] as BudgetRow | undefined;
    if (!row) throw missingBudget(runId, op.rootRunId);
    if (row.spent_nano + row.reserved_nano + op.amountNano > row.ceiling_nano) throw budgetExceeded(runId, op.amountNano, toBudgetRecord(row));
    await c.query(this.#sql.reserve.with([op.amountNano, op.rootRunId]));
  }

  async #insertIntervention(c: pg.PoolClient, runId: string, head: RunHeadRow, i: NewIntervention): Promise<void> {
    const args = i.args === undefined ? null : encodeJson(i.args, `The args of intervention ${i.id}`);
    const evidence = encodeJson(i.evidence ?? {}, `The evidence of intervention ${i.id}`);
    await c.query(
      this.#sql.insertIntervention.with([i.id, runId, head.agent, head.tenant, i.kind, i.callId, i.tool, args, i.argsHash, i.reason, evidence, i.requestedAt]),
    );
  }
}

/** Events as four parallel arrays, inserted with one `unnest`. */
function eventColumns(events: readonly AnyNewEvent[]): [string[], number[], number[], string[]] {
  return [events.map((e) => e.type), events.map((e) => e.at), events.map((e) => e.v), events.map((e) => encodeJson(e.data, `The data of ${e.type} event`))];
}

/** A WHERE clause built from the filters a listing uses, with numbered placeholders. */
class Conditions {
  readonly values: unknown[] = [];
  readonly #parts: string[] = [];

  eq(column: string, value: string | undefined): void {
    if (value !== undefined) this.add(`${column} = ?`, value);
  }

  add(condition: string, value: unknown): void {
    this.#parts.push(condition.replace('?', this.param(value)));
  }

  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  clause(): string {
    return this.#parts.length === 0 ? '' : `WHERE ${this.#parts.join(' AND ')}`;
  }
}
