import type pg from 'pg';
import { WardenError } from '../../core/errors.ts';
import { checkHistory, type AppliedMigration, type Migration, type MigrationReport } from '../migration-history.ts';
import { PG_TYPES, quoteSchema } from './connection.ts';

/**
 * The PostgreSQL schema, as an ordered list of named migrations (the same idea, and the same
 * columns, as the SQLite list; `docs/store.md` documents them). A released migration never
 * changes. Each runs with `search_path` set to the store's schema, so names are unqualified.
 *
 * Money (nano-USD) and times (ms) are `bigint`; `ord` is an insertion counter that breaks ties
 * between rows created in the same millisecond, as SQLite's rowid does.
 */
export const PG_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 1,
    name: 'create-runs-events-budgets-interventions',
    up: `
      CREATE TABLE runs (
        run_id           text PRIMARY KEY,
        ord              bigint GENERATED ALWAYS AS IDENTITY,
        agent            text NOT NULL,
        tenant           text NOT NULL,
        status           text NOT NULL,
        stop_reason      text,
        parent_run_id    text,
        root_run_id      text NOT NULL,
        input            text NOT NULL,
        output           text,
        error            text,
        cost_nano        bigint NOT NULL DEFAULT 0,
        steps            integer NOT NULL DEFAULT 0,
        tool_calls       integer NOT NULL DEFAULT 0,
        last_seq         integer NOT NULL,
        created_at       bigint NOT NULL,
        updated_at       bigint NOT NULL,
        lease_owner      text,
        lease_expires_at bigint
      );
      CREATE INDEX runs_by_created ON runs (created_at, ord);
      CREATE INDEX runs_by_status ON runs (status, created_at, ord);
      CREATE INDEX runs_by_agent ON runs (agent, created_at, ord);
      CREATE INDEX runs_by_tenant ON runs (tenant, created_at, ord);
      CREATE INDEX runs_by_root ON runs (root_run_id);

      -- The append-only log; data is the payload as JSON text, given back byte for byte.
      CREATE TABLE events (
        run_id text NOT NULL REFERENCES runs (run_id),
        seq    integer NOT NULL,
        type   text NOT NULL,
        at     bigint NOT NULL,
        v      integer NOT NULL,
        data   text NOT NULL,
        PRIMARY KEY (run_id, seq)
      );

      CREATE TABLE budgets (
        root_run_id   text PRIMARY KEY REFERENCES runs (run_id),
        ceiling_nano  bigint NOT NULL CHECK (ceiling_nano >= 0),
        spent_nano    bigint NOT NULL DEFAULT 0 CHECK (spent_nano >= 0),
        reserved_nano bigint NOT NULL DEFAULT 0 CHECK (reserved_nano >= 0)
      );

      CREATE TABLE interventions (
        id              text PRIMARY KEY,
        ord             bigint GENERATED ALWAYS AS IDENTITY,
        run_id          text NOT NULL REFERENCES runs (run_id),
        agent           text NOT NULL,
        tenant          text NOT NULL,
        kind            text NOT NULL,
        status          text NOT NULL,
        call_id         text,
        tool            text,
        args            text,
        args_hash       text,
        reason          text NOT NULL,
        evidence        text NOT NULL,
        requested_at    bigint NOT NULL,
        decided_at      bigint,
        decided_by      text,
        decision_reason text
      );
      CREATE INDEX interventions_by_status ON interventions (status, requested_at, ord);
      CREATE INDEX interventions_by_run ON interventions (run_id);
    `,
  },
  {
    id: 2,
    name: 'index-claimable-runs',
    up: `
      -- Workers claim root runs that are queued or were running (orphaned), oldest first.
      CREATE INDEX runs_claimable ON runs (created_at, ord) WHERE status IN ('queued', 'running') AND parent_run_id IS NULL;
    `,
  },
  {
    id: 3,
    name: 'create-entity-locks',
    up: `
      -- Entity locks (a tool's lockKey): calls with the same key never overlap, across workers.
      CREATE TABLE entity_locks (
        lock_key   text PRIMARY KEY,
        holder     text NOT NULL,
        expires_at bigint NOT NULL
      );
    `,
  },
  {
    id: 4,
    name: 'add-run-mode',
    up: `
      -- live, or shadow (write and delete calls recorded, not made); copied from run.submitted.
      ALTER TABLE runs ADD COLUMN mode text NOT NULL DEFAULT 'live';
    `,
  },
  {
    id: 5,
    name: 'create-coordination-tables',
    up: `
      -- Shared scheduler state (rate-limit buckets, breakers, the retry window). UNLOGGED: fast,
      -- and after a database crash they start afresh, which only resets counters.
      CREATE UNLOGGED TABLE coord_buckets (key text PRIMARY KEY, data text NOT NULL);
      CREATE UNLOGGED TABLE coord_breakers (key text PRIMARY KEY, data text NOT NULL);
      CREATE UNLOGGED TABLE coord_windows (
        key          text NOT NULL,
        bucket_start bigint NOT NULL,
        calls        bigint NOT NULL DEFAULT 0,
        retries      bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (key, bucket_start)
      );
    `,
  },
  {
    id: 6,
    name: 'create-records',
    up: `
      -- Small records by namespace: API keys (by hash), kill switches, idempotency keys.
      CREATE TABLE records (
        ns         text NOT NULL,
        key        text NOT NULL,
        value      text NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (ns, key)
      );
    `,
  },
  {
    id: 7,
    name: 'create-webhooks',
    up: `
      -- Endpoints that hear about runs: events is a comma-separated list of event types.
      CREATE TABLE webhook_endpoints (
        id         text PRIMARY KEY,
        url        text NOT NULL,
        secret     text NOT NULL,
        events     text NOT NULL,
        format     text NOT NULL DEFAULT 'standard',
        enabled    boolean NOT NULL DEFAULT true,
        created_at bigint NOT NULL
      );
      -- The outbox: one row per message to one endpoint, queued with the commit that caused it.
      -- next_attempt_at is NULL once delivered or given up; a claim moves it ahead as a lease.
      CREATE TABLE webhook_outbox (
        id              text PRIMARY KEY,
        endpoint_id     text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        type            text NOT NULL,
        payload         text NOT NULL,
        attempts        bigint NOT NULL DEFAULT 0,
        next_attempt_at bigint,
        delivered_at    bigint,
        last_error      text,
        last_status     bigint,
        created_at      bigint NOT NULL
      );
      CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
      CREATE INDEX webhook_outbox_by_endpoint ON webhook_outbox (endpoint_id, created_at);
    `,
  },
  {
    id: 8,
    name: 'add-intervention-expiry',
    up: `
      -- An approval's deadline (ms since the epoch); NULL waits for a person without one.
      ALTER TABLE interventions ADD COLUMN expires_at bigint;
      -- The expiry sweep reads only pending interventions that have a deadline, soonest first.
      CREATE INDEX interventions_expiring ON interventions (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
    `,
  },
  {
    id: 9,
    name: 'index-ready-and-leased-runs',
    up: `
      -- Claims in O(batch), whatever the backlog (docs/store.md, "Claiming at any backlog"):
      -- runs_ready holds the root runs a worker may take now, by tenant and agent, oldest first,
      -- so a claim walks the distinct (tenant, agent) pairs and reads a few runs of each;
      -- runs_leased holds the ones leased out, by expiry, so lapsed leases are found without
      -- reading the queue. A heartbeat moves lease_expires_at only.
      -- Collation "C" (byte order) on purpose: the claim compares with it, so the planner can only
      -- answer "this pair's oldest ready runs" from runs_ready, never by walking runs_by_tenant
      -- through a tenant's finished runs.
      CREATE INDEX runs_ready ON runs (tenant COLLATE "C", agent COLLATE "C", created_at, ord)
        WHERE status IN ('queued', 'running') AND parent_run_id IS NULL AND lease_owner IS NULL;
      CREATE INDEX runs_leased ON runs (lease_expires_at)
        WHERE status IN ('queued', 'running') AND parent_run_id IS NULL AND lease_owner IS NOT NULL;
      DROP INDEX runs_claimable;
    `,
  },
  {
    id: 10,
    name: 'followed-runs',
    // Who follows which run live (SSE, the dashboard) from which process: a commit notifies only
    // while a row of its run is current. Unlogged: no WAL, and a crash empties it, which is
    // right (followers re-insert their rows within 10 s, polling meanwhile). PostgreSQL only.
    up: `
      CREATE UNLOGGED TABLE followed_runs (
        run_id   text NOT NULL,
        follower text NOT NULL,
        until    timestamptz NOT NULL,
        PRIMARY KEY (run_id, follower)
      );
    `,
  },
  {
    id: 11,
    name: 'runs-undo-phase',
    up: `
      -- Where an undo of the run stands (core/projection.ts UndoPhase), so \`runs list\` can say a run was undone.
      ALTER TABLE runs ADD COLUMN undo text NOT NULL DEFAULT 'none';
    `,
  },
  {
    id: 12,
    name: 'create-fleet-budgets',
    up: `
      -- One row per fleet budget window (createWarden's budgets): key = scope|window|window start (ms).
      -- Every reservation of a run the budget covers holds reserved_nano here in the commit's transaction.
      CREATE TABLE fleet_budgets (
        key           text PRIMARY KEY,
        limit_nano    bigint NOT NULL,
        spent_nano    bigint NOT NULL DEFAULT 0,
        reserved_nano bigint NOT NULL DEFAULT 0,
        -- The highest alertAt fraction already announced in this window (each fires once).
        alerted       double precision NOT NULL DEFAULT 0
      );
    `,
  },
  {
    id: 13,
    name: 'create-stored-budgets',
    up: `
      -- Fleet budgets set with \`warden budgets set\` or PUT /v1/budgets: every process on the store
      -- reads them (see docs/budgets.md); their windows' spend is kept in fleet_budgets like any other.
      CREATE TABLE stored_budgets (
        scope      text NOT NULL,
        budget_window text NOT NULL,
        limit_nano bigint NOT NULL,
        -- JSON array of fractions in (0, 1], ascending.
        alert_at   text NOT NULL DEFAULT '[]',
        updated_at bigint NOT NULL,
        PRIMARY KEY (scope, budget_window)
      );
    `,
  },
  {
    id: 14,
    name: 'partition-events-by-month-with-jsonb-payload',
    // docs/store.md, "Events: monthly partitions and a jsonb payload". Converts the events table in
    // place, in the migrating transaction: every row is copied once (a large store pays one full
    // write of its log here, with events locked from other writers until it commits).
    up: String.raw`
      -- The payload as jsonb, from the exact JSON text: \u0000 and unpaired surrogates, which
      -- JSON.stringify writes and jsonb refuses, become U+FFFD; everything else is parsed as is.
      -- Rows without a \u escape (nearly all) are cast directly.
      CREATE FUNCTION event_payload(data text) RETURNS jsonb LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
        SELECT CASE WHEN pg_catalog.strpos(data, '\u') = 0 THEN data::jsonb ELSE (
          SELECT pg_catalog.string_agg(CASE WHEN m.a[1] ~ '^\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})$' THEN '\ufffd' ELSE m.a[1] END, '' ORDER BY m.n)
          FROM pg_catalog.regexp_matches(data, '\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\.|[^\\]+', 'g') WITH ORDINALITY AS m(a, n)
        )::jsonb END
      $fn$;

      ALTER TABLE events RENAME TO events_unpartitioned;
      ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey;
      ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_run_id_fkey TO events_unpartitioned_run_id_fkey;

      -- Range-partitioned by at_time (UTC months, events_YYYY_MM; events_default takes the rest), so
      -- retention drops a month at once. A unique key must hold the partition key: (run_id, seq) is
      -- kept unique by the run row's last_seq, which every append moves under its row lock.
      CREATE TABLE events (
        run_id  text NOT NULL REFERENCES runs (run_id),
        seq     integer NOT NULL,
        type    text NOT NULL,
        at      bigint NOT NULL,
        v       integer NOT NULL,
        data    text NOT NULL,
        at_time timestamptz NOT NULL,
        payload jsonb GENERATED ALWAYS AS (event_payload(data)) STORED,
        PRIMARY KEY (run_id, seq, at_time)
      ) PARTITION BY RANGE (at_time);
      CREATE TABLE events_default PARTITION OF events DEFAULT;
      CREATE INDEX events_by_type_time ON events (type, at_time);

      -- A partition per month from the oldest event (at most ten years back) to three months ahead.
      DO $do$
      DECLARE
        first timestamp;
        month timestamp;
      BEGIN
        SELECT date_trunc('month', to_timestamp(min(at)::double precision / 1000) AT TIME ZONE 'UTC') INTO first FROM events_unpartitioned;
        first := greatest(least(coalesce(first, 'infinity'), date_trunc('month', now() AT TIME ZONE 'UTC')),
                          date_trunc('month', now() AT TIME ZONE 'UTC') - interval '119 months');
        FOR month IN SELECT generate_series(first, date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months', interval '1 month') LOOP
          EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
            'events_' || to_char(month, 'YYYY_MM'), month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
        END LOOP;
      END
      $do$;

      INSERT INTO events (run_id, seq, type, at, v, data, at_time)
        SELECT run_id, seq, type, at, v, data, to_timestamp(at::double precision / 1000) FROM events_unpartitioned;
      DROP TABLE events_unpartitioned;
    `,
  },
  {
    id: 15,
    name: 'create-conversations',
    up: `
      -- One row per conversation: its turns are runs (runs.conversation_id, runs.turn from 1), and
      -- every reservation of a turn (and its children) is held here too, against ceiling_nano.
      CREATE TABLE conversations (
        conversation_id text PRIMARY KEY,
        tenant          text NOT NULL,
        agent           text NOT NULL,
        status          text NOT NULL DEFAULT 'open',
        turns           integer NOT NULL DEFAULT 0,
        ceiling_nano    bigint,
        spent_nano      bigint NOT NULL DEFAULT 0,
        reserved_nano   bigint NOT NULL DEFAULT 0,
        created_at      bigint NOT NULL,
        updated_at      bigint NOT NULL
      );
      CREATE INDEX conversations_updated ON conversations (updated_at);
      ALTER TABLE runs ADD COLUMN conversation_id text;
      ALTER TABLE runs ADD COLUMN turn integer;
      CREATE UNIQUE INDEX runs_conversation_turn ON runs (conversation_id, turn) WHERE conversation_id IS NOT NULL;
    `,
  },
]);

