import type { Command } from 'commander';
import pg from 'pg';
import { DEFAULT_SCHEMA, isPostgresUrl, splitUrl } from '../../store/postgres/connection.ts';
import { migratePostgres } from '../../store/postgres/migrations.ts';
import { toPgStoreError } from '../../store/postgres/pg-errors.ts';
import { migrateFile } from '../../store/sqlite/open-database.ts';
import type { MigrationReport } from '../../store/migration-history.ts';
import { STORE_HELP, storeTarget } from '../open-store.ts';
import { printJson } from '../output.ts';

/** Applies the store's missing migrations (PostgreSQL: under an advisory lock) and reports them. */
async function migrateTarget(target: string): Promise<MigrationReport & { store: 'sqlite' | 'postgres' }> {
  if (!isPostgresUrl(target)) return { store: 'sqlite', ...migrateFile(target) };
  const { url, schema } = splitUrl(target);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => {});
  try {
    return { store: 'postgres', ...(await migratePostgres(pool, schema ?? DEFAULT_SCHEMA)) };
  } catch (e) {
    throw toPgStoreError(e, 'Migrating the PostgreSQL store');
  } finally {
    await pool.end().catch(() => {});
  }
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description("Bring the store's schema up to date (ordered, named migrations; safe to run from many machines at once)")
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: { db?: string; json?: boolean }) => {
      const report = await migrateTarget(storeTarget(opts.db));
      if (opts.json) return printJson({ store: report.store, applied: report.applied.map((m) => ({ id: m.id, name: m.name })), current: report.current });
      const lines = report.applied.map((m) => `applied  ${m.id} ${m.name}`);
      lines.push(
        report.applied.length === 0
          ? `${report.store} schema is current (migration ${report.current})`
          : `${report.store} schema now at migration ${report.current}`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
