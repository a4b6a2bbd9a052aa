import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isWardenError } from '../../src/core/errors.ts';
import { nanoToUsd } from '../../src/core/money.ts';
import type { Store } from '../../src/core/ports/store.ts';
import { createWarden, type Warden } from '../../src/runtime/warden.ts';
import type { FleetBudget } from '../../src/guard/fleet-budgets.ts';
import { windowOf } from '../../src/guard/fleet-budgets.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { dropSchema, PG_URL, uniqueSchema } from '../store/pg-schema.ts';
import { scriptedAgent, tempDir } from '../helpers.ts';
import { join } from 'node:path';
import { createMetrics } from '../../src/observe/metrics.ts';

// One model call of these agents reserves exactly RESERVE: 64 output tokens cap the call, and the
// scripted model's price is fixed. Budgets below are whole multiples of it.
const limits = { maxOutputTokens: 64, maxSteps: 4 };
// Usage reported at the cap, so each run spends most of what it reserves and budgets fill quickly.
const agent = (name = 'desk') => scriptedAgent([{ text: 'done', usage: { inputTokens: 400, outputTokens: 64 } }], [], { name, limits: { ...limits } });

const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);

function wardenAt(store: Store, budgets: FleetBudget[], clock: { t: number }, worker = 'w1'): Warden {
  return createWarden({ store, budgets, now: () => clock.t, sleep: async () => {}, worker });
}

/** What one run reserves for its model call, measured once. */
async function reservationNano(): Promise<number> {
  const store = createSqliteStore({ path: ':memory:' });
  const w = createWarden({ store, sleep: async () => {} });
  const r = await w.run(agent(), 'hi');
  const reserved = (await w.events(r.runId)).find((e) => e.type === 'budget.reserved');
  assert.ok(reserved?.type === 'budget.reserved');
  return reserved.data.amountNano;
}