/** Serializes migrations of one schema across processes (many workers may start at once). */
const LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('warden.migrate.' || $1))`;

/**
 * Brings `schema` up to date in one transaction, holding an advisory lock so concurrent callers
 * wait instead of racing; creates the schema if it is missing. Refuses a schema written by a
 * newer Warden (`STORE_UNAVAILABLE`) or with a different history (`STORE_CORRUPT`).
 *
 * `migrations` is the list to apply up to (a prefix of `PG_MIGRATIONS`: tests build an older store with it).
 *
 * @example
 * const { applied } = await migratePostgres(pool, 'warden');
 */
export async function migratePostgres(
  pool: pg.Pool,
  schema: string,
  now = Date.now(),
  migrations: readonly Migration[] = PG_MIGRATIONS,
): Promise<MigrationReport> {
  const s = quoteSchema(schema);
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (e: Error) => (broken = e); // a dropped connection must not end the process
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    try {
      await client.query(LOCK_SQL, [schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(`SET LOCAL search_path TO ${s}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
      const done = await readLedger(client, schema);
      checkHistory(done, migrations);
      const pending = migrations.slice(done.length);
      for (const m of pending) {
        await client.query(m.up);
        await client.query('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, now]);
      }
      await client.query('COMMIT');
      return { applied: [...pending], current: migrations.at(-1)?.id ?? 0 };
    } catch (e) {
      await client.query('ROLLBACK').catch((r: Error) => (broken = r));
      throw e;
    }
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * The migrations recorded in `schema`, oldest first; empty when it was never migrated.
 *
 * @example
 * (await appliedPostgresMigrations(pool, 'warden')).at(-1)?.id // the schema version
 */
