import { describe } from 'node:test';
import type { Store } from '../../src/core/ports/store.ts';
import { budget } from './conformance/budget.ts';
import { claims } from './conformance/claims.ts';
import { connections } from './conformance/connections.ts';
import { conversations } from './conformance/conversations.ts';
import { storeTest, type ConformanceContext } from './conformance/fixtures.ts';
import { interventionsAndExternalWrites } from './conformance/interventions.ts';
import { leases } from './conformance/leases.ts';
import { locks } from './conformance/locks.ts';
import { records } from './conformance/records.ts';
import { retention } from './conformance/retention.ts';
import { runsAndEvents } from './conformance/runs-and-events.ts';
import { storedBudgets } from './conformance/stored-budgets.ts';
import { webhooks } from './conformance/webhooks.ts';

export interface ConformanceOptions {
  /**
   * Opens a second, independent connection to the database behind `store`, as a second worker
   * process would. Enables the durability and cross-connection tests; leave it out when no second
   * connection can see the same data (SQLite `:memory:`).
   */
  reopen?: (store: Store) => Promise<Store>;
}

/**
 * The behaviour every `Store` must have, as one `node:test` suite. `makeStore` returns a store
 * ready to use; each test takes a fresh one and closes it. Tests use random ids, so the stores
 * may share one database.
 *
 * @example
 * describeStoreConformance('sqlite :memory:', async () => createSqliteStore({ path: ':memory:' }));
 */
export function describeStoreConformance(name: string, makeStore: () => Promise<Store>, options: ConformanceOptions = {}): void {
  const context: ConformanceContext = { test: storeTest(makeStore), reopen: options.reopen };
  describe(`Store conformance: ${name}`, () => {
    runsAndEvents(context);
    budget(context);
    storedBudgets(context);
    interventionsAndExternalWrites(context);
    leases(context);
    locks(context);
    records(context);
    claims(context);
    connections(context);
    webhooks(context);
    conversations(context);
    retention(context);
  });
}
