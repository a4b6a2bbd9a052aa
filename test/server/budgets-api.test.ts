import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testServer, type TestServer } from './fixtures.ts';

let t: TestServer;
before(async () => {
  t = await testServer({ execute: false, warden: { budgets: [{ scope: 'all', window: 'month', maxUsd: 1_000, alertAt: [0.9] }] } });
});
after(() => t.close());

describe('/v1/budgets', () => {
  it('lets an operator store a budget of its tenant, a viewer list it with its projection, and the operator remove it', async () => {
    const put = await t.call(t.keys.operator, 'PUT', '/v1/budgets', { scope: 'tenant:acme', window: 'day', maxUsd: 50, alertAt: [0.8, 0.5] });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    assert.deepEqual(
      [put.json.budget.source, put.json.budget.scope, put.json.budget.window, put.json.budget.maxUsd, put.json.budget.alertAt],
      ['stored', 'tenant:acme', 'day', 50, [0.5, 0.8]],
    );
    const list = await t.call(t.keys.viewer, 'GET', '/v1/budgets');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.json.budgets.map((b: { scope: string; source: string }) => `${b.source} ${b.scope}`),
      ['stored tenant:acme'],
      "a tenant's key sees its tenant's budgets, not the fleet-wide config one",
    );
    for (const field of ['windowStart', 'windowEnd', 'spentUsd', 'reservedUsd', 'fraction', 'alertsCrossed', 'rateUsdPerHour', 'projectedUsd', 'exhaustsAt'])
      assert.ok(field in list.json.budgets[0], field);
    const admin = await t.call(t.keys.admin, 'GET', '/v1/budgets');
    assert.deepEqual(
      admin.json.budgets.map((b: { scope: string; source: string; active: boolean }) => `${b.source} ${b.scope} ${b.active}`),
      ['stored tenant:acme true', 'config all true'],
    );
    const removed = await t.call(t.keys.operator, 'DELETE', '/v1/budgets?scope=tenant:acme&window=day');
    assert.deepEqual([removed.status, removed.json], [200, { scope: 'tenant:acme', removed: 1 }]);
    const again = await t.call(t.keys.operator, 'DELETE', '/v1/budgets?scope=tenant:acme');
    assert.deepEqual([again.status, again.json.error.code], [404, 'NOT_FOUND']);
  });

  it('refuses writes by other roles and other tenants, and malformed budgets with INVALID_BUDGET', async () => {
    const body = { scope: 'tenant:acme', window: 'day', maxUsd: 5 };
    for (const key of [t.keys.viewer, t.keys.submitter, t.keys.approver]) {
      const res = await t.call(key, 'PUT', '/v1/budgets', body);
      assert.deepEqual([res.status, res.json.error.code], [403, 'FORBIDDEN']);
    }
    const foreign = await t.call(t.keys.operator, 'PUT', '/v1/budgets', { ...body, scope: 'tenant:globex' });
    assert.deepEqual([foreign.status, foreign.json.error.code], [403, 'FORBIDDEN']);
    const fleetWide = await t.call(t.keys.operator, 'PUT', '/v1/budgets', { ...body, scope: 'all' });
    assert.deepEqual([fleetWide.status, fleetWide.json.error.code], [403, 'FORBIDDEN'], "a tenant's operator may not set a fleet-wide budget");
    for (const bad of [
      { ...body, maxUsd: -1 },
      { ...body, window: 'week' },
    ]) {
      const res = await t.call(t.keys.admin, 'PUT', '/v1/budgets', bad);
      assert.deepEqual([res.status, res.json.error.code], [400, 'INVALID_BUDGET'], JSON.stringify(res.json));
    }
    const notANumber = await t.call(t.keys.admin, 'PUT', '/v1/budgets', { ...body, maxUsd: 'lots' });
    assert.deepEqual([notANumber.status, notANumber.json.error.code], [400, 'INVALID_ARGUMENT']);
    const bad = await t.call(t.keys.admin, 'PUT', '/v1/budgets', { ...body, scope: 'acme' });
    assert.deepEqual([bad.status, bad.json.error.code], [400, 'INVALID_BUDGET'], 'an admin may set any scope, but "acme" is none');
  });

  it('lists a config budget a stored one overrides as inactive', async () => {
    const put = await t.call(t.keys.admin, 'PUT', '/v1/budgets', { scope: 'all', window: 'month', maxUsd: 10 });
    assert.equal(put.status, 200);
    const list = await t.call(t.keys.admin, 'GET', '/v1/budgets');
    assert.deepEqual(
      list.json.budgets.map((b: { source: string; maxUsd: number; active: boolean }) => [b.source, b.maxUsd, b.active]),
      [
        ['stored', 10, true],
        ['config', 1_000, false],
      ],
    );
    assert.equal((await t.call(t.keys.admin, 'DELETE', '/v1/budgets?scope=all')).status, 200);
  });
});
