/**
 * Whether a store target names PostgreSQL (`postgres://` or `postgresql://`) rather than a SQLite
 * file. Kept apart from the PostgreSQL adapter so that asking does not load the driver.
 */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}
