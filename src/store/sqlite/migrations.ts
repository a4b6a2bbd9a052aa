import type { DatabaseSync } from 'node:sqlite';
import { checkHistory, type AppliedMigration, type Migration, type MigrationReport } from '../migration-history.ts';

export type { AppliedMigration, Migration, MigrationReport } from '../migration-history.ts';

/**
 * The SQLite schema, as an ordered list of named migrations. A migration, once released, never
 * changes: a new column or index is a new entry at the end. `docs/store.md` documents every
 * persisted column (units, defaults, who writes it).
 *
 * Units everywhere: money is integer nano-USD (1 USD = 1e9), times are integer milliseconds since
 * the epoch, `seq` counts a run's events from 1. Tables are STRICT so a stray float or string
 * cannot slip into an integer column.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 1,
    name: 'create-runs-events-budgets-interventions',
    up: `
      -- One row per run: a projection of its event log, kept current by each commit.
      CREATE TABLE runs (
        run_id           TEXT PRIMARY KEY,
        agent            TEXT NOT NULL,
        tenant           TEXT NOT NULL,
        status           TEXT NOT NULL,
        stop_reason      TEXT,
        parent_run_id    TEXT,
        root_run_id      TEXT NOT NULL,
        input            TEXT NOT NULL,
        output           TEXT,
        error            TEXT,
        cost_nano        INTEGER NOT NULL DEFAULT 0,
        steps            INTEGER NOT NULL DEFAULT 0,
        tool_calls       INTEGER NOT NULL DEFAULT 0,
        last_seq         INTEGER NOT NULL,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        lease_owner      TEXT,
        lease_expires_at INTEGER
      ) STRICT;
      -- Listings are newest first (created_at DESC, rowid DESC); SQLite walks these ascending
      -- indexes backwards for that, with no sort step.
      CREATE INDEX runs_by_created ON runs (created_at);
      CREATE INDEX runs_by_status ON runs (status, created_at);
      CREATE INDEX runs_by_agent ON runs (agent, created_at);
      CREATE INDEX runs_by_tenant ON runs (tenant, created_at);
      CREATE INDEX runs_by_root ON runs (root_run_id);

      -- The append-only log. data is the payload as JSON text; v its schema version.
      CREATE TABLE events (
        run_id TEXT NOT NULL REFERENCES runs (run_id),
        seq    INTEGER NOT NULL,
        type   TEXT NOT NULL,
        at     INTEGER NOT NULL,
        v      INTEGER NOT NULL,
        data   TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) STRICT;

      -- One budget per root run, shared by its retries and child runs.
      CREATE TABLE budgets (
        root_run_id   TEXT PRIMARY KEY REFERENCES runs (run_id),
        ceiling_nano  INTEGER NOT NULL CHECK (ceiling_nano >= 0),
        spent_nano    INTEGER NOT NULL DEFAULT 0 CHECK (spent_nano >= 0),
        reserved_nano INTEGER NOT NULL DEFAULT 0 CHECK (reserved_nano >= 0)
      ) STRICT;

      -- Questions for a person: approvals and escalations.
      CREATE TABLE interventions (
        id              TEXT PRIMARY KEY,
        run_id          TEXT NOT NULL REFERENCES runs (run_id),
        agent           TEXT NOT NULL,
        tenant          TEXT NOT NULL,
        kind            TEXT NOT NULL,
        status          TEXT NOT NULL,
        call_id         TEXT,
        tool            TEXT,
        args            TEXT,
        args_hash       TEXT,
        reason          TEXT NOT NULL,
        evidence        TEXT NOT NULL,
        requested_at    INTEGER NOT NULL,
        decided_at      INTEGER,
        decided_by      TEXT,
        decision_reason TEXT
      ) STRICT;
      CREATE INDEX interventions_by_status ON interventions (status, requested_at);
      CREATE INDEX interventions_by_run ON interventions (run_id);
    `,
  },
  {
    id: 2,
    name: 'create-entity-locks',
    up: `
      -- Entity locks (a tool's lockKey): calls with the same key never overlap, across processes.
      CREATE TABLE entity_locks (
        lock_key    TEXT PRIMARY KEY,
        holder      TEXT NOT NULL,
        expires_at  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    id: 3,
    name: 'create-agent-events',
    up: `
      -- Per-agent log of monitor records (drift alerts): facts about an agent, not one run.
      CREATE TABLE agent_events (
        id    INTEGER PRIMARY KEY AUTOINCREMENT,
        agent TEXT NOT NULL,
        type  TEXT NOT NULL,
        at    INTEGER NOT NULL,
        v     INTEGER NOT NULL,
        data  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX agent_events_by_agent ON agent_events (agent, at);
    `,
  },
  {
    id: 4,
    name: 'add-run-mode',
    up: `
      -- live, or shadow (write and delete calls recorded, not made); copied from run.submitted.
      ALTER TABLE runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'live';
    `,
  },
  {
    id: 5,
    name: 'index-claimable-runs',
    up: `
      -- Workers claim root runs that are queued or were running (orphaned), oldest first.
      CREATE INDEX runs_claimable ON runs (created_at) WHERE status IN ('queued', 'running') AND parent_run_id IS NULL;
    `,
  },
  {
    id: 6,
    name: 'create-records',
    up: `
      -- Small records by namespace: API keys (by hash), kill switches, idempotency keys.
      CREATE TABLE records (
        ns         TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (ns, key)
      ) STRICT;
    `,
  },
  {
    id: 7,
    name: 'create-webhooks',
    up: `
      -- Endpoints that hear about runs: events is a comma-separated list of event types.
      CREATE TABLE webhook_endpoints (
        id         TEXT PRIMARY KEY,
        url        TEXT NOT NULL,
        secret     TEXT NOT NULL,
        events     TEXT NOT NULL,
        format     TEXT NOT NULL DEFAULT 'standard',
        enabled    INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
      ) STRICT;
      -- The outbox: one row per message to one endpoint, queued with the commit that caused it.
      -- next_attempt_at is NULL once delivered or given up; a claim moves it ahead as a lease.
      CREATE TABLE webhook_outbox (
        id              TEXT PRIMARY KEY,
        endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        type            TEXT NOT NULL,
        payload         TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        delivered_at    INTEGER,
        last_error      TEXT,
        last_status     INTEGER,
        created_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
      CREATE INDEX webhook_outbox_by_endpoint ON webhook_outbox (endpoint_id, created_at);
    `,
  },
  {
    id: 8,
    name: 'add-intervention-expiry',
    up: `
      -- An approval's deadline (ms since the epoch); NULL waits for a person without one.
      ALTER TABLE interventions ADD COLUMN expires_at INTEGER;
      -- The expiry sweep reads only pending interventions that have a deadline, soonest first.
      CREATE INDEX interventions_expiring ON interventions (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
    `,
  },
  {
    id: 9,
    name: 'index-ready-and-leased-runs',
    up: `
      -- Claims in O(batch), whatever the backlog (docs/store.md, "Claiming at any backlog"):
      -- runs_ready holds the root runs a worker may take now, by tenant and agent, oldest first;
      -- runs_leased holds the ones leased out, by expiry, so lapsed leases are found without
      -- reading the queue.
      CREATE INDEX runs_ready ON runs (tenant, agent, created_at)
        WHERE status IN ('queued', 'running') AND parent_run_id IS NULL AND lease_owner IS NULL;
      CREATE INDEX runs_leased ON runs (lease_expires_at)
        WHERE status IN ('queued', 'running') AND parent_run_id IS NULL AND lease_owner IS NOT NULL;
      DROP INDEX runs_claimable;
    `,
  },
  {
    id: 10,
    name: 'runs-undo-phase',
    up: `
      -- Where an undo of the run stands (core/projection.ts UndoPhase), so \`runs list\` can say a run was undone.
      ALTER TABLE runs ADD COLUMN undo TEXT NOT NULL DEFAULT 'none';
    `,
  },
  {
    id: 11,
    name: 'create-fleet-budgets',
    up: `
      -- One row per fleet budget window (createWarden's budgets): key = scope|window|window start (ms).
      -- Every reservation of a run the budget covers holds reserved_nano here in the commit's transaction.
      CREATE TABLE fleet_budgets (
        key           TEXT PRIMARY KEY,
        limit_nano    INTEGER NOT NULL,
        spent_nano    INTEGER NOT NULL DEFAULT 0,
        reserved_nano INTEGER NOT NULL DEFAULT 0,
        -- The highest alertAt fraction already announced in this window (each fires once).
        alerted       REAL NOT NULL DEFAULT 0
      ) STRICT;
    `,
  },
  {
    id: 12,
    name: 'create-stored-budgets',
    up: `
      -- Fleet budgets set with \`warden budgets set\` or PUT /v1/budgets: every process on the store
      -- reads them (see docs/budgets.md); their windows' spend is kept in fleet_budgets like any other.
      CREATE TABLE stored_budgets (
        scope      TEXT NOT NULL,
        budget_window TEXT NOT NULL,
        limit_nano INTEGER NOT NULL,
        -- JSON array of fractions in (0, 1], ascending.
        alert_at   TEXT NOT NULL DEFAULT '[]',
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (scope, budget_window)
      ) STRICT;
    `,
  },
  {
    id: 13,
    name: 'create-conversations',
    up: `
      -- One row per conversation: its turns are runs (runs.conversation_id, runs.turn from 1), and
      -- every reservation of a turn (and its children) is held here too, against ceiling_nano.
      CREATE TABLE conversations (
        conversation_id TEXT PRIMARY KEY,
        tenant          TEXT NOT NULL,
        agent           TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'open',
        turns           INTEGER NOT NULL DEFAULT 0,
        ceiling_nano    INTEGER,
        spent_nano      INTEGER NOT NULL DEFAULT 0,
        reserved_nano   INTEGER NOT NULL DEFAULT 0,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX conversations_updated ON conversations (updated_at);
      ALTER TABLE runs ADD COLUMN conversation_id TEXT;
      ALTER TABLE runs ADD COLUMN turn INTEGER;
      CREATE UNIQUE INDEX runs_conversation_turn ON runs (conversation_id, turn) WHERE conversation_id IS NOT NULL;
    `,
  },
]);

const CREATE_LEDGER = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`;

/**
 * Brings the schema up to date in one `BEGIN IMMEDIATE` transaction, so two processes opening
 * the same file at once cannot both apply a migration. Refuses a database written by a newer
 * Warden, or one whose history names a migration differently.
 *
 * @example
 * const { applied, current } = migrate(db);
 * for (const m of applied) console.log(`applied ${m.id} ${m.name}`);
 */
export function migrate(db: DatabaseSync, now = Date.now()): MigrationReport {
  const migrations = MIGRATIONS;
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(CREATE_LEDGER);
    const done = readLedger(db);
    checkHistory(done, migrations);
    const pending = migrations.slice(done.length);
    const record = db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)');
    for (const m of pending) {
      db.exec(m.up);
      record.run(m.id, m.name, now);
    }
    db.exec('COMMIT');
    return { applied: [...pending], current: migrations.at(-1)?.id ?? 0 };
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

/**
 * The migrations recorded in the database, oldest first; empty for a database never migrated.
 *
 * @example
 * appliedMigrations(db).at(-1)?.id // the schema version
 */
export function appliedMigrations(db: DatabaseSync): AppliedMigration[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").get();
  return exists ? readLedger(db) : [];
}

function readLedger(db: DatabaseSync): AppliedMigration[] {
  return db
    .prepare('SELECT id, name, applied_at FROM schema_migrations ORDER BY id')
    .all()
    .map((r) => ({ id: Number(r.id), name: String(r.name), appliedAt: Number(r.applied_at) }));
}
