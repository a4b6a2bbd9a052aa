import pg from 'pg';
import { mustExist, WardenError } from '../../core/errors.ts';
import type { AnyNewEvent } from '../../core/events.ts';
import type { Coordinator } from '../../core/coordination.ts';
import type {
  CommitBatch,
  ExpiryCutoffs,
  ExternalAppendOptions,
  FollowOptions,
  NewIntervention,
  NewRun,
  RunFollow,
  RunPatch,
  RunWatcher,
  Store,
} from '../../core/ports/store.ts';
import {
  RUN_COLUMNS_WITHOUT_TEXT,
  runAsync,
  type CreateOutcome,
  type DeletedTrees,
  type Dialect,
  type InterventionQuery,
  type Op,
  type RunQuery,
  type Tx,
} from '../dialect.ts';
import {
  eventColumns,
  type BudgetRow,
  type ConversationRow,
  type FleetBudgetRow,
  type EventRow,
  type InterventionRow,
  type RunHeadRow,
  type RunRow,
  type StoredBudgetRow,
} from '../rows.ts';
import type { SummaryRow } from '../expiry-sql.ts';
import { SqlStore } from '../sql-store.ts';
import { dropExpiredPartitions, ensureEventPartitions } from './partitions.ts';
import { inTransaction, pgDeleteTrees, pgExpiredRoots, pgExpirySummary, pgTreeRuns } from './retention.ts';
import { FAILED_MESSAGE, type OutboxInsert, type WebhookEndpointRow, type WebhookOutboxRow } from '../webhook-rows.ts';
import { explainStale, fitsCeiling, isPlainCommit, netBudget } from '../write-steps.ts';
import { DEFAULT_SCHEMA, quoteSchema, redact, splitUrl } from './connection.ts';
import { checkPostgresCurrent, migratePostgres } from './migrations.ts';
import { commitsChannel, PgListener, runnableChannel, watchRunnable } from './notifier.ts';
import { PgRunFeed } from './run-feed.ts';
import { toPgStoreError } from './pg-errors.ts';
import { createPostgresCoordinator } from './coordinator.ts';
import { createCachedCoordinator } from './cached-coordinator.ts';
import { atTimeOf, patchClause, pgStatements, statement, type PgStatements, type Statement } from './statements.ts';

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
    new pg.Pool({
      connectionString: mustExist(fromUrl, 'the url of a store given no pool').url,
      max: (options.poolSize ?? 10) + 1,
      connectionTimeoutMillis: 10_000,
      // Generic plans: the claim's custom plan costs more to make (~2 ms) than to run (docs/store.md).
      options: '-c plan_cache_mode=force_generic_plan',
    });
  // An idle connection the server drops must not crash the process; the next query reconnects.
  if (owned) pool.on('error', () => {});
  const where = fromUrl ? redact(fromUrl.url) : 'the given pool';
  try {
    if (options.migrate === false) await checkPostgresCurrent(pool, schema);
    else {
      await migratePostgres(pool, schema);
      await ensureEventPartitions(pool, schema, quoteSchema(schema));
    }
  } catch (e) {
    if (owned) await pool.end().catch(() => {});
    throw toPgStoreError(e, `Opening the PostgreSQL store at ${where} (schema ${schema})`);
  }
  return new PostgresStore(new PostgresDialect(pool, owned, schema, where));
}

/** The shared store, plus the scheduler state only PostgreSQL shares across processes. */
class PostgresStore extends SqlStore {
  declare protected readonly dialect: PostgresDialect;

  /** Scheduler state shared by every worker on this database (cached locally, see `createCachedCoordinator`). */
  coordinator(): Coordinator {
    return createCachedCoordinator(createPostgresCoordinator(this.dialect.pool, this.dialect.sql.schema));
  }

  /** Notices of every process's commits to `runId` over `LISTEN/NOTIFY` (see `PgRunFeed`). */
  async followRun(runId: string, watcher: RunWatcher, options?: FollowOptions): Promise<RunFollow> {
    return this.use(`Following run ${runId}`, () => this.dialect.feed.follow(runId, watcher, options));
  }
}

type Queryable = pg.Pool | pg.PoolClient;

