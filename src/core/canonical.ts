import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';

/** Key-sorted JSON: the same value always gives the same text, whatever the key order. */
const stableStringify = stringify.configure({ deterministic: true, circularValue: '[Circular]', bigint: true });

export function canonicalJson(value: unknown): string {
  return stableStringify(value) ?? 'null';
}

/**
 * Hash of a value's canonical JSON. Approvals are bound to the hash of the exact arguments they
 * were given for, and the loop detector compares calls and results by it.
 */
export function hashValue(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32);
}
