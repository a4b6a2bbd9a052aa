import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newEvent } from '../../src/core/events.ts';
import { createApiKey } from '../../src/server/api-keys.ts';
import { newRun, uid } from '../store/conformance/fixtures.ts';
import { testServer, type TestServer } from './fixtures.ts';

// The operator's desk over HTTP: the overview's window within the key's tenants, and the webhook delivery log.

let t: TestServer;
const NANO = 1_000_000_000;

/** A settled root run of `agent` in `tenant` that cost `usd`, written straight to the store (no worker runs it). */
async function settled(agent: string, tenant: string, usd: number, ceilingUsd = 0.05): Promise<string> {
  const run = newRun({ agent, tenant, ceilingNano: ceilingUsd * NANO });
  await t.store.createRun(run);
  await t.store.commit({
    runId: run.runId,
    expectedSeq: 1,
    events: [newEvent('run.completed', { output: 'done' })],
    run: { status: 'completed', costNano: Math.round(usd * NANO) },
  });
  return run.runId;
}

before(async () => {
  t = await testServer({ execute: false });
  await settled('ledger', 'acme', 0.01);
  await settled('ledger', 'acme', 0.02);
  await settled('ledger', 'globex', 0.5, 0.8);
  await t.store.appendAgentEvent?.({
    agent: 'ledger',
    type: 'drift.detected',
    at: Date.now(),
    v: 1,
    data: { dimensions: [{ dimension: 'cost', drifted: true }] },
  });
  await t.store.appendAgentEvent?.({ agent: 'globex-only', type: 'drift.detected', at: Date.now(), v: 1, data: { dimensions: [{ dimension: 'tools' }] } });
});
after(() => t.close());

describe('GET /v1/overview', () => {
  it("counts only the runs of the key's tenants, and drift only of agents it has runs of", async () => {
    const acme = (await t.call(t.keys.viewer, 'GET', '/v1/overview?agent=ledger&window=1h')).json;
    assert.equal(acme.totals.runs, 2);
    assert.equal(acme.costPerRequest.max, 0.02, "globex's $0.50 request is not in acme's chart");
    assert.equal(acme.costPerRequest.ceilingUsd, 0.05);
    assert.deepEqual(
      acme.drift.map((d: { agent: string; dimensions: string[] }) => [d.agent, d.dimensions]),
      [['ledger', ['cost']]],
    );
    const everyone = (await t.call(t.keys.admin, 'GET', '/v1/overview?window=1h')).json;
    assert.equal(everyone.totals.runs, 3);
    assert.equal(everyone.costPerRequest.ceilingUsd, null, 'several agents: no one ceiling');
    assert.equal(everyone.drift.length, 2);
    const foreign = (await t.call(t.keys.foreign, 'GET', '/v1/overview?window=24h')).json;
    assert.equal(foreign.totals.runs, 1);
    assert.equal(foreign.costPerRequest.p50, 0.5);
    assert.deepEqual(
      foreign.drift.map((d: { agent: string }) => d.agent),
      ['ledger'],
      'not the drift of an agent globex has no runs of',
    );
  });

  it('says what it read, answers an empty window with empty series, and refuses an unknown window', async () => {
    const o = (await t.call(t.keys.viewer, 'GET', '/v1/overview?agent=nobody&window=7d')).json;
    assert.equal(o.buckets.length, 28);
    assert.deepEqual(o.totals, { runs: 0, requests: 0, approvals: 0, escalations: 0 });
    assert.deepEqual(o.sample.truncated, { runs: false, interventions: false });
    assert.ok(o.sample.cap >= 1000);
    assert.ok(o.agents.includes('ledger') || o.agents.includes('desk'));
    const plain = (await t.call(t.keys.viewer, 'GET', '/v1/overview')).json;
    assert.deepEqual([plain.window, plain.agent, plain.buckets.length], ['24h', null, 24], 'the last 24 hours of every agent by default');
    const bad = await t.call(t.keys.viewer, 'GET', '/v1/overview?window=2h');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'INVALID_ARGUMENT');
  });
});

