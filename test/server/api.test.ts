import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServerApp } from '../../src/server/app.ts';
import { openApiDocument } from '../../src/server/openapi.ts';
import { WORKERS_EXECUTE } from '../../src/server/executor.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { catalog, testServer, waitFor, type TestServer } from './fixtures.ts';

let t: TestServer;
let parkedRun: string;
let approvalId: string;

before(async () => {
  t = await testServer();
  const submitted = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'delete c-42' });
  parkedRun = submitted.json.runId;
  await waitFor('the run parks', async () => (await t.call(t.keys.admin, 'GET', `/v1/runs/${parkedRun}`)).json.status === 'waiting_approval');
  approvalId = (await t.call(t.keys.admin, 'GET', `/v1/runs/${parkedRun}`)).json.pending.id;
});
after(() => t.close());

type Role = 'submitter' | 'approver' | 'operator' | 'viewer' | 'admin';
const ALL: Role[] = ['submitter', 'approver', 'operator', 'viewer', 'admin'];

/** Every endpoint, and the roles that may use it (others get 403). */
const MATRIX: { name: string; allowed: Role[]; call: (key: string) => Promise<{ status: number }> }[] = [
  { name: 'GET /v1/runs', allowed: ALL, call: (k) => t.call(k, 'GET', '/v1/runs') },
  { name: 'GET /v1/runs/:id', allowed: ALL, call: (k) => t.call(k, 'GET', `/v1/runs/${parkedRun}`) },
  { name: 'GET /v1/runs/:id/events', allowed: ALL, call: (k) => t.call(k, 'GET', `/v1/runs/${parkedRun}/events`) },
  { name: 'GET /v1/runs/:id/children', allowed: ALL, call: (k) => t.call(k, 'GET', `/v1/runs/${parkedRun}/children`) },
  { name: 'GET /v1/overview', allowed: ALL, call: (k) => t.call(k, 'GET', '/v1/overview') },
  { name: 'GET /v1/agents', allowed: ALL, call: (k) => t.call(k, 'GET', '/v1/agents') },
  { name: 'GET /v1/me', allowed: ALL, call: (k) => t.call(k, 'GET', '/v1/me') },
  { name: 'GET /v1/kill-switch', allowed: ALL, call: (k) => t.call(k, 'GET', '/v1/kill-switch') },
  { name: 'GET /v1/webhooks/deliveries', allowed: ['admin'], call: (k) => t.call(k, 'GET', '/v1/webhooks/deliveries') },
  { name: 'GET /v1/interventions', allowed: ['approver', 'operator', 'viewer', 'admin'], call: (k) => t.call(k, 'GET', '/v1/interventions') },
  { name: 'GET /metrics', allowed: ['operator', 'viewer', 'admin'], call: (k) => t.call(k, 'GET', '/metrics') },
  { name: 'POST /v1/runs', allowed: ['submitter', 'admin'], call: (k) => t.call(k, 'POST', '/v1/runs', { agent: 'nope', input: 'x', tenant: 'acme' }) },
  { name: 'POST /v1/runs/:id/cancel', allowed: ['operator', 'admin'], call: (k) => t.call(k, 'POST', '/v1/runs/run_missing/cancel', {}) },
  { name: 'GET /v1/conversations', allowed: ALL, call: (k) => t.call(k, 'GET', '/v1/conversations') },
  { name: 'GET /v1/conversations/:id', allowed: ALL, call: (k) => t.call(k, 'GET', '/v1/conversations/conv_missing') },
  {
    name: 'POST /v1/conversations/:id/messages',
    allowed: ['submitter', 'admin'],
    call: (k) => t.call(k, 'POST', '/v1/conversations/conv_missing/messages', { agent: 'nope', input: 'x', tenant: 'acme' }),
  },
  { name: 'POST /v1/conversations/:id/cancel', allowed: ['operator', 'admin'], call: (k) => t.call(k, 'POST', '/v1/conversations/conv_missing/cancel', {}) },
  { name: 'POST /v1/approvals/:id/approve', allowed: ['approver', 'admin'], call: (k) => t.call(k, 'POST', '/v1/approvals/apr_missing/approve', {}) },
  { name: 'POST /v1/approvals/:id/deny', allowed: ['approver', 'admin'], call: (k) => t.call(k, 'POST', '/v1/approvals/apr_missing/deny', {}) },
  { name: 'POST /v1/escalations/:id', allowed: ['approver', 'admin'], call: (k) => t.call(k, 'POST', '/v1/escalations/esc_missing', { decision: 'stop' }) },
  { name: 'POST /v1/kill-switch', allowed: ['operator', 'admin'], call: (k) => t.call(k, 'POST', '/v1/kill-switch', { scope: 'tenant:' }) },
  { name: 'DELETE /v1/kill-switch', allowed: ['operator', 'admin'], call: (k) => t.call(k, 'DELETE', '/v1/kill-switch?scope=tenant:acme') },
];