/** Run ids longer than this (bytes) are left out of commit notices, which NOTIFY caps at 8000 bytes. */
const MAX_NOTICE_RUN_ID_BYTES = 7_000;

/** A query as a step of a write: yields its promise, returns its result. */
function* query(db: Queryable, q: pg.QueryConfig): Op<pg.QueryResult> {
  return (yield db.query(q)) as pg.QueryResult;
}

/** PostgreSQL's SQL and connections: a pool, named statements, one round trip per common step. */
class PostgresDialect implements Dialect {
  readonly kind = 'postgres' as const;
  readonly where: string;
  readonly pool: pg.Pool;
  /** The schema's bare name (`sql.schema` is quoted). */
  readonly schemaName: string;
  readonly sql: PgStatements;
  readonly #owned: boolean;
  /** The `LISTEN/NOTIFY` channel of this schema's runnable runs. */
  readonly channel: string;
  /** The one connection in `LISTEN`, for runnable runs and followed runs. */
  readonly listener: PgListener;
  readonly feed: PgRunFeed;
  readonly #commits: string;
  /** Run-row updates, one per combination of patched fields (and fast path or not). */
  readonly #patches = new Map<string, Statement>();
  /** The tenant this store's last claim ended on; the next claim starts after it. */
  #claimCursor = '';

  constructor(pool: pg.Pool, owned: boolean, schema: string, where: string) {
    this.pool = pool;
    this.schemaName = schema;
    this.#owned = owned;
    this.where = `the PostgreSQL store at ${where} (schema ${schema})`;
    this.channel = runnableChannel(schema);
    this.sql = pgStatements(schema);
    const commits = commitsChannel(schema);
    this.listener = new PgListener(pool, [this.channel, commits]);
    this.feed = new PgRunFeed(pool, this.listener, this.sql.schema, commits);
    this.#commits = commits;
  }

  toStoreError = toPgStoreError;

  async createRun(run: NewRun, mode: string, submittedData: string): Promise<CreateOutcome> {
    const isRoot = run.runId === run.rootRunId;
    const e = run.submitted;
    const values = [
      run.runId,
      run.agent,
      run.tenant,
      run.status,
      run.parentRunId,
      run.rootRunId,
      run.input,
      run.createdAt,
      isRoot,
      isRoot ? run.ceilingNano : 0,
    ];
    values.push(e.type, e.at, e.v, submittedData, this.channel, mode, run.conversation?.conversationId ?? null, run.conversation?.turn ?? null);
    try {
      if (run.conversation) return await this.#withTx((tx) => tx.createTurn(run, values));
      const { rows } = await this.pool.query(this.sql.createRun.with(values));
      return rows[0].inserted === 0 ? 'no-root-budget' : 'created';
    } catch (err) {
      if (err instanceof TurnRefusal) return err.outcome;
      if ((err as { code?: string }).code === '23505') return 'exists';
      throw err;
    }
  }

  /** The statement notifies (`pg_notify`), across processes. */
  announce(_runId: string): void {}

  async commit(batch: CommitBatch, step: (tx: Tx) => Op<void>): Promise<void> {
    const newSeq = batch.expectedSeq + batch.events.length;
    if (isPlainCommit(batch)) {
      // One statement, so one round trip: the run row's conditional update and the events.
      const { rows } = await this.pool.query(this.patchRun(batch.run, true).with(this.patchValues(batch, newSeq, true)));
      if (rows[0].n === 0) await runAsync(explainStale(new PgTx(this, this.pool), batch.runId, batch.expectedSeq));
      return;
    }
    const net = netBudget(batch);
    if (net) {
      // Settles then reserves on one root (the usual step): one statement that either lands whole
      // or fails whole. A stale writer, a refused reservation or a foreign root aborts it, and the
      // locked path below decides which, with the exact figures.
      try {
        await this.pool.query(
          this.#patchRunWithBudget(batch.run).with([...this.patchValues(batch, newSeq, true), net.root, net.settledReserved, net.settledActual, net.reserved]),
        );
        return;
      } catch (e) {
        if ((e as { code?: string }).code !== '22012') throw e;
      }
    }
    await this.transaction(step);
  }