describe('GET /v1/webhooks/deliveries', () => {
  const hook = uid('hook');
  before(async () => {
    await t.store.addWebhookEndpoint({
      id: hook,
      url: 'https://hooks.example.com/services/T000/B000/s3cr3t-token',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      events: ['kill_switch.changed'],
      format: 'slack',
      createdAt: Date.now(),
    });
    for (const n of [1, 2, 3]) await t.store.enqueueWebhook('kill_switch.changed', `msg_ks_${n}`, { type: 'kill_switch.changed', data: { n } });
    const claimed = await t.store.claimWebhookMessages(10, 60_000);
    const byKey = (n: number) => claimed.find((m) => m.id === `msg_ks_${n}.${hook}`)?.id ?? '';
    await t.store.recordWebhookAttempt(byKey(1), { delivered: true, status: 204 });
    await t.store.recordWebhookAttempt(byKey(2), { delivered: false, status: 500, error: 'HTTP 500', retryAt: Date.now() + 60_000 });
    await t.store.recordWebhookAttempt(byKey(3), { delivered: false, status: null, error: 'connect ECONNREFUSED', retryAt: null });
  });

  it('lists each delivery with its event, status, attempts, last response and next attempt, and hides the token in the URL', async () => {
    const res = await t.call(t.keys.admin, 'GET', `/v1/webhooks/deliveries?endpoint=${hook}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.endpoints, [
      { id: hook, origin: 'https://hooks.example.com/…', events: ['kill_switch.changed'], format: 'slack', enabled: true },
    ]);
    assert.doesNotMatch(JSON.stringify(res.json), /s3cr3t|whsec_/);
    const byEvent = Object.fromEntries(res.json.deliveries.map((d: { eventId: string }) => [d.eventId, d]));
    assert.deepEqual(
      ['msg_ks_1', 'msg_ks_2', 'msg_ks_3'].map((e) => [byEvent[e].status, byEvent[e].attempts, byEvent[e].lastStatus, byEvent[e].lastError]),
      [
        ['delivered', 1, 204, null],
        ['retrying', 1, 500, 'HTTP 500'],
        ['gave_up', 1, null, 'connect ECONNREFUSED'],
      ],
    );
    assert.ok(byEvent.msg_ks_2.nextAttemptAt > Date.now());
    assert.ok(byEvent.msg_ks_1.deliveredAt > 0);
  });

  it('filters the failed ones: retrying or given up, not delivered', async () => {
    const res = await t.call(t.keys.admin, 'GET', `/v1/webhooks/deliveries?endpoint=${hook}&failed=true`);
    assert.deepEqual(res.json.deliveries.map((d: { eventId: string }) => d.eventId).sort(), ['msg_ks_2', 'msg_ks_3']);
  });

  it('is for an admin of every tenant only: an admin of one tenant gets 403', async () => {
    const oneTenantAdmin = (await createApiKey(t.store, { name: 'acme admin', role: 'admin', tenants: ['acme'] })).secret;
    const res = await t.call(oneTenantAdmin, 'GET', '/v1/webhooks/deliveries');
    assert.equal(res.status, 403);
    assert.match(res.json.error.message, /every tenant/);
    assert.equal((await t.call(t.keys.operator, 'GET', '/v1/webhooks/deliveries')).status, 403);
    assert.equal((await t.call(t.keys.admin, 'GET', '/v1/webhooks/deliveries?limit=0')).status, 400);
  });
});

describe('the chart library', () => {
  it('is served from the pinned chart.js dependency, compressed when the browser asks', async () => {
    const plain = await fetch(`${t.server.url}/vendor/chart.umd.min.js`);
    const text = await plain.text();
    assert.equal(plain.status, 200);
    assert.match(text.slice(0, 40), /Chart\.js v4\./);
    assert.doesNotMatch(text.slice(-200), /sourceMappingURL/, 'no source map the server would not serve');
    const zipped = await fetch(`${t.server.url}/vendor/chart.umd.min.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(zipped.headers.get('content-encoding'), 'gzip');
    assert.equal((await zipped.text()).length, text.length, 'the same file once unzipped');
  });
});
