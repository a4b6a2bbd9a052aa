import { join } from 'node:path';
import { WardenError } from '../errors.ts';
import { createSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/store.ts';

export const DEFAULT_DB = join('.warden', 'warden.db');

/**
 * Opens the store named by `--db`, else `WARDEN_DB`, else `.warden/warden.db` in the working
 * directory. A `postgres://` URL selects the PostgreSQL store.
 */
export async function openStore(db?: string): Promise<Store> {
  const target = db ?? process.env.WARDEN_DB ?? DEFAULT_DB;
  if (/^postgres(ql)?:\/\//.test(target)) {
    throw new WardenError('INVALID_CONFIG', 'PostgreSQL stores are not available in this build; use a SQLite file path');
  }
  return createSqliteStore({ path: target });
}
