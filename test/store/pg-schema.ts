import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A schema of its own for one test file on the shared PostgreSQL (other suites and other
 * people's tests use the same database): created lazily by the store, dropped at the end.
 */
export const PG_URL = process.env.WARDEN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** `PG_URL` with `?schema=`: what a CLI child process gets as `--db`. */
export function urlWithSchema(schema: string): string {
  return `${PG_URL}?schema=${schema}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
