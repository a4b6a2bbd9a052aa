import { WardenError } from '../../core/errors.ts';

/** Network failures the driver reports with a Node error code instead of a SQLSTATE. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/**
 * Turns whatever a `pg` call threw into a `WardenError`, with the same codes the SQLite store
 * uses. Typed errors pass through; a duplicate key (SQLSTATE 23505) is `CONFLICT`; data the
 * server reports as damaged (XX001, XX002) is `STORE_CORRUPT`; everything else (the server down
 * or restarting, a dropped connection, a timeout, a constraint the store did not expect) is
 * `STORE_UNAVAILABLE`, with the driver's error as `cause`, so callers retry without parsing
 * messages.
 *
 * @example
 * try { await pool.query(…) } catch (e) { throw toPgStoreError(e, 'commit of run r1') }
 */
export function toPgStoreError(e: unknown, what: string): WardenError {
  if (e instanceof WardenError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const detail = e instanceof Error ? e.message || String(code ?? e.name) : String(e);
  if (code === '23505') return new WardenError('CONFLICT', `${what} failed: ${detail}; ids must be unique`, { cause: e });
  if (code === 'XX001' || code === 'XX002') {
    return new WardenError('STORE_CORRUPT', `${what} failed: PostgreSQL reports damaged data (${detail}); restore from a backup`, { cause: e });
  }
  const hint =
    typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('57P')) ? ' (is PostgreSQL running and reachable?)' : '';
  return new WardenError('STORE_UNAVAILABLE', `${what} failed: ${detail}${hint}`, { cause: e });
}

/** True when the error means the connection itself is unusable, so the pool must drop it. */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('57P'))) return true;
  return e instanceof Error && /Connection terminated|not queryable|Client was closed/i.test(e.message);
}
