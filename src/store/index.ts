export { CLAIMABLE_STATUSES, DEFAULT_LIST_LIMIT } from '../core/ports/store.ts';
export type {
  BudgetOp,
  BudgetRecord,
  ClaimOptions,
  CommitBatch,
  ExternalAppendOptions,
  InterventionFilter,
  InterventionKind,
  InterventionRecord,
  InterventionStatus,
  NewIntervention,
  NewRun,
  RunFilter,
  RunPatch,
  RunRecord,
  Store,
} from '../core/ports/store.ts';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.ts';
export type { Durability } from './sqlite/open-database.ts';
export { appliedMigrations, migrate, MIGRATIONS, type AppliedMigration, type Migration, type MigrationReport } from './sqlite/migrations.ts';
export { createPostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.ts';
export { appliedPostgresMigrations, migratePostgres, PG_MIGRATIONS } from './postgres/migrations.ts';