  /** All or nothing on one pooled connection; a broken connection is dropped, not reused. */
  transaction<T>(step: (tx: Tx) => Op<T>): Promise<T> {
    return this.#withTx(step);
  }

  async #withTx<T>(step: (tx: PgTx) => Op<T>): Promise<T> {
    return inTransaction(this.pool, (client) => runAsync(step(new PgTx(this, client))));
  }

  /**
   * The conditional update of a run row: `last_seq` moves only from `expectedSeq`, which both
   * checks the writer is current and locks the row for the rest of the transaction. On the fast
   * path the events are inserted by the same statement. It notifies the commit (`notice`) to
   * followers of the run (a step), or always (an external append: a decision or a cancel).
   */
  patchRun(patch: RunPatch | undefined, withEvents: boolean, notice: 'followed' | 'always' = 'followed'): Statement {
    const first = withEvents ? 9 : 5;
    const { mask, sets } = patchClause(patch, first);
    const key = `${mask}:${withEvents}:${notice}`;
    let s = this.#patches.get(key);
    if (!s) {
      const runs = `${this.sql.schema}.runs`;
      const update = `UPDATE ${runs} SET last_seq = $3, updated_at = $4${sets} WHERE run_id = $1 AND last_seq = $2`;
      s = statement(
        withEvents
          ? `WITH h AS (${update} RETURNING run_id),
             e AS (INSERT INTO ${this.sql.schema}.events (run_id, seq, type, at, v, data, at_time)
                   SELECT h.run_id, $2 + x.o, x.t, x.a, x.v, x.d, ${atTimeOf('x.a')} FROM h, unnest($5::text[], $6::bigint[], $7::int[], $8::text[]) WITH ORDINALITY AS x(t, a, v, d, o)),
             nt AS (${this.#notice(notice)})
             SELECT count(*)::int AS n, (SELECT count(*) FROM nt) AS notified FROM h`
          : `WITH h AS (${update} RETURNING run_id, last_seq, root_run_id, agent, tenant),
             nt AS (${this.#notice(notice)})
             SELECT last_seq, root_run_id, agent, tenant, (SELECT count(*) FROM nt) AS notified FROM h`,
      );
      this.#patches.set(key, s);
    }
    return s;
  }

  /**
   * The `pg_notify` of a commit, from the run row it moved (`h`) and its new seq (`$3`): one
   * notice per run per transaction, `<seq> <runId>` (a bare `<seq>` for a run id too long for
   * NOTIFY's 8000-byte payload). With `followed`, only while someone follows the run: NOTIFY
   * serializes the commits that use it, so unfollowed runs must not pay for it.
   */
  #notice(who: 'followed' | 'always'): string {
    const payload = `CASE WHEN octet_length(h.run_id) <= ${MAX_NOTICE_RUN_ID_BYTES} THEN $3::text || ' ' || h.run_id ELSE $3::text END`;
    const followed = ` WHERE EXISTS (SELECT 1 FROM ${this.sql.schema}.followed_runs f WHERE f.run_id = h.run_id AND f.until > now())`;
    return `SELECT pg_notify('${this.#commits}', ${payload}) FROM h${who === 'followed' ? followed : ''}`;
  }

  /** The fast path's statement: the budget row, the run row and the events, all or nothing. */
  #patchRunWithBudget(patch: RunPatch | undefined): Statement {
    const { mask, sets, values } = patchClause(patch, 9);
    const key = `${mask}:budget`;
    let s = this.#patches.get(key);
    if (!s) {
      const S = this.sql.schema;
      const p = 9 + values.length; // root, settled reserved, settled actual, newly reserved
      const reservedAfter = `GREATEST(reserved_nano - $${p + 1}::bigint, 0) + $${p + 3}::bigint`;
      s = statement(
        `WITH b AS (UPDATE ${S}.budgets SET reserved_nano = ${reservedAfter}, spent_nano = spent_nano + $${p + 2}::bigint
                    WHERE root_run_id = $${p} AND root_run_id = (SELECT root_run_id FROM ${S}.runs WHERE run_id = $1)
                      AND ($${p + 3}::bigint = 0 OR spent_nano + $${p + 2}::bigint + ${reservedAfter} <= ceiling_nano)
                    RETURNING 1),
              h AS (UPDATE ${S}.runs SET last_seq = $3, updated_at = $4${sets} WHERE run_id = $1 AND last_seq = $2 RETURNING run_id),
              e AS (INSERT INTO ${S}.events (run_id, seq, type, at, v, data, at_time)
                    SELECT h.run_id, $2 + x.o, x.t, x.a, x.v, x.d, ${atTimeOf('x.a')} FROM h, unnest($5::text[], $6::bigint[], $7::int[], $8::text[]) WITH ORDINALITY AS x(t, a, v, d, o)),
              nt AS (${this.#notice('followed')})
         -- Divides by zero (aborting every change above) unless both the budget and the run row moved.
         SELECT (SELECT count(*) FROM h)::int / ((SELECT count(*) FROM h)::int * (SELECT count(*) FROM b)::int) AS n, (SELECT count(*) FROM nt) AS notified`,
      );
      this.#patches.set(key, s);
    }
    return s;
  }

  patchValues(batch: Pick<CommitBatch, 'runId' | 'expectedSeq' | 'events' | 'run'>, newSeq: number, withEvents: boolean, updatedAt = Date.now()): unknown[] {
    const values: unknown[] = [batch.runId, batch.expectedSeq, newSeq, updatedAt];
    if (withEvents) values.push(...eventColumns(batch.events));
    values.push(...patchClause(batch.run, 0).values);
    return values;
  }

  async events(runId: string, afterSeq: number): Promise<EventRow[]> {
    return (await this.pool.query(this.sql.events.with([runId, afterSeq]))).rows as EventRow[];
  }

  async run(runId: string): Promise<RunRow | undefined> {
    return (await this.pool.query(this.sql.run.with([runId]))).rows[0] as RunRow | undefined;
  }

  async runs(q: RunQuery): Promise<RunRow[]> {
    const where = new Conditions();
    for (const [column, value] of q.equals) where.eq(column, value);
    if (q.statusIn) where.add('status = ANY(?::text[])', q.statusIn);
    if (q.since !== undefined) where.add('created_at >= ?', q.since);
    const limit = where.param(q.limit);
    // ord breaks ties between runs created in the same millisecond: the later insert first.
    const columns = q.withoutText ? RUN_COLUMNS_WITHOUT_TEXT : '*';
    const text = `SELECT ${columns} FROM ${this.sql.schema}.runs ${where.clause()} ORDER BY created_at DESC, ord DESC LIMIT ${limit}`;
    return (await this.pool.query(statement(text).with(where.values))).rows as RunRow[];
  }

  async budget(rootRunId: string): Promise<BudgetRow | undefined> {
    return (await this.pool.query(this.sql.budget.with([rootRunId]))).rows[0] as BudgetRow | undefined;
  }

  async claimFleetAlert(key: string, threshold: number): Promise<boolean> {
    return ((await this.pool.query(this.sql.claimFleetAlert.with([threshold, key]))).rowCount ?? 0) > 0;
  }

  async storedBudgets(): Promise<StoredBudgetRow[]> {
    return (await this.pool.query(this.sql.storedBudgets.with([]))).rows as StoredBudgetRow[];
  }

  async putStoredBudget(scope: string, window: string, limitNano: number, alertAt: string, updatedAt: number): Promise<void> {
    await this.pool.query(this.sql.putStoredBudget.with([scope, window, limitNano, alertAt, updatedAt]));
  }

  async removeStoredBudgets(scope: string, window: string | undefined): Promise<number> {
    const result = await this.pool.query(window === undefined ? this.sql.removeStoredBudgets.with([scope]) : this.sql.removeStoredBudget.with([scope, window]));
    return result.rowCount ?? 0;
  }

  async fleetBudgets(keys: readonly string[]): Promise<FleetBudgetRow[]> {
    if (keys.length === 0) return [];
    return (await this.pool.query(this.sql.fleetBudgets.with([[...keys]]))).rows as FleetBudgetRow[];
  }

  async conversation(conversationId: string): Promise<ConversationRow | undefined> {
    return (await this.pool.query(this.sql.conversation.with([conversationId]))).rows[0] as ConversationRow | undefined;
  }

  async conversations(q: { equals: [string, string][]; limit: number }): Promise<ConversationRow[]> {
    const where = new Conditions();
    for (const [column, value] of q.equals) where.eq(column, value);
    const limit = where.param(q.limit);
    const text = `SELECT * FROM ${this.sql.schema}.conversations ${where.clause()} ORDER BY updated_at DESC, conversation_id LIMIT ${limit}`;
    return (await this.pool.query(statement(text).with(where.values))).rows as ConversationRow[];
  }

  async closeConversation(conversationId: string, at: number): Promise<boolean> {
    return ((await this.pool.query(this.sql.closeConversation.with([conversationId, at]))).rowCount ?? 0) > 0;
  }

  async intervention(id: string): Promise<InterventionRow | undefined> {
    return (await this.pool.query(this.sql.intervention.with([id]))).rows[0] as InterventionRow | undefined;
  }

  async interventions(q: InterventionQuery): Promise<InterventionRow[]> {
    const where = new Conditions();
    for (const [column, value] of q.equals) where.eq(column, value);
    if (q.since !== undefined) where.add('requested_at >= ?', q.since);
    if (q.expiresBy !== undefined) where.add('expires_at <= ?', q.expiresBy);
    const limit = where.param(q.limit);
    const text = `SELECT * FROM ${this.sql.schema}.interventions ${where.clause()} ORDER BY requested_at, ord LIMIT ${limit}`;
    return (await this.pool.query(statement(text).with(where.values))).rows as InterventionRow[];
  }

  async acquireLease(runId: string, owner: string, expiresAt: number, force: boolean, now: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(this.sql.acquireLease.with([owner, expiresAt, runId, force, now]));
    return (rowCount ?? 0) > 0;
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    await this.pool.query(this.sql.releaseLease.with([runId, owner]));
  }

  async renewLease(runId: string, owner: string, expiresAt: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(this.sql.renewLease.with([expiresAt, runId, owner]));
    return (rowCount ?? 0) > 0;
  }

  async claim(worker: string, expiresAt: number, now: number, limit: number, agents: readonly string[] | null): Promise<RunRow[]> {
    const { rows } = await this.pool.query(this.sql.claim.with([worker, expiresAt, now, limit, agents ? [...agents] : null, this.#claimCursor]));
    // The next claim starts with the tenant after the last one served (this process's round-robin).
    let turn = 0;
    for (const row of rows as (RunRow & { claim_turn: number })[]) {
      if (row.claim_turn > turn) {
        turn = row.claim_turn;
        this.#claimCursor = row.tenant;
      }
    }
    return rows as RunRow[];
  }

  watch(listener: (runId: string) => void): Promise<() => Promise<void>> {
    return watchRunnable(this.listener, this.channel, listener);
  }

  async acquireLock(key: string, holder: string, expiresAt: number, force: boolean, now: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(this.sql.acquireLock.with([key, holder, expiresAt, force, now]));
    return (rowCount ?? 0) > 0;
  }

  async lock(key: string): Promise<{ holder: string; expires_at: string | number } | undefined> {
    return (await this.pool.query(this.sql.lock.with([key]))).rows[0];
  }

  async releaseLock(key: string, holder: string): Promise<void> {
    await this.pool.query(this.sql.releaseLock.with([key, holder]));
  }

  async getRecord(ns: string, key: string): Promise<string | undefined> {
    const { rows } = await this.pool.query(`SELECT value FROM ${this.sql.schema}.records WHERE ns = $1 AND key = $2`, [ns, key]);
    return rows.length ? (rows[0].value as string) : undefined;
  }

  async putRecord(ns: string, key: string, value: string, updatedAt: number, ifAbsent: boolean): Promise<boolean> {
    const s = this.sql.schema;
    const onConflict = ifAbsent ? 'DO NOTHING' : 'DO UPDATE SET value = $3, updated_at = $4';
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${s}.records (ns, key, value, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (ns, key) ${onConflict}`,
      [ns, key, value, updatedAt],
    );
    return (rowCount ?? 0) > 0;
  }

  async listRecords(ns: string): Promise<{ key: string; value: string }[]> {
    return (await this.pool.query(`SELECT key, value FROM ${this.sql.schema}.records WHERE ns = $1 ORDER BY key`, [ns])).rows;
  }

  async deleteRecord(ns: string, key: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`DELETE FROM ${this.sql.schema}.records WHERE ns = $1 AND key = $2`, [ns, key]);
    return (rowCount ?? 0) > 0;
  }

  async addWebhookEndpoint(r: WebhookEndpointRow): Promise<boolean> {
    const text = `INSERT INTO ${this.sql.schema}.webhook_endpoints (id, url, secret, events, format, enabled, created_at)
                  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`;
    const { rowCount } = await this.pool.query(statement(text).with([r.id, r.url, r.secret, r.events, r.format, Boolean(r.enabled), r.created_at]));
    return (rowCount ?? 0) > 0;
  }

  async webhookEndpoints(): Promise<WebhookEndpointRow[]> {
    return (await this.pool.query(statement(`SELECT * FROM ${this.sql.schema}.webhook_endpoints ORDER BY created_at, id`).with([]))).rows;
  }

  async removeWebhookEndpoint(id: string): Promise<boolean> {
    // Its queued messages go with it (ON DELETE CASCADE).
    const { rowCount } = await this.pool.query(statement(`DELETE FROM ${this.sql.schema}.webhook_endpoints WHERE id = $1`).with([id]));
    return (rowCount ?? 0) > 0;
  }

  async claimWebhookMessages(now: number, leaseUntil: number, limit: number): Promise<WebhookOutboxRow[]> {
    // SKIP LOCKED: concurrent deliverers take disjoint rows; the moved next_attempt_at is the lease.
    const o = `${this.sql.schema}.webhook_outbox`;
    const text = `UPDATE ${o} SET next_attempt_at = $2, attempts = attempts + 1
        WHERE id IN (SELECT id FROM ${o} WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1
                     ORDER BY next_attempt_at, created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING *`;
    return (await this.pool.query(statement(text).with([now, leaseUntil, limit]))).rows;
  }

  async recordWebhookAttempt(id: string, deliveredAt: number | null, nextAttemptAt: number | null, status: number | null, error: string | null): Promise<void> {
    const text = `UPDATE ${this.sql.schema}.webhook_outbox SET delivered_at = $2, next_attempt_at = $3, last_status = $4, last_error = $5 WHERE id = $1`;
    await this.pool.query(statement(text).with([id, deliveredAt, nextAttemptAt, status, error]));
  }

  async settledWebhookMessages(before: number, remove: boolean, limit: number): Promise<number> {
    const t = `${this.sql.schema}.webhook_outbox`;
    if (!remove) {
      const { rows } = await this.pool.query(statement(`SELECT count(*)::int AS n FROM ${t} WHERE next_attempt_at IS NULL AND created_at < $1`).with([before]));
      return rows[0]?.n ?? 0;
    }
    const text = `DELETE FROM ${t} WHERE id IN (
        SELECT id FROM ${t} WHERE next_attempt_at IS NULL AND created_at < $1 ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)`;
    return (await this.pool.query(statement(text).with([before, limit]))).rowCount ?? 0;
  }

  async webhookMessages(endpointId: string | null, pending: boolean | null, failed: boolean | null, limit: number): Promise<WebhookOutboxRow[]> {
    const where = new Conditions();
    where.eq('endpoint_id', endpointId ?? undefined);
    if (pending !== null) where.add(`(next_attempt_at IS NOT NULL) = ?::boolean`, pending);
    if (failed !== null) where.add(`(${FAILED_MESSAGE}) = ?::boolean`, failed);
    const limitParam = where.param(limit);
    const text = `SELECT * FROM ${this.sql.schema}.webhook_outbox ${where.clause()} ORDER BY created_at DESC, id DESC LIMIT ${limitParam}`;
    return (await this.pool.query(statement(text).with(where.values))).rows;
  }

  expirySummary(cutoffs: ExpiryCutoffs): Promise<SummaryRow[]> {
    return pgExpirySummary(this.pool, this.sql.schema, cutoffs);
  }

  expiredRoots(cutoffs: ExpiryCutoffs, after: string, limit: number): Promise<{ run_id: string; tenant: string }[]> {
    return pgExpiredRoots(this.pool, this.sql.schema, cutoffs, after, limit);
  }

  treeRuns(rootRunIds: readonly string[]): Promise<{ run_id: string; root_run_id: string }[]> {
    return pgTreeRuns(this.pool, this.sql.schema, rootRunIds);
  }

  deleteTrees(cutoffs: ExpiryCutoffs, rootRunIds: readonly string[]): Promise<DeletedTrees> {
    return pgDeleteTrees(this.pool, this.sql.schema, cutoffs, rootRunIds);
  }

  /** Makes the coming months' partitions first, then drops the past months that hold only expired trees. */
  async dropExpiredPartitions(cutoffs: ExpiryCutoffs): Promise<DeletedTrees & { partitionsDropped: string[] }> {
    await ensureEventPartitions(this.pool, this.schemaName, this.sql.schema);
    return dropExpiredPartitions(this.pool, this.schemaName, this.sql.schema, cutoffs);
  }

  async close(): Promise<void> {
    this.feed.close();
    this.listener.close();
    if (!this.#owned) return;
    try {
      await this.pool.end();
    } catch (e) {
      throw toPgStoreError(e, `Closing ${this.where}`);
    }
  }
}

/** A conversation refused a turn: thrown inside the turn's transaction so that it rolls back. */
class TurnRefusal extends Error {
  readonly outcome: CreateOutcome;
  constructor(outcome: CreateOutcome) {
    super(outcome);
    this.outcome = outcome;
  }
}

/** The writes of one transaction on `db` (a checked-out client; the pool for a lone read). */
class PgTx implements Tx {
  readonly #d: PostgresDialect;
  readonly #db: Queryable;

  constructor(dialect: PostgresDialect, db: Queryable) {
    this.#d = dialect;
    this.#db = db;
  }

  *head(runId: string): Op<RunHeadRow | undefined> {
    return (yield* query(this.#db, this.#d.sql.lockRunHead.with([runId]))).rows[0] as RunHeadRow | undefined;
  }

  *advance(batch: CommitBatch, newSeq: number, updatedAt: number): Op<RunHeadRow | undefined> {
    const { rows } = yield* query(this.#db, this.#d.patchRun(batch.run, false).with(this.#d.patchValues(batch, newSeq, false, updatedAt)));
    return rows[0] as RunHeadRow | undefined;
  }

  *lastSeq(runId: string): Op<number | undefined> {
    return ((yield* query(this.#db, this.#d.sql.lastSeq.with([runId]))).rows[0] as { last_seq: number } | undefined)?.last_seq;
  }

  *patchRun(runId: string, lastSeq: number, newSeq: number, updatedAt: number, patch: RunPatch | undefined): Op<void> {
    const batch = { runId, expectedSeq: lastSeq, events: [], run: patch };
    yield* query(this.#db, this.#d.patchRun(patch, false, 'always').with(this.#d.patchValues(batch, newSeq, false, updatedAt)));
  }

  *insertEvents(runId: string, lastSeq: number, events: readonly AnyNewEvent[]): Op<void> {
    if (events.length === 0) return;
    yield* query(this.#db, this.#d.sql.insertEvents.with([runId, lastSeq, ...eventColumns(events)]));
  }

  *reserve(rootRunId: string, amountNano: number): Op<{ reserved: true } | { reserved: false; budget: BudgetRow | undefined }> {
    // Lock the budget row first, so the figures a refusal reports are the ones it was decided on
    // (a concurrent settle cannot slip in between the check and the message).
    const row = (yield* query(this.#db, this.#d.sql.lockBudget.with([rootRunId]))).rows[0] as BudgetRow | undefined;
    if (!row || !fitsCeiling(row, amountNano)) return { reserved: false, budget: row };
    yield* query(this.#db, this.#d.sql.reserve.with([amountNano, rootRunId]));
    return { reserved: true };
  }

  *settle(rootRunId: string, reservedNano: number, actualNano: number): Op<boolean> {
    return (yield* query(this.#db, this.#d.sql.settle.with([reservedNano, actualNano, rootRunId]))).rowCount !== 0;
  }

  *reserveFleet(key: string, limitNano: number, amountNano: number): Op<boolean> {
    yield* query(this.#db, this.#d.sql.openFleet.with([key, limitNano]));
    return (yield* query(this.#db, this.#d.sql.reserveFleet.with([amountNano, key, limitNano]))).rowCount !== 0;
  }

  *settleFleet(key: string, reservedNano: number, actualNano: number): Op<void> {
    yield* query(this.#db, this.#d.sql.settleFleet.with([reservedNano, actualNano, key]));
  }

  *reserveConversation(conversationId: string, amountNano: number): Op<{ reserved: true } | { reserved: false; row: ConversationRow | undefined }> {
    if ((yield* query(this.#db, this.#d.sql.reserveConversation.with([amountNano, conversationId]))).rowCount !== 0) return { reserved: true };
    return { reserved: false, row: (yield* query(this.#db, this.#d.sql.conversation.with([conversationId]))).rows[0] as ConversationRow | undefined };
  }

  *settleConversation(conversationId: string, reservedNano: number, actualNano: number): Op<void> {
    yield* query(this.#db, this.#d.sql.settleConversation.with([reservedNano, actualNano, conversationId, Date.now()]));
  }

  /**
   * Makes a root run the next turn of its conversation: the conversation's row (created with its
   * first turn) is locked, checked and moved on, and the run created, in this one transaction.
   */
  *createTurn(run: NewRun, createValues: unknown[]): Op<CreateOutcome> {
    const turn = mustExist(run.conversation, 'the turn of a conversation run');
    const sql = this.#d.sql;
    yield* query(this.#db, sql.openConversation.with([turn.conversationId, run.tenant, run.agent, turn.ceilingNano, run.createdAt]));
    const c = (yield* query(this.#db, sql.lockConversation.with([turn.conversationId]))).rows[0] as ConversationRow;
    // Thrown, not returned, so the transaction rolls back (a conversation opened for a refused turn included).
    if (c.tenant !== run.tenant || c.agent !== run.agent) throw new TurnRefusal('conversation-mismatch');
    if (c.status !== 'open') throw new TurnRefusal('conversation-closed');
    if (Number(c.turns) !== turn.turn - 1) throw new TurnRefusal('turn-taken');
    yield* query(this.#db, sql.nextTurn.with([turn.turn, turn.ceilingNano, run.createdAt, turn.conversationId]));
    const { rows } = yield* query(this.#db, sql.createRun.with(createValues));
    return rows[0].inserted === 0 ? 'no-root-budget' : 'created';
  }

  *insertIntervention(runId: string, head: RunHeadRow, i: NewIntervention, args: string | null, evidence: string): Op<void> {
    const values = [i.id, runId, head.agent, head.tenant, i.kind, i.callId, i.tool, args, i.argsHash, i.reason, evidence, i.requestedAt, i.expiresAt ?? null];
    yield* query(this.#db, this.#d.sql.insertIntervention.with(values));
  }

  *decide(runId: string, d: NonNullable<ExternalAppendOptions['intervention']>): Op<boolean> {
    return (yield* query(this.#db, this.#d.sql.decideIntervention.with([d.status, d.decidedBy, d.decisionReason, d.decidedAt, d.id, runId]))).rowCount !== 0;
  }

  *currentIntervention(id: string): Op<InterventionRow | undefined> {
    return (yield* query(this.#db, this.#d.sql.intervention.with([id]))).rows[0] as InterventionRow | undefined;
  }

  *notify(runId: string): Op<void> {
    yield* query(this.#db, this.#d.sql.notify.with([this.#d.channel, runId]));
  }

  *enqueueWebhooks(m: OutboxInsert): Op<number> {
    const S = this.#d.sql.schema;
    const text = `INSERT INTO ${S}.webhook_outbox (id, endpoint_id, type, payload, attempts, next_attempt_at, created_at)
       SELECT $1 || '.' || id, id, $2, $3, 0, $4, $4 FROM ${S}.webhook_endpoints
        WHERE enabled AND position(',' || $2 || ',' in ',' || events || ',') > 0
       ON CONFLICT (id) DO NOTHING`;
    return (yield* query(this.#db, statement(text).with([m.key, m.type, m.payload, m.now]))).rowCount ?? 0;
  }
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
