import type pg from 'pg';
import type { ExpiryCutoffs } from '../../core/ports/retention.ts';
import type { DeletedTrees } from '../dialect.ts';
import { expiredRoot, expiredRootsSql, summarySql, type Param, type SummaryRow } from '../expiry-sql.ts';
import { PG_TYPES } from './connection.ts';
import { isConnectionError } from './pg-errors.ts';

/**
 * Retention on PostgreSQL (see `Retention` in the store port): the queries of `expiry-sql.ts`
 * with numbered, typed placeholders, and the delete transaction. `s` is the quoted schema.
 */

/** `$n::type` placeholders, numbered in the order they are added. */
export function numbered(first: unknown[] = []): { param: Param; values: unknown[] } {
  const values = [...first];
  return {
    values,
    param: (value, type) => {
      values.push(value);
      return `$${values.length}::${type}`;
    },
  };
}

export async function pgExpirySummary(pool: pg.Pool, s: string, cutoffs: ExpiryCutoffs): Promise<SummaryRow[]> {
  const { param, values } = numbered();
  const text = summarySql(
    cutoffs,
    (name) => `${s}.${name}`,
    param,
    (column) => `octet_length(${column})`,
  );
  return (await pool.query({ text, values, types: PG_TYPES })).rows;
}

export async function pgExpiredRoots(
  pool: pg.Pool,
  s: string,
  cutoffs: ExpiryCutoffs,
  after: string,
  limit: number,
): Promise<{ run_id: string; tenant: string }[]> {
  const { param, values } = numbered();
  // COLLATE "C": the cursor compares as the order sorts, whatever the database's collation.
  const text = expiredRootsSql(cutoffs, `${s}.runs`, param, after, limit)
    .replace('r.run_id >', 'r.run_id COLLATE "C" >')
    .replace('ORDER BY r.run_id', 'ORDER BY r.run_id COLLATE "C"');
  return (await pool.query({ text, values, types: PG_TYPES })).rows;
}

export async function pgTreeRuns(pool: pg.Pool, s: string, rootRunIds: readonly string[]): Promise<{ run_id: string; root_run_id: string }[]> {
  const text = `SELECT run_id, root_run_id FROM ${s}.runs WHERE root_run_id = ANY($1::text[])
    ORDER BY root_run_id, parent_run_id IS NOT NULL, created_at, ord`;
  return (await pool.query({ text, values: [[...rootRunIds]], types: PG_TYPES })).rows;
}

/**
 * One transaction: locks every run of the trees (a commit or an append to any of them waits, then
 * finds the run gone), keeps the roots still expired, and deletes their events, interventions,
 * budgets and runs.
 */
export async function pgDeleteTrees(pool: pg.Pool, s: string, cutoffs: ExpiryCutoffs, rootRunIds: readonly string[]): Promise<DeletedTrees> {
  return inTransaction(pool, async (client) => {
    const ids = [...rootRunIds];
    await client.query(`SELECT run_id FROM ${s}.runs WHERE root_run_id = ANY($1::text[]) ORDER BY run_id FOR UPDATE`, [ids]);
    const { param, values } = numbered([ids]);
    const check = `SELECT r.run_id FROM ${s}.runs r WHERE r.run_id = ANY($1::text[]) AND ${expiredRoot(cutoffs, `${s}.runs`, param)}`;
    const roots = (await client.query({ text: check, values, types: PG_TYPES })).rows.map((r) => r.run_id as string);
    if (roots.length === 0) return { trees: 0, runs: 0, events: 0 };
    return { trees: roots.length, ...(await deleteTreesIn(client, s, roots)) };
  });
}

/** Deletes these trees' rows, events first (their foreign key names the run). */
async function deleteTreesIn(client: pg.PoolClient, s: string, roots: readonly string[]): Promise<{ runs: number; events: number }> {
  const runsOf = `(SELECT run_id FROM ${s}.runs WHERE root_run_id = ANY($1::text[]))`;
  const k = [[...roots]];
  const events = (await client.query(`DELETE FROM ${s}.events WHERE run_id IN ${runsOf}`, k)).rowCount ?? 0;
  await client.query(`DELETE FROM ${s}.interventions WHERE run_id IN ${runsOf}`, k);
  await client.query(`DELETE FROM ${s}.budgets WHERE root_run_id = ANY($1::text[])`, k);
  const runs = (await client.query(`DELETE FROM ${s}.runs WHERE root_run_id = ANY($1::text[])`, k)).rowCount ?? 0;
  return { runs, events };
}

/** All or nothing on one pooled connection; a broken connection is dropped, not reused. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
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
