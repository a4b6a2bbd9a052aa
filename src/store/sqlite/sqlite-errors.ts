import { WardenError } from '../../core/errors.ts';

// Primary SQLite result codes that mean the file itself is damaged or is not a database.
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;
// Extended codes for a duplicate key: the caller wrote an id that already exists.
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/**
 * Turns whatever a SQLite call threw into a `WardenError`. Typed errors pass through; a damaged
 * file becomes `STORE_CORRUPT`; a duplicate id becomes `CONFLICT`; anything else (busy past the timeout, disk full, I/O error, a
 * constraint the store did not expect) becomes `STORE_UNAVAILABLE`, with the SQLite error as the
 * cause, so callers can retry or page someone without parsing messages.
 *
 * @example
 * try { stmt.run(…) } catch (e) { throw toStoreError(e, 'commit of run r1') }
 */
export function toStoreError(e: unknown, what: string): WardenError {
  if (e instanceof WardenError) return e;
  const errcode = (e as { errcode?: unknown } | null)?.errcode;
  const detail = e instanceof Error ? e.message : String(e);
  if (typeof errcode === 'number') {
    // Extended codes carry the primary code in the low byte.
    const primary = errcode & 0xff;
    if (primary === SQLITE_CORRUPT || primary === SQLITE_NOTADB) {
      return new WardenError('STORE_CORRUPT', `${what} failed: the SQLite file is damaged or not a Warden database (${detail}); restore it from a backup`, {
        cause: e,
      });
    }
    if (errcode === SQLITE_CONSTRAINT_PRIMARYKEY || errcode === SQLITE_CONSTRAINT_UNIQUE) {
      return new WardenError('CONFLICT', `${what} failed: ${detail}; ids must be unique`, { cause: e });
    }
  }
  return new WardenError('STORE_UNAVAILABLE', `${what} failed: ${detail}`, { cause: e });
}
