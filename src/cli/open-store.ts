import { join } from 'node:path';
import { isPostgresUrl } from '../store/postgres/connection.ts';
import { createPostgresStore } from '../store/postgres/postgres-store.ts';
import { createSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/store.ts';

export const DEFAULT_DB = join('.warden', 'warden.db');

/** Help text of every `--db` option. */
export const STORE_HELP = 'store: a SQLite file or postgres://…[?schema=name] (default .warden/warden.db or $WARDEN_DB)';

/** The store `--db`, else `WARDEN_DB`, else `.warden/warden.db` names. */
export function storeTarget(db?: string): string {
  return db ?? process.env.WARDEN_DB ?? DEFAULT_DB;
}

/**
 * Opens the store named by `--db`, else `WARDEN_DB`, else `.warden/warden.db` in the working
 * directory. A `postgres://` (or `postgresql://`) URL selects the PostgreSQL store; its
 * `?schema=name` parameter picks the schema (default `warden`). Anything else is a SQLite file.
 */
export async function openStore(db?: string, options: { poolSize?: number } = {}): Promise<Store> {
  const target = storeTarget(db);
  if (isPostgresUrl(target)) return createPostgresStore({ url: target, poolSize: options.poolSize ?? 4 });
  return createSqliteStore({ path: target });
}
