import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { rejectsWith, uid, type ConformanceContext } from './fixtures.ts';

/** Small records by namespace: API keys, kill switches, idempotency keys. */
export function records({ test, reopen }: ConformanceContext): void {
  describe('records', () => {
    test('stores, reads, lists, overwrites and deletes a record', async (store) => {
      const ns = uid('ns');
      assert.equal(await store.getRecord(ns, 'a'), undefined);
      await store.putRecord(ns, 'a', { role: 'viewer', tenants: ['acme'] });
      await store.putRecord(ns, 'b', 2);
      assert.deepEqual(await store.getRecord(ns, 'a'), { role: 'viewer', tenants: ['acme'] });
      await store.putRecord(ns, 'a', { role: 'admin' });
      assert.deepEqual(await store.listRecords(ns), [
        { key: 'a', value: { role: 'admin' } },
        { key: 'b', value: 2 },
      ]);
      assert.equal(await store.deleteRecord(ns, 'a'), true);
      assert.equal(await store.deleteRecord(ns, 'a'), false);
      assert.deepEqual(await store.listRecords(ns), [{ key: 'b', value: 2 }]);
    });

    test('keeps the first value with ifAbsent, and tells the second caller what it is', async (store) => {
      const ns = uid('ns');
      assert.deepEqual(await store.putRecord(ns, 'idem', { runId: 'run_1' }, { ifAbsent: true }), { stored: true, value: { runId: 'run_1' } });
      assert.deepEqual(await store.putRecord(ns, 'idem', { runId: 'run_2' }, { ifAbsent: true }), { stored: false, value: { runId: 'run_1' } });
    });

    test('refuses an empty namespace or key', async (store) => {
      await rejectsWith(store.putRecord('', 'k', 1), 'INVALID_ARGUMENT');
      await rejectsWith(store.putRecord('ns', '', 1), 'INVALID_ARGUMENT');
    });

    if (reopen) {
      test('stores one value when two connections race with ifAbsent', async (store) => {
        const other = await reopen(store);
        try {
          const ns = uid('ns');
          const [a, b] = await Promise.all([store.putRecord(ns, 'k', 'first', { ifAbsent: true }), other.putRecord(ns, 'k', 'second', { ifAbsent: true })]);
          assert.equal([a, b].filter((x) => x.stored).length, 1);
          assert.equal(a.value, b.value);
        } finally {
          await other.close();
        }
      });
    }
  });
}
