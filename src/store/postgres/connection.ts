import pg from 'pg';
import { WardenError } from '../../core/errors.ts';

/** The schema a store uses when neither the options nor the URL name one. */
export const DEFAULT_SCHEMA = 'warden';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `"name"`, after checking it is a plain identifier (no quoting games in DDL). */
export function quoteSchema(schema: string): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new WardenError(
      'INVALID_CONFIG',
      `A PostgreSQL schema name must be a plain identifier (letters, digits, _; at most 63), got ${JSON.stringify(schema)}`,
    );
  }
  return `"${schema}"`;
}

export { isPostgresUrl } from '../store-url.ts';

/**
 * Splits Warden's own `schema` query parameter off a connection URL, so one string (a `--db`
 * flag, `WARDEN_DB`) can name both the database and the schema:
 *
 * @example
 * splitUrl('postgres://u@h/db?schema=tenant_a') // { url: 'postgres://u@h/db', schema: 'tenant_a' }
 */
export function splitUrl(target: string): { url: string; schema?: string } {
  let parsed: URL;
  try {
    parsed = new URL(target);
  } catch (cause) {
    throw new WardenError('INVALID_CONFIG', `Not a valid PostgreSQL URL: ${redact(target)}`, { cause });
  }
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/**
 * int8 (bigint) columns hold money in nano-USD and times in ms, both well inside 2^53, so they
 * are parsed as numbers. Passed per query, leaving the global `pg.types` of a caller's pool alone.
 */
export const PG_TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;
