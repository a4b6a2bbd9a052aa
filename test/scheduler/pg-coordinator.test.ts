import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { createPostgresCoordinator } from '../../src/store/postgres/coordinator.ts';
import { quoteSchema } from '../../src/store/postgres/connection.ts';
import type { Store } from '../../src/core/ports/store.ts';
import { describeCoordinator } from './coordinator-conformance.ts';
import { dropSchema, PG_URL, uniqueSchema } from '../store/pg-schema.ts';

const schema = uniqueSchema('coord');
const stores: Store[] = [];
async function open(): Promise<Store> {
  const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 4 });
  stores.push(store);
  return store;
}
after(async () => {
  for (const s of stores) await s.close();
  await dropSchema(schema);
});

const pools: pg.Pool[] = [];
after(async () => {
  for (const p of pools) await p.end();
});

describeCoordinator('PostgreSQL', async () => {
  await open(); // creates and migrates the schema
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  pools.push(pool);
  return createPostgresCoordinator(pool, quoteSchema(schema));
});

describe('PostgreSQL coordinator across processes', () => {
  it('shares one breaker and one bucket between two stores (two workers)', async () => {
    const a = (await open()).coordinator!();
    const b = (await open()).coordinator!();
    const cfg = { failures: 2, windowMs: 60_000, cooldownMs: 60_000 };
    const key = `tool:shared-${Date.now()}`;
    await a.breakerRecord(key, false, cfg, 1);
    await b.breakerRecord(key, false, cfg, 2);
    assert.equal((await a.breakerAllows(key, cfg, 1_500)).allowed, false, 'one worker sees what the other opened, within one refresh period');
    const bucket = `rpm:${key}`;
    const grants = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).takeTokens(bucket, 1, 5, 0.000001, 100)));
    assert.equal(grants.filter((w) => w === 0).length, 5, 'five tokens, five grants, whoever asked');
  });
});
