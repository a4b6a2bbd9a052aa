import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
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
