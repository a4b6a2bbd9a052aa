import type { QueryConfig } from 'pg';
import type { RunPatch } from '../../core/ports/store.ts';
import { PG_TYPES, quoteSchema } from './connection.ts';

/**
 * The SQL the PostgreSQL store runs, with table names qualified by its schema (so it works on a
 * caller's pool whatever its `search_path`). Statements are named: the server parses and plans
 * each once per connection, then only binds values.
 */
export type PgStatements = ReturnType<typeof pgStatements>;

/** A query ready for `pool.query(q.with(values))`. */
export interface Statement {
  readonly text: string;
  with(values: unknown[]): QueryConfig;
}

const names = new Map<string, string>();

/** A named statement; one name per distinct text, process-wide, so names never collide. */
export function statement(text: string): Statement {
  let name = names.get(text);
  if (!name) {
    name = `warden_${names.size + 1}`;
    names.set(text, name);
  }
  const n = name;
  return { text, with: (values) => ({ name: n, text, values, types: PG_TYPES }) };
}

export function pgStatements(schema: string) {
  const s = quoteSchema(schema);
  return {
    schema: s,
    // A root run writes its row, its budget and run.submitted in one statement. A child's row is
    // inserted only when its root's budget exists (inserted = 0 otherwise).
    createRun: statement(
      `WITH r AS (
         INSERT INTO ${s}.runs (run_id, agent, tenant, status, parent_run_id, root_run_id, input, last_seq, created_at, updated_at, mode)
         SELECT $1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $16
         WHERE $9::boolean OR EXISTS (SELECT 1 FROM ${s}.budgets WHERE root_run_id = $6)
         RETURNING run_id, status),
       b AS (INSERT INTO ${s}.budgets (root_run_id, ceiling_nano) SELECT run_id, $10 FROM r WHERE $9::boolean),
       e AS (INSERT INTO ${s}.events (run_id, seq, type, at, v, data) SELECT run_id, 1, $11, $12, $13, $14 FROM r)
       SELECT (SELECT count(*)::int FROM r) AS inserted,
              (SELECT count(*)::int FROM (SELECT pg_notify($15, run_id) FROM r WHERE status = 'queued') n) AS notified`,
    ),
    lockRunHead: statement(`SELECT last_seq, root_run_id, agent, tenant FROM ${s}.runs WHERE run_id = $1 FOR UPDATE`),
    lastSeq: statement(`SELECT last_seq FROM ${s}.runs WHERE run_id = $1`),
    run: statement(`SELECT * FROM ${s}.runs WHERE run_id = $1`),
    events: statement(`SELECT seq, type, at, v, data FROM ${s}.events WHERE run_id = $1 AND seq > $2 ORDER BY seq`),
    insertEvents: statement(
      `INSERT INTO ${s}.events (run_id, seq, type, at, v, data)
       SELECT $1, $2 + x.o, x.t, x.a, x.v, x.d FROM unnest($3::text[], $4::bigint[], $5::int[], $6::text[]) WITH ORDINALITY AS x(t, a, v, d, o)`,
    ),
    budget: statement(`SELECT root_run_id, ceiling_nano, spent_nano, reserved_nano FROM ${s}.budgets WHERE root_run_id = $1`),
    // A reservation locks the budget row, checks the ceiling against what it holds, then writes:
    // a concurrent reservation of the same root waits for the lock and sees this one.
    lockBudget: statement(`SELECT root_run_id, ceiling_nano, spent_nano, reserved_nano FROM ${s}.budgets WHERE root_run_id = $1 FOR UPDATE`),
    reserve: statement(`UPDATE ${s}.budgets SET reserved_nano = reserved_nano + $1 WHERE root_run_id = $2`),
    settle: statement(`UPDATE ${s}.budgets SET reserved_nano = GREATEST(reserved_nano - $1, 0), spent_nano = spent_nano + $2 WHERE root_run_id = $3`),
    openFleet: statement(`INSERT INTO ${s}.fleet_budgets (key, limit_nano) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`),
    // One conditional statement: a concurrent reservation of the same window waits for the row lock
    // and re-checks the condition against the row as that one left it (READ COMMITTED), so the
    // window never goes over, whatever the number of workers.
    reserveFleet: statement(
      `UPDATE ${s}.fleet_budgets SET reserved_nano = reserved_nano + $1, limit_nano = $3
       WHERE key = $2 AND spent_nano + reserved_nano + $1 <= $3`,
    ),
    // An alert fires once per threshold per window: the first writer to raise `alerted` claims it.
    claimFleetAlert: statement(`UPDATE ${s}.fleet_budgets SET alerted = $1 WHERE key = $2 AND alerted < $1 AND spent_nano >= limit_nano * $1`),
    settleFleet: statement(`UPDATE ${s}.fleet_budgets SET reserved_nano = GREATEST(reserved_nano - $1, 0), spent_nano = spent_nano + $2 WHERE key = $3`),
    fleetBudgets: statement(`SELECT key, limit_nano, spent_nano, reserved_nano FROM ${s}.fleet_budgets WHERE key = ANY($1::text[])`),
    insertIntervention: statement(
      `INSERT INTO ${s}.interventions
         (id, run_id, agent, tenant, kind, status, call_id, tool, args, args_hash, reason, evidence, requested_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $12)`,
    ),
    intervention: statement(`SELECT * FROM ${s}.interventions WHERE id = $1`),
    decideIntervention: statement(
      `UPDATE ${s}.interventions SET status = $1, decided_by = $2, decision_reason = $3, decided_at = $4
       WHERE id = $5 AND run_id = $6 AND status = 'pending'`,
    ),
    notify: statement('SELECT pg_notify($1, $2)'),
    acquireLease: statement(
      `UPDATE ${s}.runs SET lease_owner = $1, lease_expires_at = $2
       WHERE run_id = $3 AND ($4::boolean OR lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at < $5)`,
    ),
    releaseLease: statement(`UPDATE ${s}.runs SET lease_owner = NULL, lease_expires_at = NULL WHERE run_id = $1 AND lease_owner = $2`),
    renewLease: statement(`UPDATE ${s}.runs SET lease_expires_at = $1 WHERE run_id = $2 AND lease_owner = $3`),
    acquireLock: statement(
      `INSERT INTO ${s}.entity_locks AS l (lock_key, holder, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (lock_key) DO UPDATE SET holder = $2, expires_at = $3
       WHERE $4::boolean OR l.holder = $2 OR l.expires_at < $5
       RETURNING holder`,
    ),
    lock: statement(`SELECT holder, expires_at FROM ${s}.entity_locks WHERE lock_key = $1`),
    releaseLock: statement(`DELETE FROM ${s}.entity_locks WHERE lock_key = $1 AND holder = $2`),
    // SKIP LOCKED: concurrent claimers pass over each other's candidates instead of queueing on
    // them; the locked rows are re-checked against the WHERE before they are taken.
    // Fair across tenants: candidates are ranked within their tenant (oldest first) and taken rank
    // by rank, so a burst from one tenant cannot starve the others. SKIP LOCKED: concurrent
    // claimers pass over each other's candidates; locked rows are re-checked before they are taken.
    claim: statement(
      `WITH ranked AS (
         SELECT run_id, created_at, ord, row_number() OVER (PARTITION BY tenant ORDER BY created_at, ord) AS rk
         FROM ${s}.runs
         WHERE status IN ('queued', 'running') AND parent_run_id IS NULL
           AND (lease_owner IS NULL OR lease_expires_at < $3)
           AND ($5::text[] IS NULL OR agent = ANY($5::text[]))),
       picked AS (
         SELECT r.run_id FROM ${s}.runs r JOIN ranked k ON k.run_id = r.run_id
         WHERE r.status IN ('queued', 'running') AND (r.lease_owner IS NULL OR r.lease_expires_at < $3)
         ORDER BY k.rk, k.created_at, k.ord LIMIT $4
         FOR UPDATE OF r SKIP LOCKED)
       UPDATE ${s}.runs r SET lease_owner = $1, lease_expires_at = $2
       FROM picked c
       WHERE r.run_id = c.run_id
       RETURNING r.*`,
    ),
  };
}

/** Patchable fields of a run, in the bit order of the patch cache key. */
const PATCH_COLUMNS = [
  ['status', 'status'],
  ['stopReason', 'stop_reason'],
  ['output', 'output'],
  ['error', 'error'],
  ['costNano', 'cost_nano'],
  ['steps', 'steps'],
  ['toolCalls', 'tool_calls'],
] as const satisfies readonly (readonly [keyof RunPatch, string])[];

/** The SET clause and values of a run patch, with placeholders numbered from `firstParam`. */
export function patchClause(patch: RunPatch | undefined, firstParam: number): { mask: number; sets: string; values: unknown[] } {
  let mask = 0;
  const sets: string[] = [];
  const values: unknown[] = [];
  if (patch) {
    PATCH_COLUMNS.forEach(([field, column], i) => {
      const value = patch[field];
      if (value === undefined) return;
      mask |= 1 << i;
      sets.push(`${column} = $${firstParam + values.length}`);
      values.push(value);
    });
  }
  return { mask, sets: sets.map((x) => `, ${x}`).join(''), values };
}