describe('the API: every role against every endpoint', () => {
  for (const row of MATRIX) {
    for (const role of ALL) {
      const allowed = row.allowed.includes(role);
      it(`${row.name} is ${allowed ? 'open' : 'closed (403)'} to a ${role} key`, async () => {
        const res = await row.call(t.keys[role]);
        if (allowed) assert.ok(res.status !== 401 && res.status !== 403, `${role} got ${res.status}`);
        else assert.equal(res.status, 403);
      });
    }
  }
  it('answers every endpoint with 401 and a typed error without a valid key', async () => {
    for (const row of MATRIX) {
      for (const key of [null, 'wk_not-a-real-key', 'Basic abc']) {
        const res = await row.call(key as string);
        assert.equal(res.status, 401, `${row.name} with ${key}`);
      }
    }
    const res = await t.call(null, 'GET', '/v1/runs');
    assert.equal(res.json.error.code, 'UNAUTHENTICATED');
  });
});

describe('the API: tenants, idempotency and bad requests', () => {
  it('never shows a run to a key of another tenant (404, not 403)', async () => {
    assert.equal((await t.call(t.keys.foreign, 'GET', `/v1/runs/${parkedRun}`)).status, 404);
    assert.equal((await t.call(t.keys.foreign, 'GET', `/v1/runs/${parkedRun}/events`)).status, 404);
    const list = await t.call(t.keys.foreign, 'GET', '/v1/runs');
    assert.deepEqual(list.json.runs, []);
    assert.deepEqual((await t.call(t.keys.foreign, 'GET', '/v1/interventions')).json.interventions, []);
    assert.equal((await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'x', tenant: 'globex' })).status, 403);
  });

  it('returns the same run for the same Idempotency-Key, and refuses the key for a different request', async () => {
    const headers = { 'idempotency-key': `order-${Date.now()}` };
    const a = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'delete c-1' }, headers);
    const b = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'delete c-1' }, headers);
    assert.equal(a.status, 201);
    assert.equal(b.status, 200);
    assert.equal(b.json.runId, a.json.runId);
    const c = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'delete c-2' }, headers);
    assert.equal(c.status, 409);
  });

  it('answers malformed, invalid, oversized and unknown requests with typed errors', async () => {
    const bad = await t.call(t.keys.submitter, 'POST', '/v1/runs', '{not json');
    assert.deepEqual([bad.status, bad.json.error.code], [400, 'INVALID_ARGUMENT']);
    const missing = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk' });
    assert.deepEqual([missing.status, missing.json.error.code], [400, 'INVALID_ARGUMENT']);
    const huge = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'x'.repeat(300 * 1024) });
    assert.deepEqual([huge.status, huge.json.error.code], [413, 'PAYLOAD_TOO_LARGE']);
    const unknown = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'nope', input: 'x' });
    assert.equal(unknown.status, 404);
    assert.equal((await t.call(t.keys.admin, 'GET', '/v1/nowhere')).status, 404);
    assert.equal((await t.call(t.keys.approver, 'POST', `/v1/escalations/x`, { decision: 'maybe' })).status, 404);
    const before = (await t.store.listRuns({ limit: 1000 })).length;
    await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 42 });
    assert.equal((await t.store.listRuns({ limit: 1000 })).length, before, 'nothing half-written');
  });

  it('does not let the key that submitted a run approve its actions', async () => {
    const own = await t.call(t.keys.admin, 'POST', '/v1/runs', { agent: 'desk', input: 'delete', tenant: 'acme' });
    await waitFor('parked', async () => (await t.call(t.keys.admin, 'GET', `/v1/runs/${own.json.runId}`)).json.status === 'waiting_approval');
    const id = (await t.call(t.keys.admin, 'GET', `/v1/runs/${own.json.runId}`)).json.pending.id;
    const cardFor = async (key: string) => (await t.call(key, 'GET', '/v1/interventions')).json.interventions.find((i: { id: string }) => i.id === id).card;
    const ownCard = await cardFor(t.keys.admin);
    assert.equal(ownCard.mayDecide, false, 'the card says so before anyone clicks');
    assert.equal(ownCard.whyNot, `you submitted run ${own.json.runId}; another approver must decide (four eyes)`);
    assert.equal((await cardFor(t.keys.approver2)).mayDecide, true);
    const self = await t.call(t.keys.admin, 'POST', `/v1/approvals/${id}/approve`, {});
    assert.equal(self.status, 403);
    const other = await t.call(t.keys.approver2, 'POST', `/v1/approvals/${id}/approve`, { reason: 'checked' });
    assert.equal(other.status, 200);
  });

  it('lists each approval with the card a person decides from: the request, the rule, what is at stake, who may decide', async () => {
    const list = (await t.call(t.keys.approver, 'GET', '/v1/interventions')).json.interventions;
    const approval = list.find((i: { id: string }) => i.id === approvalId);
    assert.equal(approval.tool, 'delete_account', 'the existing fields stay');
    assert.deepEqual(approval.args, { customerId: 'c-42' });
    const { card } = approval;
    assert.equal(card.request, 'delete c-42');
    assert.equal(card.rule, 'tier:delete');
    assert.equal(card.ruleReason, 'delete_account is a delete-tier tool: delete-tier tools always wait for a person');
    assert.equal(card.undoable, 'irreversible');
    assert.match(card.spend, /^\$[\d.]+ of \$[\d.]+ ceiling$/);
    assert.ok(card.waitedMs >= 0 && card.requestedAt === approval.requestedAt);
    assert.deepEqual([card.mayDecide, card.whyNot], [true, null]);
    const viewed = (await t.call(t.keys.viewer, 'GET', '/v1/interventions')).json.interventions.find((i: { id: string }) => i.id === approvalId);
    assert.equal(viewed.card.mayDecide, false);
    assert.match(viewed.card.whyNot, /role \(viewer\) may look but not decide/);
  });

  it('approves a waiting delete and the run completes; a second decision conflicts', async () => {
    const res = await t.call(t.keys.approver, 'POST', `/v1/approvals/${approvalId}/approve`, { reason: 'customer asked in writing' });
    assert.equal(res.status, 200);
    await waitFor('completed', async () => (await t.call(t.keys.viewer, 'GET', `/v1/runs/${parkedRun}`)).json.status === 'completed');
    assert.equal((await t.call(t.keys.approver, 'POST', `/v1/approvals/${approvalId}/deny`, {})).status, 409);
  });

  it("streams a run's events live over Server-Sent Events", async () => {
    const res = await fetch(`${t.server.url}/v1/runs/${parkedRun}/stream`, { headers: { authorization: `Bearer ${t.keys.viewer}` } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const text = await res.text(); // the run is finished, so the stream ends after its log
    assert.match(text, /event: run.submitted/);
    assert.match(text, /event: run.completed/);
  });

  it('engages a durable kill switch that refuses new runs until it is lifted', async () => {
    const on = await t.call(t.keys.operator, 'POST', '/v1/kill-switch', { scope: 'tenant:acme', reason: 'incident' });
    assert.equal(on.status, 201);
    const refused = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'x' });
    assert.deepEqual([refused.status, refused.json.error.code], [409, 'HALTED']);
    assert.equal((await t.call(t.keys.operator, 'POST', '/v1/kill-switch', { scope: 'all' })).status, 403, 'a tenant operator cannot stop everything');
    assert.equal((await t.call(t.keys.operator, 'DELETE', '/v1/kill-switch?scope=tenant:acme')).status, 200);
    assert.equal((await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'x' })).status, 201);
  });

  it('serves health, readiness, metrics and its OpenAPI document', async () => {
    assert.equal((await t.call(null, 'GET', '/healthz')).status, 200);
    assert.equal((await t.call(null, 'GET', '/readyz')).json.ready, true);
    const metrics = await t.call(t.keys.operator, 'GET', '/metrics');
    assert.match(metrics.json, /warden_runs/);
    const doc = await t.call(null, 'GET', '/v1/openapi.json');
    assert.equal(doc.json.openapi, '3.1.0');
  });
});

