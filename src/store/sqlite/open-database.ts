import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../../errors.ts';
import type { MigrationReport } from '../migration-history.ts';
import { migrate } from './migrations.ts';
import { toStoreError } from './sqlite-errors.ts';

/** How long a write waits for another process's transaction before giving up, ms. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** True for paths SQLite does not treat as a file on disk. */
function isInMemory(path: string): boolean {
  return path === ':memory:' || path === '' || path.startsWith('file:');
}

/**
 * Opens (creating if needed) a SQLite database for the store: parent directories, pragmas, and
 * the schema migrated to the newest version. Throws `STORE_CORRUPT` for a file that is not a
 * database and `STORE_UNAVAILABLE` for anything else that stops it opening.
 *
 * @example
 * const db = openDatabase('.warden/warden.db');
 */
export function openDatabase(path: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): DatabaseSync {
  return open(path, busyTimeoutMs).db;
}

/**
 * Opens the file as the store would, reports which migrations that applied, and closes it:
 * `warden migrate` for SQLite.
 *
 * @example
 * migrateFile('.warden/warden.db').applied.map((m) => m.name)
 */
export function migrateFile(path: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): MigrationReport {
  const { db, report } = open(path, busyTimeoutMs);
  db.close();
  return report;
}

/**
 * A SQLite database that already holds tables, none of them Warden's migration ledger, belongs to
 * something else: adopting it would mix Warden's tables into another application's file. An empty
 * database (no tables yet, or a file of 0 bytes) is a new store: SQLite creates the file before it
 * writes a byte, so refusing empty files would race with another process creating the same store.
 */
function refuseForeign(db: DatabaseSync, path: string): void {
  const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  if (tables.length === 0 || tables.includes('schema_migrations')) return;
  const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length} tables)` : '');
  throw new WardenError(
    'INVALID_ARGUMENT',
    `${path} is a SQLite database of something else (tables: ${shown}), not a Warden store; Warden will not add its tables to it. Point --db (or WARDEN_DB) at a new file or an existing Warden store.`,
  );
}

function open(path: string, busyTimeoutMs: number): { db: DatabaseSync; report: MigrationReport } {
  let db: DatabaseSync | undefined;
  try {
    if (!isInMemory(path)) mkdirSync(dirname(resolve(path)), { recursive: true });
    db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
    // busy_timeout first, so switching to WAL waits for another process instead of failing.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    // WAL: readers never block the writer. NORMAL: a commit survives a process crash; a power
    // loss may drop the last commits but never corrupts the file.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
    refuseForeign(db, path);
    const report = migrate(db);
    return { db, report };
  } catch (e) {
    try {
      db?.close();
    } catch {
      // The open already failed; that error is the one worth reporting.
    }
    throw toStoreError(e, `Opening the SQLite store at ${path}`);
  }
}
