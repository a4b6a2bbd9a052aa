import { join } from 'node:path';
import { WardenError } from '../core/errors.ts';
import { isPostgresUrl } from '../store/store-url.ts';
import { createSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { checkDurability } from '../store/sqlite/open-database.ts';
import type { Store } from '../core/ports/store.ts';

export const DEFAULT_DB = join('.warden', 'warden.db');

/** Help text of every `--db` option. */
export const STORE_HELP = 'store: a SQLite file or postgres://…[?schema=name] (default .warden/warden.db or $WARDEN_DB)';

/** Help text of `--durability`, where a command writes runs. */
export const DURABILITY_HELP =
  'SQLite only: what a commit survives, process (a killed process; default) or power (a power cut too, a sync per commit); default $WARDEN_DURABILITY or process';

/** The store `--db`, else `WARDEN_DB`, else `.warden/warden.db` names. */
export function storeTarget(db?: string): string {
  return db ?? process.env.WARDEN_DB ?? DEFAULT_DB;
}

/**
 * Opens the store named by `--db`, else `WARDEN_DB`, else `.warden/warden.db` in the working
 * directory. A `postgres://` (or `postgresql://`) URL selects the PostgreSQL store; its
 * `?schema=name` parameter picks the schema (default `warden`). Anything else is a SQLite file,
 * opened with `--durability`, else `WARDEN_DURABILITY`, else `process` (see `Durability`).
 */
export async function openStore(db?: string, options: { poolSize?: number; durability?: string } = {}): Promise<Store> {
  const target = storeTarget(db);
  if (isPostgresUrl(target)) {
    const { createPostgresStore } = await import('../store/postgres/postgres-store.ts');
    return createPostgresStore({ url: target, poolSize: options.poolSize ?? 4 });
  }
  checkNotUrl(target);
  const durability = options.durability ?? process.env.WARDEN_DURABILITY;
  return createSqliteStore({
    path: target,
    ...(durability !== undefined ? { durability: checkDurability(durability, options.durability ? '--durability' : 'WARDEN_DURABILITY') } : {}),
  });
}

/**
 * A URL that is not postgres:// is a mistake (`mysql://…`, `postgress://…`), never a SQLite file
 * to be created under that odd name in the working directory.
 */
export function checkNotUrl(target: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target)?.[1];
  if (scheme === undefined) return;
  const from = process.env.WARDEN_DB === target ? 'WARDEN_DB' : '--db';
  throw new WardenError(
    'INVALID_ARGUMENT',
    `${from} is a ${scheme}:// URL, which Warden cannot use: a store is a SQLite file path or a postgres:// (postgresql://) URL`,
  );
}
