import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { clockPast, rejectsWith, uid, type ConformanceContext } from './fixtures.ts';

/** Entity locks: calls with the same `lockKey` never overlap, across runs and processes. */
export function locks({ test, reopen }: ConformanceContext): void {
  describe('entity locks', () => {
    test('gives a free lock to one holder and names that holder to the others', async (store) => {
      const key = `order:${uid()}`;
      assert.deepEqual(await store.acquireLock(key, 'run_a/call_1', 60_000), { acquired: true });
      const refused = await store.acquireLock(key, 'run_b/call_1', 60_000);
      assert.equal(refused.acquired, false);
      assert.equal(refused.acquired === false && refused.holder, 'run_a/call_1');
      assert.deepEqual(await store.acquireLock(key, 'run_a/call_1', 60_000), { acquired: true }, 'the holder may renew');
    });

    test('frees a lock on release by its holder only', async (store) => {
      const key = `order:${uid()}`;
      await store.acquireLock(key, 'h1', 60_000);
      await store.releaseLock(key, 'h2');
      assert.equal((await store.acquireLock(key, 'h2', 60_000)).acquired, false);
      await store.releaseLock(key, 'h1');
      assert.equal((await store.acquireLock(key, 'h2', 60_000)).acquired, true);
    });

    test('lets another holder take an expired lock, or a live one with force', async (store) => {
      const key = `order:${uid()}`;
      await store.acquireLock(key, 'h1', 1);
      await clockPast(Date.now() + 1); // the lock expires at most 1 ms after the store's clock read, which came before this one
      assert.equal((await store.acquireLock(key, 'h2', 60_000)).acquired, true);
      assert.equal((await store.acquireLock(key, 'h3', 60_000, { force: true })).acquired, true);
      const after = await store.acquireLock(key, 'h1', 60_000);
      assert.equal(after.acquired === false && after.holder, 'h3');
    });

    test('refuses an empty key', async (store) => {
      await rejectsWith(store.acquireLock('', 'h', 1000), 'INVALID_ARGUMENT');
    });

    if (reopen) {
      test('holds across connections: two workers racing for one key, one wins', async (store) => {
        const other = await reopen(store);
        try {
          const key = `order:${uid()}`;
          const [a, b] = await Promise.all([store.acquireLock(key, 'w1', 60_000), other.acquireLock(key, 'w2', 60_000)]);
          assert.equal([a, b].filter((x) => x.acquired).length, 1);
        } finally {
          await other.close();
        }
      });
    }
  });
}
