import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Store, StoredBudgetRecord } from '../../../src/core/ports/store.ts';
import { rejectsWith, uid, type ConformanceContext } from './fixtures.ts';

/** This test's budgets among everything stored (other tests may share the database). */
async function mine(store: Store, scopes: readonly string[]): Promise<StoredBudgetRecord[]> {
  return (await store.listStoredBudgets()).filter((b) => scopes.includes(b.scope));
}

/** Budgets kept in the store (`warden budgets set`): stored, replaced, listed, removed, seen by another connection. */
export function storedBudgets({ test, reopen }: ConformanceContext): void {
  describe('stored budgets', () => {
    test('stores a budget, replaces it by scope and window, and lists them by scope then window', async (store) => {
      const scope = `tenant:${uid('t')}`;
      await store.putStoredBudget({ scope, window: 'day', limitNano: 50_000_000_000, alertAt: [0.8, 0.5], updatedAt: 1 });
      await store.putStoredBudget({ scope, window: '6h', limitNano: 5_000_000_000, alertAt: [], updatedAt: 2 });
      await store.putStoredBudget({ scope, window: 'day', limitNano: 70_000_000_000, alertAt: [0.9], updatedAt: 3 });
      assert.deepEqual(await mine(store, [scope]), [
        { scope, window: '6h', limitNano: 5_000_000_000, alertAt: [], updatedAt: 2 },
        { scope, window: 'day', limitNano: 70_000_000_000, alertAt: [0.9], updatedAt: 3 },
      ]);
    });

    test('keeps alert fractions in ascending order', async (store) => {
      const scope = `agent:${uid('a')}`;
      await store.putStoredBudget({ scope, window: 'month', limitNano: 1_000, alertAt: [0.9, 0.25, 0.5], updatedAt: 1 });
      assert.deepEqual((await mine(store, [scope]))[0]?.alertAt, [0.25, 0.5, 0.9]);
    });

    test("removes one window's budget, or every budget of the scope, and says how many", async (store) => {
      const scope = `tenant:${uid('t')}`;
      const other = `tenant:${uid('t')}`;
      for (const window of ['day', 'month', '2h']) await store.putStoredBudget({ scope, window, limitNano: 1_000, alertAt: [], updatedAt: 1 });
      await store.putStoredBudget({ scope: other, window: 'day', limitNano: 1_000, alertAt: [], updatedAt: 1 });
      assert.equal(await store.removeStoredBudgets(scope, 'month'), 1);
      assert.equal(await store.removeStoredBudgets(scope, 'month'), 0);
      assert.deepEqual(
        (await mine(store, [scope])).map((b) => b.window),
        ['2h', 'day'],
      );
      assert.equal(await store.removeStoredBudgets(scope), 2);
      assert.deepEqual(await mine(store, [scope]), []);
      assert.equal((await mine(store, [other])).length, 1, 'another scope is untouched');
    });

    test('refuses a malformed budget with INVALID_ARGUMENT and stores nothing', async (store) => {
      const scope = `tenant:${uid('t')}`;
      const good: StoredBudgetRecord = { scope, window: 'day', limitNano: 1_000, alertAt: [], updatedAt: 1 };
      for (const bad of [
        { ...good, limitNano: 0 },
        { ...good, limitNano: 1.5 },
        { ...good, scope: '' },
        { ...good, window: '' },
        { ...good, alertAt: [1.5] },
        { ...good, updatedAt: -1 },
      ]) {
        await rejectsWith(store.putStoredBudget(bad), 'INVALID_ARGUMENT');
      }
      assert.deepEqual(await mine(store, [scope]), []);
    });

    if (reopen) {
      test('a budget stored through one connection is listed by another, and its removal too', async (store) => {
        const scope = `tenant:${uid('t')}`;
        const second = await reopen(store);
        try {
          await store.putStoredBudget({ scope, window: 'day', limitNano: 9_000, alertAt: [0.5], updatedAt: 1 });
          assert.deepEqual(await mine(second, [scope]), [{ scope, window: 'day', limitNano: 9_000, alertAt: [0.5], updatedAt: 1 }]);
          assert.equal(await second.removeStoredBudgets(scope), 1);
          assert.deepEqual(await mine(store, [scope]), []);
        } finally {
          await second.close();
        }
      });
    }
  });
}
