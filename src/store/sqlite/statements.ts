import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite';
import type { RunPatch } from '../../core/ports/store.ts';
import type { RunHeadRow } from '../rows.ts';

/**
 * Every statement the SQLite store runs, prepared once per store: compiling SQL costs more than
 * running it, and a commit must stay in the tens of microseconds.
 */
export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    savepoint: p('SAVEPOINT warden_commit'),
    release: p('RELEASE warden_commit'),
    rollbackTo: p('ROLLBACK TO warden_commit'),

    runHead: p('SELECT last_seq, root_run_id, agent, tenant FROM runs WHERE run_id = ?'),
    // The head plus the patchable columns, so a commit writes only the ones that change.
    runCurrent: p(
      'SELECT last_seq, root_run_id, agent, tenant, status, stop_reason, output, error, cost_nano, steps, tool_calls, undo FROM runs WHERE run_id = ?',
    ),
    run: p('SELECT * FROM runs WHERE run_id = ?'),
    insertRun: p(
      `INSERT INTO runs (run_id, agent, tenant, status, parent_run_id, root_run_id, input, last_seq, created_at, updated_at, mode, conversation_id, turn)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
    ),

    conversation: p('SELECT * FROM conversations WHERE conversation_id = ?'),
    insertConversation: p(
      `INSERT INTO conversations (conversation_id, tenant, agent, status, turns, ceiling_nano, created_at, updated_at)
       VALUES (?, ?, ?, 'open', 0, ?, ?, ?)`,
    ),
    nextTurn: p('UPDATE conversations SET turns = ?1, ceiling_nano = ?2, updated_at = ?3 WHERE conversation_id = ?4'),
    // Like the ceiling: the check and the write are one statement inside the commit's transaction.
    reserveConversation: p(
      `UPDATE conversations SET reserved_nano = reserved_nano + ?1
       WHERE conversation_id = ?2 AND (ceiling_nano IS NULL OR spent_nano + reserved_nano + ?1 <= ceiling_nano)`,
    ),
    settleConversation: p(
      'UPDATE conversations SET reserved_nano = max(reserved_nano - ?1, 0), spent_nano = spent_nano + ?2, updated_at = ?4 WHERE conversation_id = ?3',
    ),
    closeConversation: p("UPDATE conversations SET status = 'cancelled', updated_at = ?2 WHERE conversation_id = ?1 AND status = 'open'"),

    insertEvent: p('INSERT INTO events (run_id, seq, type, at, v, data) VALUES (?, ?, ?, ?, ?, ?)'),
    events: p('SELECT seq, type, at, v, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq'),

    budget: p('SELECT root_run_id, ceiling_nano, spent_nano, reserved_nano FROM budgets WHERE root_run_id = ?'),
    insertBudget: p('INSERT INTO budgets (root_run_id, ceiling_nano) VALUES (?, ?)'),
    // The ceiling check and the write are one statement inside the commit's transaction, so no
    // other writer (process or connection) can slip a reservation in between.
    reserve: p(
      `UPDATE budgets SET reserved_nano = reserved_nano + ?1
       WHERE root_run_id = ?2 AND spent_nano + reserved_nano + ?1 <= ceiling_nano`,
    ),
    settle: p('UPDATE budgets SET reserved_nano = max(reserved_nano - ?1, 0), spent_nano = spent_nano + ?2 WHERE root_run_id = ?3'),
    openFleet: p('INSERT INTO fleet_budgets (key, limit_nano) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    // Like the ceiling: the check and the write are one statement, against the limit as configured now.
    reserveFleet: p(
      `UPDATE fleet_budgets SET reserved_nano = reserved_nano + ?1, limit_nano = ?3
       WHERE key = ?2 AND spent_nano + reserved_nano + ?1 <= ?3`,
    ),
    // An alert fires once per threshold per window: the first writer to raise `alerted` claims it.
    storedBudgets: p('SELECT scope, budget_window, limit_nano, alert_at, updated_at FROM stored_budgets ORDER BY scope, budget_window'),
    putStoredBudget: p(
      `INSERT INTO stored_budgets (scope, budget_window, limit_nano, alert_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, budget_window) DO UPDATE SET limit_nano = excluded.limit_nano, alert_at = excluded.alert_at, updated_at = excluded.updated_at`,
    ),
    removeStoredBudgets: p('DELETE FROM stored_budgets WHERE scope = ?'),
    removeStoredBudget: p('DELETE FROM stored_budgets WHERE scope = ? AND budget_window = ?'),
    claimFleetAlert: p('UPDATE fleet_budgets SET alerted = ?1 WHERE key = ?2 AND alerted < ?1 AND spent_nano >= limit_nano * ?1'),
    settleFleet: p('UPDATE fleet_budgets SET reserved_nano = max(reserved_nano - ?1, 0), spent_nano = spent_nano + ?2 WHERE key = ?3'),

    insertIntervention: p(
      `INSERT INTO interventions
         (id, run_id, agent, tenant, kind, status, call_id, tool, args, args_hash, reason, evidence, requested_at, expires_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    intervention: p('SELECT * FROM interventions WHERE id = ?'),
    decideIntervention: p(
      // Approving counts only before the deadline, and the expiry only from it; a denial or a
      // cancel closes the approval whenever it comes.
      `UPDATE interventions SET status = ?1, decided_by = ?2, decision_reason = ?3, decided_at = ?4
       WHERE id = ?5 AND run_id = ?6 AND status = 'pending'
         AND (expires_at IS NULL OR CASE ?1 WHEN 'approved' THEN ?4 < expires_at WHEN 'expired' THEN ?4 >= expires_at ELSE 1 END)`,
    ),

    acquireLease: p(
      `UPDATE runs SET lease_owner = ?1, lease_expires_at = ?2
       WHERE run_id = ?3 AND (?4 OR lease_owner IS NULL OR lease_owner = ?1 OR lease_expires_at < ?5)`,
    ),
    releaseLease: p('UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE run_id = ? AND lease_owner = ?'),

    acquireLock: p(
      `INSERT INTO entity_locks (lock_key, holder, expires_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (lock_key) DO UPDATE SET holder = ?2, expires_at = ?3
       WHERE ?4 OR entity_locks.holder = ?2 OR entity_locks.expires_at < ?5`,
    ),
    lock: p('SELECT holder, expires_at FROM entity_locks WHERE lock_key = ?'),
    releaseLock: p('DELETE FROM entity_locks WHERE lock_key = ? AND holder = ?'),
    getRecord: p('SELECT value FROM records WHERE ns = ? AND key = ?'),
    insertRecord: p('INSERT INTO records (ns, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (ns, key) DO NOTHING'),
    upsertRecord: p('INSERT INTO records (ns, key, value, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (ns, key) DO UPDATE SET value = ?3, updated_at = ?4'),
    listRecords: p('SELECT key, value FROM records WHERE ns = ? ORDER BY key'),
    deleteRecord: p('DELETE FROM records WHERE ns = ? AND key = ?'),

    renewLease: p('UPDATE runs SET lease_expires_at = ? WHERE run_id = ? AND lease_owner = ?'),
  };
}

