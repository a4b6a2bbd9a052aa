import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Json } from '../helpers.ts';
import { testServer, type TestServer } from './fixtures.ts';

let t: TestServer;
let doc: Json;
before(async () => {
  t = await testServer({ execute: false });
  doc = (await t.call(null, 'GET', '/v1/openapi.json')).json;
});
after(() => t.close());

const operations = () =>
  Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  );

describe('the generated OpenAPI document', () => {
  it('gives every operation a unique operationId, typed JSON responses and the typed error body', () => {
    const ids = operations().map(({ op }) => op.operationId);
    assert.equal(ids.length, 26);
    assert.ok(ids.every((id) => typeof id === 'string' && id.length > 0));
    assert.equal(new Set(ids).size, ids.length);
    for (const { name, op } of operations()) {
      if (name === 'GET /v1/openapi.json' || name === 'GET /v1/runs/{id}/stream') continue;
      const ok = op.responses['200'] ?? op.responses['201'];
      assert.ok(ok.content['application/json'].schema.$ref, `${name} names its response schema`);
      if (op.responses['401']) assert.equal(op.responses['401'].content['application/json'].schema.$ref, '#/components/schemas/Error');
    }
    assert.deepEqual(doc.components.schemas.Error.properties.error.required, ['code', 'message']);
  });

  it('declares request bodies, query parameters, the Idempotency-Key and Last-Event-ID headers and bearer auth', () => {
    assert.equal(doc.paths['/v1/runs'].post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/Submit');
    assert.deepEqual(doc.components.schemas.Submit.required, ['agent', 'input']);
    assert.deepEqual(doc.components.schemas.Decision.properties.decision.enum, ['approve', 'edit', 'takeover', 'stop']);
    const params = (path: string, method: string) => (doc.paths[path][method].parameters ?? []).map((p: Json) => `${p.in}:${p.name}`);
    assert.deepEqual(params('/v1/runs', 'get'), ['query:agent', 'query:tenant', 'query:status', 'query:stopReason', 'query:minCostUsd', 'query:limit']);
    assert.ok(params('/v1/runs', 'post').includes('header:idempotency-key'));
    assert.ok(params('/v1/runs/{id}/stream', 'get').includes('header:last-event-id'));
    assert.deepEqual(params('/v1/kill-switch', 'delete'), ['query:scope']);
    assert.deepEqual(params('/v1/overview', 'get'), ['query:agent', 'query:window']);
    assert.deepEqual(params('/v1/webhooks/deliveries', 'get'), ['query:endpoint', 'query:failed', 'query:limit']);
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
    assert.deepEqual(doc.paths['/v1/openapi.json'].get.security, []);
  });
});

describe('validation by the route definitions', () => {
  it("answers invalid bodies with Warden's typed 400, not the validator's own body", async () => {
    const cases: [unknown, RegExp][] = [
      [[1, 2], /expected object/i],
      [{ agent: 'desk', input: '' }, /"input" must be a non-empty string/],
      [{ agent: 'desk', input: 'x', shadow: 'yes' }, /"shadow" must be true or false/],
      ['{not json', /must be JSON/],
    ];
    for (const [body, message] of cases) {
      const res = await t.call(t.keys.submitter, 'POST', '/v1/runs', body);
      assert.deepEqual([res.status, res.json.error.code], [400, 'INVALID_ARGUMENT'], JSON.stringify(res.json));
      assert.match(res.json.error.message, message);
      assert.deepEqual(Object.keys(res.json), ['error']);
    }
    const textBody = await fetch(`${t.server.url}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.keys.submitter}`, 'content-type': 'text/plain' },
      body: 'hi',
    });
    assert.deepEqual([textBody.status, (await textBody.json()).error.code], [400, 'INVALID_ARGUMENT']);
  });

  it('checks the role before the body, and the size limit before either is validated', async () => {
    const viewer = await t.call(t.keys.viewer, 'POST', '/v1/runs', { nonsense: true });
    assert.deepEqual([viewer.status, viewer.json.error.code], [403, 'FORBIDDEN']);
    const huge = await t.call(t.keys.submitter, 'POST', '/v1/runs', { nonsense: 'x'.repeat(300 * 1024) });
    assert.deepEqual([huge.status, huge.json.error.code], [413, 'PAYLOAD_TOO_LARGE']);
    const missing = await t.call(t.keys.operator, 'POST', '/v1/runs/run_missing/cancel', '{not json');
    assert.equal(missing.status, 404, 'an unknown run is reported before its body is read');
  });

  it('ignores an optional body sent as something other than JSON, as before', async () => {
    const submitted = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'delete c-9' });
    const res = await fetch(`${t.server.url}/v1/runs/${submitted.json.runId}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.keys.operator}`, 'content-type': 'text/plain' },
      body: 'please',
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, 'cancelled');
  });
});
