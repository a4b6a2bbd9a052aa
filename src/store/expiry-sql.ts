import { TERMINAL_STATUSES } from '../core/events.ts';
import type { ExpiryCutoffs } from '../core/ports/retention.ts';

/**
 * The one definition of an expired run tree (see `Retention` in the store port), as SQL both
 * stores run: placeholders come from `param`, so each dialect numbers and types them its way.
 */

/** Adds a value and returns its placeholder (`?` on SQLite, `$n::type` on PostgreSQL); call it in the order of the text. */
export type Param = (value: string | number, type: 'text' | 'bigint') => string;

const TERMINAL = [...TERMINAL_STATUSES].map((s) => `'${s}'`).join(', ');
/** Undo phases of a finished run that is still being worked on (core/projection.ts `UndoPhase`). */
const UNDO_UNDER_WAY = `'running', 'waiting_for_person'`;

/** True when nothing can expire under these cutoffs. */
export function keepsAll(cutoffs: ExpiryCutoffs): boolean {
  return cutoffs.default === null && Object.values(cutoffs.tenants ?? {}).every((c) => c === null);
}

/**
 * The cutoff of `tenant` (a column): its own, else the default. A kept tenant's is 0 — no run was
 * written before the epoch — so one comparison serves both.
 */
function cutoffOf(cutoffs: ExpiryCutoffs, tenant: string, param: Param): string {
  const whens = Object.entries(cutoffs.tenants ?? {}).map(([t, c]) => ` WHEN ${param(t, 'text')} THEN ${param(c ?? 0, 'bigint')}`);
  const otherwise = param(cutoffs.default ?? 0, 'bigint');
  return whens.length === 0 ? otherwise : `(CASE ${tenant}${whens.join('')} ELSE ${otherwise} END)`;
}

/**
 * A predicate on root run `r`: its whole tree (`runs`, the table, qualified as the dialect needs)
 * is finished, no undo of it is under way, and every run in it was last written before the cutoff
 * of the root's tenant.
 */
export function expiredRoot(cutoffs: ExpiryCutoffs, runs: string, param: Param, r = 'r'): string {
  return `${r}.parent_run_id IS NULL AND ${r}.status IN (${TERMINAL}) AND ${r}.updated_at < ${cutoffOf(cutoffs, `${r}.tenant`, param)}
    AND NOT EXISTS (SELECT 1 FROM ${runs} t WHERE t.root_run_id = ${r}.run_id
      AND (t.status NOT IN (${TERMINAL}) OR t.undo IN (${UNDO_UNDER_WAY}) OR t.updated_at >= ${cutoffOf(cutoffs, `${r}.tenant`, param)}))`;
}

/** Per tenant of the expired roots: trees, runs, events, stored bytes, oldest and newest write. */
export function summarySql(cutoffs: ExpiryCutoffs, table: (name: string) => string, param: Param, bytes: (column: string) => string): string {
  const runs = table('runs');
  return `WITH roots AS (SELECT r.run_id, r.tenant FROM ${runs} r WHERE ${expiredRoot(cutoffs, runs, param)})
    SELECT roots.tenant AS tenant, count(DISTINCT roots.run_id) AS trees, count(*) AS runs, sum(t.last_seq) AS events,
      sum(${bytes('t.input')} + coalesce(${bytes('t.output')}, 0) + coalesce(${bytes('t.error')}, 0)
        + (SELECT coalesce(sum(${bytes('e.data')}), 0) FROM ${table('events')} e WHERE e.run_id = t.run_id)) AS bytes,
      min(t.updated_at) AS oldest_at, max(t.updated_at) AS newest_at
    FROM roots JOIN ${runs} t ON t.root_run_id = roots.run_id
    GROUP BY roots.tenant ORDER BY roots.tenant`;
}

/** Expired roots after a run id, in run id order. The caller adds the limit's placeholder. */
export function expiredRootsSql(cutoffs: ExpiryCutoffs, runs: string, param: Param, after: string, limit: number): string {
  // Placeholders are added in the order the text uses them (SQLite's are positional).
  const from = param(after, 'text');
  const where = expiredRoot(cutoffs, runs, param);
  return `SELECT r.run_id, r.tenant FROM ${runs} r WHERE r.run_id > ${from} AND ${where} ORDER BY r.run_id LIMIT ${param(limit, 'bigint')}`;
}

/** A row of `summarySql`; counts may come back as strings (PostgreSQL bigint). */
export interface SummaryRow {
  tenant: string;
  trees: number | string;
  runs: number | string;
  events: number | string | null;
  bytes: number | string | null;
  oldest_at: number | string;
  newest_at: number | string;
}