describe('the OpenAPI document', () => {
  it('describes every /v1 route the app serves, and no route it does not', () => {
    const app = createServerApp({ warden: createWarden({ store: t.store }), store: t.store, agents: catalog, executor: WORKERS_EXECUTE });
    const served = new Set(
      app.routes.filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(Object.entries(openApiDocument(app).paths ?? {}).flatMap(([path, ops]) => Object.keys(ops ?? {}).map((m) => `${m} ${path}`)));
    assert.deepEqual([...served].sort(), [...documented].sort());
  });
});

describe('back-pressure', () => {
  it('answers 429 QUEUE_FULL when the bounded queue is full', async () => {
    const s = await testServer({ execute: false, warden: { scheduler: { maxQueued: { global: 2 } } } });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await s.call(s.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: `x${i}` })).status, 201);
      const full = await s.call(s.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'x' });
      assert.deepEqual([full.status, full.json.error.code], [429, 'QUEUE_FULL']);
    } finally {
      await s.close();
    }
  });
});

describe('warden keys (CLI)', () => {
  it('creates a key whose secret is shown once, lists it without the secret, and revokes it', async () => {
    const { runCli, tempDir } = await import('../helpers.ts');
    const { join } = await import('node:path');
    const db = join(tempDir(), 'k.db');
    const created = await runCli(['keys', 'create', '--name', 'ana', '--role', 'approver', '--tenant', 'acme', '--db', db, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout);
    assert.match(key.secret, /^wk_/);
    const list = await runCli(['keys', 'list', '--db', db, '--json']);
    const listed = JSON.parse(list.stdout);
    assert.deepEqual(
      listed.map((k: { id: string; role: string; tenants: string[] }) => [k.id, k.role, k.tenants]),
      [[key.id, 'approver', ['acme']]],
    );
    assert.ok(!list.stdout.includes(key.secret), 'the secret is never shown again');
    assert.equal((await runCli(['keys', 'revoke', key.id, '--db', db])).code, 0);
    assert.ok(JSON.parse((await runCli(['keys', 'list', '--db', db, '--json'])).stdout)[0].revokedAt > 0);
    assert.equal((await runCli(['keys', 'create', '--name', 'x', '--role', 'root', '--db', db])).code, 2, 'an unknown role is bad usage');
  });
});

describe('API key authentication', () => {
  it('accepts a live key and refuses a revoked or unknown one', async () => {
    const { createApiKey, revokeApiKey, authenticate } = await import('../../src/server/api-keys.ts');
    const { createSqliteStore } = await import('../../src/store/sqlite/sqlite-store.ts');
    const store = createSqliteStore({ path: ':memory:' });
    const { key, secret } = await createApiKey(store, { name: 'bot', role: 'submitter', tenants: ['acme'] });
    assert.equal((await authenticate(store, secret))?.id, key.id);
    assert.equal(await authenticate(store, `${secret}x`), null);
    await revokeApiKey(store, key.id);
    assert.equal(await authenticate(store, secret), null);
    await store.close();
  });
});
