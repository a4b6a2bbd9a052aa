import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { WardenError } from '../core/errors.ts';
import type { Store } from '../core/ports/store.ts';

/** What a key may do. `admin` may do everything; the others one job each. */
export type Role = 'submitter' | 'approver' | 'operator' | 'viewer' | 'admin';
export const ROLES: readonly Role[] = ['submitter', 'approver', 'operator', 'viewer', 'admin'];

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  /** Tenants the key may see and act for; `['*']` for all. */
  tenants: string[];
  createdAt: number;
  revokedAt?: number;
}

const BY_HASH = 'api-key';
const BY_ID = 'api-key-id';

function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * Creates a key and returns its secret, which is shown once and stored only as a SHA-256 hash.
 *
 * @example
 * const { key, secret } = await createApiKey(store, { name: 'ana', role: 'approver', tenants: ['acme'] });
 */
export async function createApiKey(store: Store, spec: { name: string; role: Role; tenants: string[] }): Promise<{ key: ApiKey; secret: string }> {
  if (!ROLES.includes(spec.role)) throw new WardenError('INVALID_ARGUMENT', `role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(spec.role)}`);
  if (!spec.name?.trim()) throw new WardenError('INVALID_ARGUMENT', 'A key needs a name (who or what uses it)');
  const tenants = spec.tenants.length ? spec.tenants : ['*'];
  const id = `key_${randomBytes(6).toString('hex')}`;
  const secret = `wk_${randomBytes(24).toString('base64url')}`;
  const key: ApiKey = { id, name: spec.name.trim(), role: spec.role, tenants, createdAt: Date.now() };
  const hash = hashOf(secret);
  await store.putRecord(BY_HASH, hash, key);
  await store.putRecord(BY_ID, id, { hash });
  return { key, secret };
}

/** The live key a secret belongs to, or null. Compares hashes in constant time. */
export async function authenticate(store: Store, secret: string): Promise<ApiKey | null> {
  if (typeof secret !== 'string' || !secret.startsWith('wk_') || secret.length > 200) return null;
  const hash = hashOf(secret);
  const key = (await store.getRecord(BY_HASH, hash)) as ApiKey | undefined;
  if (!key || key.revokedAt) return null;
  const stored = (await store.getRecord(BY_ID, key.id)) as { hash: string } | undefined;
  if (!stored || !timingSafeEqual(Buffer.from(stored.hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  return key;
}

/**
 * The key with this id as it is stored now, revoked or not; undefined when there is none. Long-lived
 * requests (event streams) call it to notice a key revoked after they were authenticated.
 *
 * @example
 * const key = await getApiKey(store, 'key_1a2b3c4d5e6f');
 * if (!key || key.revokedAt) stream.close();
 */
export async function getApiKey(store: Store, id: string): Promise<ApiKey | undefined> {
  const ref = (await store.getRecord(BY_ID, id)) as { hash: string } | undefined;
  return ref ? ((await store.getRecord(BY_HASH, ref.hash)) as ApiKey | undefined) : undefined;
}

export async function listApiKeys(store: Store): Promise<ApiKey[]> {
  const ids = await store.listRecords(BY_ID);
  const keys: ApiKey[] = [];
  for (const { value } of ids) {
    const key = (await store.getRecord(BY_HASH, (value as { hash: string }).hash)) as ApiKey | undefined;
    if (key) keys.push(key);
  }
  return keys.sort((a, b) => a.createdAt - b.createdAt);
}

export async function revokeApiKey(store: Store, id: string): Promise<ApiKey> {
  const ref = (await store.getRecord(BY_ID, id)) as { hash: string } | undefined;
  const key = ref && ((await store.getRecord(BY_HASH, ref.hash)) as ApiKey | undefined);
  if (!ref || !key) throw new WardenError('NOT_FOUND', `No API key with id "${id}"`);
  const revoked = { ...key, revokedAt: key.revokedAt ?? Date.now() };
  await store.putRecord(BY_HASH, ref.hash, revoked);
  return revoked;
}

/** True when the key may see and act for `tenant`. */
export function coversTenant(key: ApiKey, tenant: string): boolean {
  return key.tenants.includes('*') || key.tenants.includes(tenant);
}
