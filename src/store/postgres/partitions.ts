import type pg from 'pg';
import type { ExpiryCutoffs } from '../../core/ports/retention.ts';
import type { DeletedTrees } from '../dialect.ts';
import { expiredRoot } from '../expiry-sql.ts';
import { PG_TYPES } from './connection.ts';
import { inTransaction, numbered } from './retention.ts';

/**
 * The monthly partitions of the events table (migration 14): `events_YYYY_MM` holds the events
 * whose `at_time` falls in that UTC month, `events_default` whatever has no month of its own.
 * `s` is the quoted schema, `schema` the bare name.
 */

/** Months created ahead of the current one, on open and before retention. */
export const MONTHS_AHEAD = 3;

const MONTH_TABLE = /^events_(\d{4})_(\d{2})$/;

export interface MonthPartition {
  name: string;
  /** The month's first instant and the next month's, ms since the epoch (UTC). */
  from: number;
  to: number;
}

/** The monthly partitions that exist, oldest first. */
export async function monthPartitions(db: pg.Pool | pg.PoolClient, schema: string): Promise<MonthPartition[]> {
  const { rows } = await db.query(
    `SELECT c.relname AS name FROM pg_catalog.pg_inherits i
       JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
       JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
       JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace
     WHERE n.nspname = $1 AND p.relname = 'events'`,
    [schema],
  );
  const months: MonthPartition[] = [];
  for (const { name } of rows as { name: string }[]) {
    const m = MONTH_TABLE.exec(name);
    if (m) months.push({ name, from: Date.UTC(Number(m[1]), Number(m[2]) - 1, 1), to: Date.UTC(Number(m[1]), Number(m[2]), 1) });
  }
  return months.sort((a, b) => a.from - b.from);
}

/**
 * Makes sure the month of `now` and the `MONTHS_AHEAD` after it have partitions, so inserts land
 * in a month of their own rather than the default partition. A month the default partition
 * already holds rows of (a process that ran past the months made for it) is split out: its rows
 * move into the new partition in the same transaction. Concurrent callers serialize on an
 * advisory lock and re-check inside it.
 */
export async function ensureEventPartitions(pool: pg.Pool, schema: string, s: string, now = Date.now()): Promise<string[]> {
  const start = new Date(now);
  const wanted = Array.from({ length: MONTHS_AHEAD + 1 }, (_, i) => Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + i, 1));
  const have = new Set((await monthPartitions(pool, schema)).map((p) => p.from));
  const missing = wanted.filter((from) => !have.has(from));
  const created: string[] = [];
  for (const from of missing) {
    const d = new Date(from);
    const to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    const name = `events_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    const made = await inTransaction(pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('warden.partitions.' || $1))`, [schema]);
      if ((await monthPartitions(client, schema)).some((p) => p.name === name)) return false;
      const range = [new Date(from).toISOString(), new Date(to).toISOString()];
      const inRange = 'at_time >= $1::timestamptz AND at_time < $2::timestamptz';
      await client.query(
        `CREATE TEMP TABLE warden_moving ON COMMIT DROP AS SELECT run_id, seq, type, at, v, data, at_time FROM ${s}.events_default WHERE ${inRange}`,
        range,
      );
      await client.query(`DELETE FROM ${s}.events_default WHERE ${inRange}`, range);
      await client.query(`CREATE TABLE ${s}."${name}" PARTITION OF ${s}.events FOR VALUES FROM ('${range[0]}') TO ('${range[1]}')`);
      await client.query(`INSERT INTO ${s}.events (run_id, seq, type, at, v, data, at_time) SELECT * FROM warden_moving`);
      return true;
    });
    if (made) created.push(name);
  }
  return created;
}

/**
 * Retention's fast path: each monthly partition that ended before the latest cutoff, and whose
 * every event belongs to an expired tree, goes at once instead of row by row. In one transaction
 * per partition: lock the partition against new events (`SHARE`) and every run of those trees,
 * re-check they are all expired, delete their events in other months, their interventions and
 * budgets, `TRUNCATE` the partition and delete their runs; then, in its own statement, `DROP` the
 * emptied partition. A partition holding any kept run's event is left to
 * the batched deletes. Partitions of the current month and later are never dropped.
 */
export async function dropExpiredPartitions(
  pool: pg.Pool,
  schema: string,
  s: string,
  cutoffs: ExpiryCutoffs,
  now = Date.now(),
): Promise<DeletedTrees & { partitionsDropped: string[] }> {
  const report = { trees: 0, runs: 0, events: 0, partitionsDropped: [] as string[] };
  const latest = Math.max(cutoffs.default ?? 0, ...Object.values(cutoffs.tenants ?? {}).map((c) => c ?? 0));
  const current = new Date(now);
  const thisMonth = Date.UTC(current.getUTCFullYear(), current.getUTCMonth(), 1);
  for (const part of await monthPartitions(pool, schema)) {
    if (part.to > latest || part.to > thisMonth) continue;
    const table = `${s}."${part.name}"`;
    const dropped = await inTransaction(pool, async (client) => {
      // SHARE: reads go on, but no event can be added to this month while it is judged and emptied.
      await client.query(`LOCK TABLE ${table} IN SHARE MODE`);
      const roots = (
        await client.query(`SELECT DISTINCT t.root_run_id FROM (SELECT DISTINCT run_id FROM ${table}) e JOIN ${s}.runs t ON t.run_id = e.run_id`)
      ).rows.map((r) => r.root_run_id as string);
      if (roots.length > 0) {
        await client.query(`SELECT run_id FROM ${s}.runs WHERE root_run_id = ANY($1::text[]) ORDER BY run_id FOR UPDATE`, [roots]);
        const { param, values } = numbered([roots]);
        const check = `SELECT count(*)::int AS n FROM ${s}.runs r WHERE r.run_id = ANY($1::text[]) AND ${expiredRoot(cutoffs, `${s}.runs`, param)}`;
        if ((await client.query({ text: check, values, types: PG_TYPES })).rows[0].n !== roots.length) return undefined;
      }
      const inPartition = Number((await client.query({ text: `SELECT count(*) AS n FROM ${table}`, types: PG_TYPES })).rows[0].n);
      // The trees' events in other months (pruned away from this one), and the rows that name no
      // event; then the month itself, whose ACCESS EXCLUSIVE lock (readers of any run's log wait on
      // it) is held only for the last statement and the commit; then the runs, which the events named.
      const k = [roots];
      const runsOf = `(SELECT run_id FROM ${s}.runs WHERE root_run_id = ANY($1::text[]))`;
      const range = [new Date(part.from).toISOString(), new Date(part.to).toISOString()];
      const elsewhere = await client.query(`DELETE FROM ${s}.events WHERE run_id IN ${runsOf} AND (at_time < $2::timestamptz OR at_time >= $3::timestamptz)`, [
        roots,
        ...range,
      ]);
      await client.query(`DELETE FROM ${s}.interventions WHERE run_id IN ${runsOf}`, k);
      await client.query(`DELETE FROM ${s}.budgets WHERE root_run_id = ANY($1::text[])`, k);
      await client.query(`TRUNCATE ${table}`);
      const runs = await client.query(`DELETE FROM ${s}.runs WHERE root_run_id = ANY($1::text[])`, k);
      return { trees: roots.length, runs: runs.rowCount ?? 0, events: inPartition + (elsewhere.rowCount ?? 0) };
    });
    if (!dropped) continue;
    report.trees += dropped.trees;
    report.runs += dropped.runs;
    report.events += dropped.events;
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    report.partitionsDropped.push(part.name);
  }
  return report;
}