describe('fleet budgets', async () => {
  const R = await reservationNano();
  const usd = (n: number) => nanoToUsd(n * R);

  /** Runs until a run is refused at submission or stopped by the budget (at most `max` runs). */
  async function exhaust(w: Warden, tenant: string, name = 'desk', max = 200): Promise<'refused' | 'stopped'> {
    for (let i = 0; i < max; i++) {
      const r = await w.run(agent(name), 'hi', { tenant }).catch((e) => e);
      if (isWardenError(r, 'BUDGET_EXHAUSTED')) return 'refused';
      if (r?.stopReason === 'budget_exhausted') return 'stopped';
      if (r instanceof Error) throw r;
    }
    throw new Error(`not exhausted after ${max} runs`);
  }

  it('refuses a run at submission when the window has less room than its first call needs', async () => {
    const clock = { t: T0 };
    const store = createSqliteStore({ path: ':memory:' });
    const w = wardenAt(store, [{ scope: 'tenant:acme', window: 'day', maxUsd: usd(0.01) }], clock);
    await assert.rejects(
      w.submit(agent(), 'hi', { tenant: 'acme' }),
      (e) => isWardenError(e, 'BUDGET_EXHAUSTED') && /day budget of tenant:acme is exhausted/.test(e.message),
    );
    assert.equal((await store.listRuns({})).length, 0, 'nothing was written');
  });

  it('holds a tenant budget: never over, the tenant stops, other tenants go on', async () => {
    const clock = { t: T0 };
    const store = createSqliteStore({ path: ':memory:' });
    const w = wardenAt(store, [{ scope: 'tenant:acme', window: 'day', maxUsd: usd(3) }], clock);
    await exhaust(w, 'acme');
    const [row] = await store.getFleetBudgets([`tenant:acme|day|${windowOf('day', T0).start}`]);
    assert.ok(row && row.spentNano + row.reservedNano <= row.limitNano, 'never over');
    assert.equal((await w.run(agent(), 'hi', { tenant: 'globex' })).status, 'completed', 'another tenant is not covered');
  });

  it('stops a running run at its next reservation with budget_exhausted', async () => {
    const clock = { t: T0 };
    const store = createSqliteStore({ path: ':memory:' });
    // Room for one model call of a run that needs two.
    const w = wardenAt(store, [{ scope: 'agent:desk', window: 'month', maxUsd: usd(1.5) }], clock);
    const twoSteps = scriptedAgent([{ toolCalls: [{ tool: 'noop', args: {} }] }, { text: 'done' }], [], { name: 'desk', limits: { ...limits } });
    const r = await w.run(twoSteps, 'hi');
    assert.equal(r.status, 'stopped');
    assert.equal(r.stopReason, 'budget_exhausted');
    const events = await w.events(r.runId);
    const hit = events.find((e) => e.type === 'limit.hit');
    assert.match(hit?.type === 'limit.hit' ? hit.data.detail : '', /month budget of agent:desk/);
  });

  it('covers runs by scope: an agent budget stops that agent only; all covers every run', async () => {
    const clock = { t: T0 };
    const store = createSqliteStore({ path: ':memory:' });
    const w = wardenAt(
      store,
      [
        { scope: 'agent:desk', window: 'day', maxUsd: usd(1.2) },
        { scope: 'all', window: { hours: 6 }, maxUsd: usd(4) },
      ],
      clock,
    );
    await exhaust(w, 'default', 'desk');
    assert.equal((await w.run(agent('news'), 'hi')).status, 'completed', 'news is not covered by agent:desk');
    await exhaust(w, 'default', 'news');
    const rows = await store.getFleetBudgets([`all|6h|${windowOf({ hours: 6 }, T0).start}`, `agent:desk|day|${windowOf('day', T0).start}`]);
    assert.equal(rows.length, 2);
    for (const r of rows) assert.ok(r.spentNano + r.reservedNano <= r.limitNano, `${r.key} never over`);
  });

  it('opens a new window at the boundary: exhausted just before midnight UTC, room again just after', async () => {
    const clock = { t: windowOf('day', T0).end - 1 };
    const store = createSqliteStore({ path: ':memory:' });
    const w = wardenAt(store, [{ scope: 'tenant:acme', window: 'day', maxUsd: usd(1.2) }], clock);
    await exhaust(w, 'acme');
    clock.t += 1; // 00:00:00.000 of the next day
    assert.equal((await w.run(agent(), 'hi', { tenant: 'acme' })).status, 'completed');
    const hourly = wardenAt(store, [{ scope: 'tenant:acme', window: { hours: 1 }, maxUsd: usd(1.2) }], clock);
    clock.t = windowOf({ hours: 1 }, clock.t).end - 1;
    await exhaust(hourly, 'acme');
    clock.t += 1;
    assert.equal((await hourly.run(agent(), 'hi', { tenant: 'acme' })).status, 'completed', 'a new hour, a new window');
  });

  it('announces each alert threshold once per window, across two processes, as an event, a metric and a webhook', async () => {
    const path = join(tempDir(), 'alerts.db');
    const store = createSqliteStore({ path });
    await store.addWebhookEndpoint({
      id: 'wh1',
      url: 'http://127.0.0.1:9/hook',
      secret: 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==',
      events: ['budget.alert'],
      format: 'standard',
      createdAt: T0,
    });
    const budgets: FleetBudget[] = [{ scope: 'tenant:acme', window: 'day', maxUsd: usd(6), alertAt: [0.5, 0.8] }];
    const clock = { t: T0 };
    const a = wardenAt(createSqliteStore({ path }), budgets, clock, 'a');
    const b = wardenAt(createSqliteStore({ path }), budgets, clock, 'b');
    const metrics = createMetrics();
    metrics.attach(a);
    metrics.attach(b);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await Promise.all([a, b].map((w) => w.run(agent(), 'hi', { tenant: 'acme' }).catch((e) => e)));
      for (const x of r) if (x?.runId) ids.push(x.runId);
      if (r.some((x) => isWardenError(x, 'BUDGET_EXHAUSTED') || x?.stopReason === 'budget_exhausted')) break;
    }
    const alerts = [];
    for (const id of ids) for (const e of await store.loadEvents(id)) if (e.type === 'budget.alert') alerts.push(e.data.threshold);
    assert.deepEqual(alerts.sort(), [0.5, 0.8], 'each threshold once');
    const messages = await store.listWebhookMessages({});
    assert.equal(messages.filter((m) => m.type === 'budget.alert').length, 2, 'one webhook per alert');
    assert.match(await metrics.text(), /warden_budget_alerts_total\{scope="tenant:acme",window="day",threshold="0.5"\} 1/);
    // The next day is a new window: its thresholds fire again.
    clock.t += 24 * 3_600_000;
    const next: number[] = [];
    for (let i = 0; i < 40 && next.length === 0; i++) {
      const r = await a.run(agent(), 'hi', { tenant: 'acme' });
      for (const e of await store.loadEvents(r.runId)) if (e.type === 'budget.alert') next.push(e.data.threshold);
    }
    assert.deepEqual(next, [0.5]);
  });

  it('never goes over under concurrent reservations from two SQLite processes on one file', async () => {
    const path = join(tempDir(), 'fleet.db');
    const budgets: FleetBudget[] = [{ scope: 'tenant:acme', window: 'day', maxUsd: usd(5) }];
    const clock = { t: T0 };
    const a = wardenAt(createSqliteStore({ path }), budgets, clock, 'a');
    const b = wardenAt(createSqliteStore({ path }), budgets, clock, 'b');
    const store = createSqliteStore({ path });
    const outcomes = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).run(agent(), 'hi', { tenant: 'acme' }).catch((e) => e)));
    const completed = outcomes.filter((o) => o?.status === 'completed').length;
    const [row] = await store.getFleetBudgets([`tenant:acme|day|${windowOf('day', T0).start}`]);
    assert.ok(row);
    assert.ok(row.spentNano + row.reservedNano <= row.limitNano, `spent ${row.spentNano} + reserved ${row.reservedNano} ≤ ${row.limitNano}`);
    assert.ok(completed >= 5 && completed < 24, `${completed} completed`);
    assert.ok(outcomes.some((o) => isWardenError(o, 'BUDGET_EXHAUSTED') || o?.stopReason === 'budget_exhausted'));
  });

  describe('on PostgreSQL with two workers', () => {
    const schema = uniqueSchema('fleet');
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      await dropSchema(schema);
    });

    it('never goes over: concurrent reservations against one tenant budget from two stores', async () => {
      const open = async () => {
        const s = await createPostgresStore({ url: PG_URL, schema, poolSize: 4 });
        stores.push(s);
        return s;
      };
      const budgets: FleetBudget[] = [{ scope: 'tenant:acme', window: 'day', maxUsd: usd(5) }];
      const clock = { t: T0 };
      const a = wardenAt(await open(), budgets, clock, 'pg-a');
      const b = wardenAt(await open(), budgets, clock, 'pg-b');
      const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).run(agent(), 'hi', { tenant: 'acme' }).catch((e) => e)));
      for (const o of outcomes) if (o instanceof Error && !isWardenError(o, 'BUDGET_EXHAUSTED')) throw o;
      const [row] = await (stores[0] as Store).getFleetBudgets([`tenant:acme|day|${windowOf('day', T0).start}`]);
      assert.ok(row);
      assert.ok(row.spentNano + row.reservedNano <= row.limitNano, `spent ${row.spentNano} + reserved ${row.reservedNano} ≤ ${row.limitNano}`);
      const completed = outcomes.filter((o) => o?.status === 'completed').length;
      assert.ok(completed >= 5 && completed < 30, `${completed} completed`);
    });
  });
});

describe('fleet budgets over HTTP', () => {
  it('answers 429 BUDGET_EXHAUSTED to a submission the budget has no room for', async () => {
    const { testServer } = await import('../server/fixtures.ts');
    const s = await testServer({ execute: false, warden: { budgets: [{ scope: 'tenant:acme', window: 'day', maxUsd: 0.000001 }] } });
    try {
      const refused = await s.call(s.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'x', tenant: 'acme' });
      assert.deepEqual([refused.status, refused.json.error.code], [429, 'BUDGET_EXHAUSTED']);
    } finally {
      await s.close();
    }
  });
});
