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
         INSERT INTO ${s}.runs (run_id, agent, tenant, status, parent_run_id, root_run_id, input, last_seq, created_at, updated_at, mode, conversation_id, turn)
         SELECT $1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $16, $17, $18
         WHERE $9::boolean OR EXISTS (SELECT 1 FROM ${s}.budgets WHERE root_run_id = $6)
         RETURNING run_id, status),
       b AS (INSERT INTO ${s}.budgets (root_run_id, ceiling_nano) SELECT run_id, $10 FROM r WHERE $9::boolean),
       e AS (INSERT INTO ${s}.events (run_id, seq, type, at, v, data, at_time) SELECT run_id, 1, $11, $12, $13, $14, ${atTimeOf('$12::bigint')} FROM r)
       SELECT (SELECT count(*)::int FROM r) AS inserted,
              (SELECT count(*)::int FROM (SELECT pg_notify($15, run_id) FROM r WHERE status = 'queued') n) AS notified`,
    ),
    lockRunHead: statement(`SELECT last_seq, root_run_id, agent, tenant FROM ${s}.runs WHERE run_id = $1 FOR UPDATE`),
    lastSeq: statement(`SELECT last_seq FROM ${s}.runs WHERE run_id = $1`),
    run: statement(`SELECT * FROM ${s}.runs WHERE run_id = $1`),
    events: statement(`SELECT seq, type, at, v, data FROM ${s}.events WHERE run_id = $1 AND seq > $2 ORDER BY seq`),
    insertEvents: statement(
      `INSERT INTO ${s}.events (run_id, seq, type, at, v, data, at_time)
       SELECT $1, $2 + x.o, x.t, x.a, x.v, x.d, ${atTimeOf('x.a')} FROM unnest($3::text[], $4::bigint[], $5::int[], $6::text[]) WITH ORDINALITY AS x(t, a, v, d, o)`,
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
    storedBudgets: statement(`SELECT scope, budget_window, limit_nano, alert_at, updated_at FROM ${s}.stored_budgets ORDER BY scope, budget_window`),
    putStoredBudget: statement(
      `INSERT INTO ${s}.stored_budgets (scope, budget_window, limit_nano, alert_at, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (scope, budget_window) DO UPDATE SET limit_nano = EXCLUDED.limit_nano, alert_at = EXCLUDED.alert_at, updated_at = EXCLUDED.updated_at`,
    ),
    removeStoredBudgets: statement(`DELETE FROM ${s}.stored_budgets WHERE scope = $1`),
    removeStoredBudget: statement(`DELETE FROM ${s}.stored_budgets WHERE scope = $1 AND budget_window = $2`),
    // An alert fires once per threshold per window: the first writer to raise `alerted` claims it.
    claimFleetAlert: statement(`UPDATE ${s}.fleet_budgets SET alerted = $1 WHERE key = $2 AND alerted < $1 AND spent_nano >= limit_nano * $1`),
    settleFleet: statement(`UPDATE ${s}.fleet_budgets SET reserved_nano = GREATEST(reserved_nano - $1, 0), spent_nano = spent_nano + $2 WHERE key = $3`),
    openConversation: statement(
      `INSERT INTO ${s}.conversations (conversation_id, tenant, agent, status, turns, ceiling_nano, created_at, updated_at)
       VALUES ($1, $2, $3, 'open', 0, $4, $5, $5) ON CONFLICT (conversation_id) DO NOTHING`,
    ),
    lockConversation: statement(`SELECT * FROM ${s}.conversations WHERE conversation_id = $1 FOR UPDATE`),
    nextTurn: statement(`UPDATE ${s}.conversations SET turns = $1, ceiling_nano = $2, updated_at = $3 WHERE conversation_id = $4`),
    // One conditional statement, as for fleet windows: a concurrent reservation waits for the row
    // lock and re-checks against the row as the other left it, so the ceiling holds across workers.
    reserveConversation: statement(
      `UPDATE ${s}.conversations SET reserved_nano = reserved_nano + $1
       WHERE conversation_id = $2 AND (ceiling_nano IS NULL OR spent_nano + reserved_nano + $1 <= ceiling_nano)`,
    ),
    settleConversation: statement(
      `UPDATE ${s}.conversations SET reserved_nano = GREATEST(reserved_nano - $1, 0), spent_nano = spent_nano + $2, updated_at = $4 WHERE conversation_id = $3`,
    ),
    conversation: statement(`SELECT * FROM ${s}.conversations WHERE conversation_id = $1`),
    closeConversation: statement(`UPDATE ${s}.conversations SET status = 'cancelled', updated_at = $2 WHERE conversation_id = $1 AND status = 'open'`),
    fleetBudgets: statement(`SELECT key, limit_nano, spent_nano, reserved_nano FROM ${s}.fleet_budgets WHERE key = ANY($1::text[])`),
    insertIntervention: statement(
      `INSERT INTO ${s}.interventions
         (id, run_id, agent, tenant, kind, status, call_id, tool, args, args_hash, reason, evidence, requested_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $12, $13)`,
    ),
    intervention: statement(`SELECT * FROM ${s}.interventions WHERE id = $1`),
    decideIntervention: statement(
      // Approving counts only before the deadline, and the expiry only from it; a denial or a
      // cancel closes the approval whenever it comes.
      `UPDATE ${s}.interventions SET status = $1, decided_by = $2, decision_reason = $3, decided_at = $4
       WHERE id = $5 AND run_id = $6 AND status = 'pending'
         AND (expires_at IS NULL OR CASE $1 WHEN 'approved' THEN $4::bigint < expires_at WHEN 'expired' THEN $4::bigint >= expires_at ELSE true END)`,
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
    claim: statement(claimText(s)),
  };
}

/**
 * The partition key of an event (`at_time`, timestamptz) from its `at` (ms since the epoch): every
 * insert into events writes both (migration 13). The payload's jsonb copy is a generated column.
 */
export function atTimeOf(ms: string): string {
  return `to_timestamp(${ms}::double precision / 1000)`;
}

/** The root runs a worker may take now (the predicate of the `runs_ready` index). */
const READY = `status IN ('queued', 'running') AND parent_run_id IS NULL AND lease_owner IS NULL`;

/**
 * A claim whose work is bounded by the batch, not the backlog. $1 worker, $2 lease end, $3 now,
 * $4 limit, $5 agents (NULL for any), $6 the tenant the last claim of this store ended on.
 *
 * - `ring` walks the distinct (tenant, agent) pairs of `runs_ready` round-robin from the tenant
 *   after the cursor, one index descent per pair, until it has `$4` tenants with work for these
 *   agents (so with `$4` or fewer tenants waiting, every one of them is in every claim).
 * - `fresh` reads each pair's oldest runs (at most `$4`), locking them `SKIP LOCKED`: concurrent
 *   claimers pass over each other's rows instead of queueing on them.
 * - `lapsed` takes runs whose worker died (lease expired) first, from `runs_leased`.
 * - Runs are then taken rank by rank: every tenant's oldest before any tenant's second, so a
 *   burst from one tenant cannot starve the others (ties by the ring's order, then age).
 *
 * Rows locked but not taken (a tenant's runs beyond its share) are free again when the statement
 * ends; a concurrent claimer may have skipped them, and takes them on its next claim.
 */
function claimText(s: string): string {
  // As runs_ready is keyed (byte order), so that no other index can serve these comparisons.
  const T = 'tenant COLLATE "C"';
  const A = 'agent COLLATE "C"';
  const agentOk = (column: string) => `($5::text[] IS NULL OR ${column} = ANY($5::text[]))`;
  // The next ready pair after (tenant, agent): onwards from it, else (once) from the start, up to the cursor.
  const next = (after: string, wrapped: string) => `(
      (SELECT tenant, agent, ${wrapped} AS wrapped FROM ${s}.runs WHERE ${READY} AND ${after}
         AND (NOT ${wrapped} OR ${T} <= $6) ORDER BY ${T}, ${A} LIMIT 1)
      UNION ALL
      (SELECT tenant, agent, true FROM ${s}.runs WHERE ${READY} AND NOT ${wrapped} AND ${T} <= $6 ORDER BY ${T}, ${A} LIMIT 1)
      LIMIT 1)`;
  return `WITH RECURSIVE ring (tenant, agent, n, wrapped, lt) AS (
      SELECT x.tenant, x.agent, CASE WHEN ${agentOk('x.agent')} THEN 1 ELSE 0 END, x.wrapped,
             CASE WHEN ${agentOk('x.agent')} THEN x.tenant END
      FROM ${next(`${T} > $6::text`, 'false')} x
      UNION ALL
      SELECT y.tenant, y.agent, r.n + CASE WHEN ${agentOk('y.agent')} AND y.tenant IS DISTINCT FROM r.lt THEN 1 ELSE 0 END, y.wrapped,
             CASE WHEN ${agentOk('y.agent')} THEN y.tenant ELSE r.lt END
      FROM ring r CROSS JOIN LATERAL ${next(`(${T}, ${A}) > (r.tenant, r.agent)`, 'r.wrapped')} y
      WHERE r.n + CASE WHEN ${agentOk('y.agent')} AND y.tenant IS DISTINCT FROM r.lt THEN 1 ELSE 0 END <= $4),
    fresh AS (
      SELECT c.run_id, c.created_at, c.ord, p.n, row_number() OVER (PARTITION BY p.tenant ORDER BY c.created_at, c.ord) AS rk
      FROM ring p CROSS JOIN LATERAL (
        SELECT run_id, created_at, ord FROM ${s}.runs
        -- Row bounds, not equalities: with equalities the planner may drop tenant and agent from
        -- the order and read runs_by_created instead; only runs_ready has this order.
        WHERE ${READY} AND (${T}, ${A}) >= (p.tenant, p.agent) AND (${T}, ${A}) <= (p.tenant, p.agent)
        ORDER BY ${T}, ${A}, created_at, ord LIMIT $4 FOR UPDATE SKIP LOCKED) c
      WHERE p.n >= 1 AND ${agentOk('p.agent')}),
    lapsed AS (
      SELECT run_id, created_at, ord, 0 AS n, 0::bigint AS rk FROM ${s}.runs
      WHERE status IN ('queued', 'running') AND parent_run_id IS NULL AND lease_owner IS NOT NULL AND lease_expires_at < $3
        AND ${agentOk('agent')}
      ORDER BY lease_expires_at LIMIT $4 FOR UPDATE SKIP LOCKED),
    picked AS (
      SELECT run_id, n FROM (SELECT * FROM lapsed UNION ALL SELECT * FROM fresh) c ORDER BY rk, n, created_at, ord LIMIT $4)
    UPDATE ${s}.runs r SET lease_owner = $1, lease_expires_at = $2
    FROM picked c
    -- ANY(ARRAY(…)): found by primary key, even by a generic plan that cannot know how few are picked.
    WHERE r.run_id = c.run_id AND r.run_id = ANY(ARRAY(SELECT run_id FROM picked))
    RETURNING r.*, c.n AS claim_turn`;
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
  ['undo', 'undo'],
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
