import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isWardenError } from '../../src/core/errors.ts';
import { nanoToUsd } from '../../src/core/money.ts';
import type { Store } from '../../src/core/ports/store.ts';
import { windowOf } from '../../src/guard/fleet-budgets.ts';
import { BudgetBook } from '../../src/runtime/budget-book.ts';
import { createWarden, type Warden, type WardenOptions } from '../../src/runtime/warden.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { dropSchema, PG_URL, uniqueSchema, urlWithSchema } from '../store/pg-schema.ts';
import { runCli, scriptedAgent, tempDir } from '../helpers.ts';

// As in fleet-budgets.test.ts: one model call of this agent reserves exactly R, whatever the budget.
const agent = () =>
  scriptedAgent([{ text: 'done', usage: { inputTokens: 400, outputTokens: 64 } }], [], { name: 'desk', limits: { maxOutputTokens: 64, maxSteps: 4 } });
const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);
const DAY_KEY = `tenant:acme|day|${windowOf('day', T0).start}`;

async function reservationNano(): Promise<number> {
  const w = createWarden({ store: createSqliteStore({ path: ':memory:' }), sleep: async () => {} });
  const r = await w.run(agent(), 'hi');
  const reserved = (await w.events(r.runId)).find((e) => e.type === 'budget.reserved');
  assert.ok(reserved?.type === 'budget.reserved');
  return reserved.data.amountNano;
}

function wardenAt(store: Store, clock: { t: number }, options: Omit<WardenOptions, 'store'> = {}): Warden {
  return createWarden({ store, now: () => clock.t, sleep: async () => {}, ...options });
}

/** Runs acme's requests until the budget refuses or stops one; how many completed first. */
async function exhaust(w: Warden, max = 100): Promise<number> {
  for (let i = 0; i < max; i++) {
    const r = await w.run(agent(), 'hi', { tenant: 'acme' }).catch((e) => e);
    if (isWardenError(r, 'BUDGET_EXHAUSTED') || r?.stopReason === 'budget_exhausted') return i;
    if (r instanceof Error) throw r;
  }
  throw new Error(`not exhausted after ${max} runs`);
}

async function neverOver(store: Store): Promise<void> {
  const [row] = await store.getFleetBudgets([DAY_KEY]);
  assert.ok(row, 'the window was reserved against');
  assert.ok(row.spentNano + row.reservedNano <= row.limitNano, `spent ${row.spentNano} + reserved ${row.reservedNano} ≤ ${row.limitNano}`);
}