export async function appliedPostgresMigrations(pool: pg.Pool | pg.PoolClient, schema: string): Promise<AppliedMigration[]> {
  const exists = await pool.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [schema, 'schema_migrations']);
  return exists.rowCount ? readLedger(pool, schema) : [];
}

/** Throws unless `schema` holds exactly this Warden's migrations (for stores opened without migrating). */
export async function checkPostgresCurrent(pool: pg.Pool, schema: string): Promise<void> {
  const done = await appliedPostgresMigrations(pool, schema);
  checkHistory(done, PG_MIGRATIONS);
  if (done.length < PG_MIGRATIONS.length) {
    throw new WardenError(
      'STORE_UNAVAILABLE',
      `The PostgreSQL schema "${schema}" is at migration ${done.length} of ${PG_MIGRATIONS.length}; run \`warden migrate\``,
    );
  }
}

async function readLedger(db: pg.Pool | pg.PoolClient, schema: string): Promise<AppliedMigration[]> {
  const { rows } = await db.query({ text: `SELECT id, name, applied_at FROM ${quoteSchema(schema)}.schema_migrations ORDER BY id`, types: PG_TYPES });
  return rows.map((r) => ({ id: Number(r.id), name: String(r.name), appliedAt: Number(r.applied_at) }));
}
