import type pg from 'pg';
import {
  type BreakerRecord,
  type BreakerState,
  type BucketRecord,
  breakerGate,
  breakerNote,
  type Coordinator,
  NEW_BREAKER,
  takeFrom,
  WINDOW_BUCKETS,
} from '../../core/coordination.ts';

/**
 * Coordination shared by every worker on one PostgreSQL database: provider rate limits, the
 * global retry budget and circuit breakers live in UNLOGGED tables (fast, not crash-durable:
 * after a database crash they start afresh, which only resets counters). Each change is one short
 * transaction that locks its row, so concurrent workers see one consistent bucket or breaker.
 */
export function createPostgresCoordinator(pool: pg.Pool, schema: string): Coordinator {
  const s = schema;
  async function locked<T>(sql: string, key: string, fresh: unknown, change: (row: T) => unknown): Promise<unknown> {
    const client = await pool.connect();
    let broken: Error | undefined;
    const onError = (e: Error) => (broken = e); // a dropped connection must not end the process
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${s}.${sql} (key, data) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [key, JSON.stringify(fresh)]);
      const { rows } = await client.query(`SELECT data FROM ${s}.${sql} WHERE key = $1 FOR UPDATE`, [key]);
      const row = JSON.parse(rows[0].data) as T;
      const result = change(row);
      await client.query(`UPDATE ${s}.${sql} SET data = $2 WHERE key = $1`, [key, JSON.stringify(row)]);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch((r: Error) => (broken = r));
      throw e;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
  return {
    async takeTokens(key, amount, capacity, perMs, now) {
      return (await locked<BucketRecord>('coord_buckets', key, { tokens: capacity, at: now }, (b) => takeFrom(b, amount, capacity, perMs, now))) as number;
    },
    async count(key, add, windowMs, now) {
      const size = Math.max(1, Math.floor(windowMs / WINDOW_BUCKETS));
      const start = now - (now % size);
      // One round trip: the sum is read from the statement's snapshot (before the increment), so the
      // increment is added back here.
      const { rows } = await pool.query(
        `WITH up AS (
           INSERT INTO ${s}.coord_windows (key, bucket_start, calls, retries) SELECT $1, $2::bigint, $3::bigint, $4::bigint WHERE $3::bigint > 0 OR $4::bigint > 0
           ON CONFLICT (key, bucket_start) DO UPDATE SET calls = coord_windows.calls + $3::bigint, retries = coord_windows.retries + $4::bigint)
         SELECT coalesce(sum(calls), 0)::bigint AS calls, coalesce(sum(retries), 0)::bigint AS retries
         FROM ${s}.coord_windows WHERE key = $1 AND bucket_start + $5::bigint > $6::bigint`,
        [key, start, add.calls, add.retries, size, now - windowMs],
      );
      if (Math.random() < 0.01) await pool.query(`DELETE FROM ${s}.coord_windows WHERE key = $1 AND bucket_start + $2 <= $3`, [key, size, now - windowMs]);
      return { calls: Number(rows[0].calls) + add.calls, retries: Number(rows[0].retries) + add.retries };
    },
    async breakerAllows(key, config, now) {
      // Fast path: a closed breaker (the usual case) is read, not locked.
      if ((await this.breakerState(key)) === 'closed') return { allowed: true, state: 'closed' as const, retryInMs: 0 };
      return (await locked<BreakerRecord>('coord_breakers', key, NEW_BREAKER, (b) => breakerGate(b, config, now))) as ReturnType<typeof breakerGate>;
    },
    async breakerRecord(key, ok, config, now) {
      if (ok && (await this.breakerState(key)) === 'closed') return 'closed';
      return (await locked<BreakerRecord>('coord_breakers', key, NEW_BREAKER, (b) => breakerNote(b, ok, config, now))) as BreakerState;
    },
    async breakerState(key) {
      const { rows } = await pool.query(`SELECT data FROM ${s}.coord_breakers WHERE key = $1`, [key]);
      return rows.length ? (JSON.parse(rows[0].data) as BreakerRecord).state : 'closed';
    },
  };
}