describe('stored budgets', async () => {
  const R = await reservationNano();
  const usd = (n: number) => String(nanoToUsd(Math.round(n * R)));

  /** Sets and removes acme's budget through the CLI, another process, while `w` runs; `w` holds it once its read is 1 s old. */
  async function picksUpFromAnotherProcess(db: string, store: Store): Promise<void> {
    const clock = { t: T0 };
    const w = wardenAt(store, clock);
    assert.equal((await w.run(agent(), 'hi', { tenant: 'acme' })).status, 'completed', 'no budget yet');
    const set = await runCli(['budgets', 'set', '--scope', 'tenant:acme', '--window', 'day', '--max-usd', usd(2.5), '--alert-at', '0.5', '--db', db]);
    assert.equal(set.code, 0, set.stderr);
    clock.t += 1_000; // the refresh interval: the next reservation reads the stored budgets again
    const completed = await exhaust(w);
    assert.ok(completed >= 1 && completed <= 3, `${completed} completed before the $${usd(2.5)} budget ran out`);
    await neverOver(store);
    const removed = await runCli(['budgets', 'remove', 'tenant:acme', '--window', 'day', '--db', db]);
    assert.equal(removed.code, 0, removed.stderr);
    clock.t += 1_000;
    assert.equal((await w.run(agent(), 'hi', { tenant: 'acme' })).status, 'completed', 'a removed budget holds nothing');
  }

  it('a running Warden on a shared SQLite file holds a budget another process sets, and lets go of it once removed', async () => {
    const db = join(tempDir(), 'shared.db');
    await picksUpFromAnotherProcess(db, createSqliteStore({ path: db }));
  });

  it("announces a stored budget's alert thresholds like a config budget's", async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const clock = { t: T0 };
    const w = wardenAt(store, clock);
    await w.budgetBook.set({ scope: 'tenant:acme', window: 'day', maxUsd: Number(usd(4)), alertAt: [0.5] });
    await exhaust(w);
    const thresholds = [];
    for (const run of await store.listRuns({ tenant: 'acme', limit: 100 }))
      for (const e of await store.loadEvents(run.runId)) if (e.type === 'budget.alert') thresholds.push([e.data.scope, e.data.threshold]);
    assert.deepEqual(thresholds, [['tenant:acme', 0.5]]);
  });

  it('with budgetRefreshMs 0, holds a budget stored through another connection from the very next reservation', async () => {
    const path = join(tempDir(), 'zero.db');
    const clock = { t: T0 };
    const w = wardenAt(createSqliteStore({ path }), clock, { budgetRefreshMs: 0 });
    assert.equal((await w.run(agent(), 'hi', { tenant: 'acme' })).status, 'completed');
    const other = new BudgetBook(createSqliteStore({ path }), [], 0, () => clock.t);
    await other.set({ scope: 'tenant:acme', window: 'day', maxUsd: Number(usd(0.5)) });
    await assert.rejects(w.run(agent(), 'hi', { tenant: 'acme' }), (e) => isWardenError(e, 'BUDGET_EXHAUSTED'));
  });

  it('lets a stored budget override a config budget of the same scope and window: one limit, one window of spend', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const clock = { t: T0 };
    const w = wardenAt(store, clock, { budgets: [{ scope: 'tenant:acme', window: 'day', maxUsd: Number(usd(100)) }] });
    assert.equal((await w.run(agent(), 'hi', { tenant: 'acme' })).status, 'completed', 'spent under the config budget');
    await w.budgetBook.set({ scope: 'tenant:acme', window: 'day', maxUsd: Number(usd(2.5)) });
    assert.ok((await exhaust(w)) <= 1, 'the spend before the override counts in the same window');
    await neverOver(store);
    const listed = await w.budgetBook.list();
    assert.deepEqual(
      listed.map((s) => [s.source, s.active, nanoToUsd(s.limitNano)]),
      [
        ['stored', true, Number(usd(2.5))],
        ['config', false, Number(usd(100))],
      ],
    );
    assert.equal(listed[0]?.spentNano, listed[1]?.spentNano, 'they share the window');
    await w.budgetBook.remove('tenant:acme');
    assert.equal((await w.run(agent(), 'hi', { tenant: 'acme' })).status, 'completed', 'the config budget holds again');
  });

  it('lists spend against each budget with the projection at the rate so far (injected clock)', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const clock = { t: windowOf('day', T0).start + 2 * 3_600_000 }; // 02:00 UTC
    const w = wardenAt(store, clock, { budgets: [{ scope: 'all', window: 'day', maxUsd: 1_000 }] });
    for (let i = 0; i < 3; i++) await w.run(agent(), 'hi');
    const [status] = await w.budgetBook.list();
    assert.ok(status && status.spentNano > 0);
    // Two hours in: the day ends at twelve times the spend so far.
    assert.equal(status.projectedNano, status.spentNano * 12);
    assert.equal(status.rateNanoPerHour, Math.round(status.spentNano / 2));
    assert.equal(status.exhaustsAt, null);
  });

  describe('on PostgreSQL', () => {
    const schema = uniqueSchema('stored_budgets');
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await dropSchema(schema);
    });

    it('a running Warden holds a budget another process sets, and lets go of it once removed', async () => {
      const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 4 });
      stores.push(store);
      await picksUpFromAnotherProcess(urlWithSchema(schema), store);
    });
  });
});

describe('a fleet budget refusing the next reservation', () => {
  it('keeps what the run decided before it: the last call settled, its step in the log, nothing left reserved', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const clock = { t: T0 };
    // The first turn proposes a tool that does not exist: refused in place, nothing is flushed before the next call's reservation.
    const twoCalls = () =>
      scriptedAgent([{ toolCalls: [{ tool: 'no_such_tool', args: {} }], usage: { inputTokens: 400, outputTokens: 64 } }, { text: 'done' }], [], {
        name: 'desk',
        limits: { maxOutputTokens: 64, maxSteps: 4 },
      });
    const probe = await createWarden({ store: createSqliteStore({ path: ':memory:' }), sleep: async () => {} }).run(twoCalls(), 'hi');
    assert.equal(probe.status, 'completed', 'with no budget the run takes two calls');
    const first = await reservationNano();
    const w = wardenAt(store, clock, { budgets: [{ scope: 'tenant:acme', window: 'day', maxUsd: nanoToUsd(Math.round(first * 1.5)) }] });
    const r = await w.run(twoCalls(), 'hi', { tenant: 'acme' });
    assert.equal(r.stopReason, 'budget_exhausted');
    const events = await w.events(r.runId);
    assert.ok(
      events.some((e) => e.type === 'budget.committed' && e.data.reservationId === 'm1.1'),
      'the first call is settled',
    );
    assert.ok(
      events.some((e) => e.type === 'model.called'),
      "the first call's answer is in the log",
    );
    const budget = await store.getBudget(r.runId);
    assert.equal(budget?.reservedNano, 0, 'nothing left reserved on the ceiling');
    const [row] = await store.getFleetBudgets([DAY_KEY]);
    assert.equal(row?.reservedNano, 0, 'nothing left reserved in the window');
    assert.equal(row?.spentNano, budget?.spentNano, 'the window holds what the run spent');
  });
});
