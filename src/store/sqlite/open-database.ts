import { randomBytes } from 'node:crypto';
import { constants, copyFileSync, existsSync, linkSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { WardenError } from '../../core/errors.ts';
import type { MigrationReport } from '../migration-history.ts';
import { migrate } from './migrations.ts';
import { toStoreError } from './sqlite-errors.ts';

/** How long a write waits for another process's transaction before giving up, ms. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/**
 * What a committed write survives. `process`: the process being killed (SIGKILL, a crash, an OOM
 * kill); a power cut or kernel panic may lose the last commits, never corrupt the file
 * (`synchronous = NORMAL`: the WAL is synced at checkpoints, not at every commit). `power`: a power
 * cut as well (`synchronous = FULL`: every commit syncs the WAL before it returns).
 */
export type Durability = 'process' | 'power';

export const DURABILITIES: readonly Durability[] = ['process', 'power'];

/** The `synchronous` pragma that keeps a durability's promise. */
export function synchronousOf(durability: Durability): 'NORMAL' | 'FULL' {
  return durability === 'power' ? 'FULL' : 'NORMAL';
}

/** Checks a durability from an option, flag or environment variable. */
export function checkDurability(value: unknown, from = 'durability'): Durability {
  if (value === 'process' || value === 'power') return value;
  throw new WardenError('INVALID_ARGUMENT', `${from} must be "process" or "power", got ${JSON.stringify(value)}`);
}

/** True for paths SQLite does not treat as a file on disk. */
export function isInMemory(path: string): boolean {
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
export function openDatabase(path: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS, durability: Durability = 'process'): DatabaseSync {
  return open(path, busyTimeoutMs, durability).db;
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
 * Warden creates its store file itself, atomically (`createAtomically`), so a file already at the
 * path is a Warden store, or not one: an empty file or database, or another application's tables.
 * Adopting either would mix Warden's tables into a file that is not Warden's; both are refused.
 */
function refuseNotWarden(db: DatabaseSync, path: string): void {
  const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );
  if (tables.includes('schema_migrations')) return;
  const where = 'Point --db (or WARDEN_DB) at a path where Warden may create its store, or at an existing Warden store.';
  if (tables.length === 0) {
    throw new WardenError(
      'INVALID_ARGUMENT',
      `${path} exists but is empty (no tables): it is not a Warden store, and Warden creates its store itself. Remove it, or ${where.charAt(0).toLowerCase()}${where.slice(1)}`,
    );
  }
  const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length} tables)` : '');
  throw new WardenError(
    'INVALID_ARGUMENT',
    `${path} is a SQLite database of something else (tables: ${shown}), not a Warden store; Warden will not add its tables to it. ${where}`,
  );
}

/**
 * Creates a new store at `path` so that no other process ever sees it half made: the schema is
 * built in a file of its own beside it, which is then hard-linked to `path` (an atomic create
 * that fails if the path exists). When another process created the store first, theirs is used.
 * Returns the migrations applied, or null when another process won.
 */
function createAtomically(path: string, busyTimeoutMs: number): MigrationReport | null {
  const temp = `${path}.creating-${process.pid}-${randomBytes(4).toString('hex')}`;
  let report: MigrationReport | null;
  try {
    const db = new DatabaseSync(temp, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
    try {
      db.exec('PRAGMA journal_mode = WAL');
      report = migrate(db);
    } finally {
      db.close(); // the last connection: SQLite checkpoints the WAL into the file
    }
    try {
      linkSync(temp, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') report = null;
      else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS')
        copyFileSync(temp, path, constants.COPYFILE_EXCL); // no hard links here
      else throw e;
    }
  } finally {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${temp}${suffix}`, { force: true });
  }
  return report;
}

function open(path: string, busyTimeoutMs: number, durability: Durability = 'process'): { db: DatabaseSync; report: MigrationReport } {
  let db: DatabaseSync | undefined;
  try {
    let created: MigrationReport | null = null;
    if (!isInMemory(path)) {
      mkdirSync(dirname(resolve(path)), { recursive: true });
      if (!existsSync(path)) created = createAtomically(path, busyTimeoutMs);
    }
    db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
    // busy_timeout first, so switching to WAL waits for another process instead of failing.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    // Before anything writes to the file: a file that is not a Warden store is left as it was.
    if (!isInMemory(path)) refuseNotWarden(db, path);
    // WAL: readers never block the writer. NORMAL ('process'): a commit survives a process crash;
    // a power loss may drop the last commits but never corrupts the file. FULL ('power'): a commit
    // survives a power loss too.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${synchronousOf(durability)}`);
    db.exec('PRAGMA foreign_keys = ON');
    const report = migrate(db);
    return { db, report: created ? { ...report, applied: [...created.applied, ...report.applied] } : report };
  } catch (e) {
    try {
      db?.close();
    } catch {
      // The open already failed; that error is the one worth reporting.
    }
    throw toStoreError(e, `Opening the SQLite store at ${path}`);
  }
}