/** Patchable fields of a run, in the bit order of `RunPatcher`'s cache key. */
const PATCH_COLUMNS = [
  ['status', 'status'],
  ['stopReason', 'stop_reason'],
  ['output', 'output'],
  ['error', 'error'],
  ['costNano', 'cost_nano'],
  ['steps', 'steps'],
  ['toolCalls', 'tool_calls'],
  ['undo', 'undo'],
] as const satisfies readonly (readonly [keyof RunPatch, string])[];

/** A run's head and the patchable columns as stored (`runCurrent`). */
export type RunCurrentRow = RunHeadRow & Record<(typeof PATCH_COLUMNS)[number][1], SQLOutputValue>;

/**
 * Writes a run's new `last_seq`, `updated_at` and only the patch fields that are present and, when
 * the row as stored is given, differ from it. A column that is set is rewritten in every index that
 * holds it even when its value is the same (`status` is in two), so writing only what changed cuts
 * a step's WAL bytes roughly threefold. One statement per combination of fields, prepared the first
 * time it is needed (at most 256).
 */
export class RunPatcher {
  readonly #db: DatabaseSync;
  readonly #cache = new Map<number, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  apply(runId: string, lastSeq: number, updatedAt: number, patch: RunPatch | undefined, current?: RunCurrentRow): void {
    let mask = 0;
    const values: SQLInputValue[] = [lastSeq, updatedAt];
    if (patch) {
      for (const [i, [key, column]] of PATCH_COLUMNS.entries()) {
        const value = patch[key];
        if (value !== undefined && (current === undefined || current[column] !== value)) {
          mask |= 1 << i;
          values.push(value);
        }
      }
    }
    values.push(runId);
    let statement = this.#cache.get(mask);
    if (!statement) {
      const sets = ['last_seq = ?', 'updated_at = ?'];
      PATCH_COLUMNS.forEach(([, column], i) => {
        if (mask & (1 << i)) sets.push(`${column} = ?`);
      });
      statement = this.#db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE run_id = ?`);
      this.#cache.set(mask, statement);
    }
    statement.run(...values);
  }
}

/** Statements whose SQL depends on which filters a listing uses, prepared once per shape. */
export class QueryCache {
  readonly #db: DatabaseSync;
  readonly #cache = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  all(sql: string, params: SQLInputValue[]): Record<string, unknown>[] {
    return this.#prepared(sql).all(...params);
  }

  /** Runs a write; the number of rows it changed. */
  run(sql: string, params: SQLInputValue[]): number {
    return Number(this.#prepared(sql).run(...params).changes);
  }

  #prepared(sql: string): StatementSync {
    let statement = this.#cache.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#cache.set(sql, statement);
    }
    return statement;
  }
}
