import { WardenError } from '../core/errors.ts';

/**
 * What both SQL stores share about migrations: their shape, how an applied one is recorded, and
 * the check that a database's recorded history is a prefix of this Warden's list.
 */
export interface Migration {
  /** Position in the list, from 1; recorded in `schema_migrations`. */
  id: number;
  /** kebab-case summary, recorded next to the id so a mismatched history is caught. */
  name: string;
  /** SQL run once, inside the migrating transaction. */
  up: string;
}

/** A migration as recorded in the database. */
export interface AppliedMigration {
  id: number;
  name: string;
  /** When it was applied, ms since the epoch. */
  appliedAt: number;
}

export interface MigrationReport {
  /** Migrations this call applied, in order (empty when the schema was current). */
  applied: Migration[];
  /** Id of the newest migration in the database afterwards. */
  current: number;
}

/**
 * Throws unless `done` (the database's history) is a prefix of `known`: a longer history means a
 * newer Warden wrote it (`STORE_UNAVAILABLE`: upgrade), a different one means someone else's
 * schema (`STORE_CORRUPT`).
 */
export function checkHistory(done: AppliedMigration[], known: readonly Migration[]): void {
  const newest = done.at(-1);
  if (done.length > known.length && newest) {
    throw new WardenError(
      'STORE_UNAVAILABLE',
      `The database schema is at migration ${newest.id} (${newest.name}), newer than this Warden knows (${known.length}); upgrade Warden to open it`,
    );
  }
  done.forEach((d, i) => {
    const k = known[i];
    if (k === undefined) return; // unreachable: done is no longer than known (checked above)
    if (d.id !== k.id || d.name !== k.name) {
      throw new WardenError(
        'STORE_CORRUPT',
        `The database's migration history differs from this Warden's: expected ${k.id} ${k.name}, found ${d.id} ${d.name}`,
      );
    }
  });
}
