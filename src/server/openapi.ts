/**
 * The API's OpenAPI document, kept by hand next to the routes; a test checks that every route the
 * app serves under /v1 is in it, and nothing else.
 */
const error = { $ref: '#/components/schemas/Error' };
const errors = Object.fromEntries(
  [
    ['400', 'Bad request: malformed JSON, invalid fields or headers'],
    ['401', 'No valid API key'],
    ['403', 'The key\'s role may not do this, or the key submitted the run it tries to approve'],
    ['404', 'No such resource (or one of another tenant)'],
    ['409', 'Conflict: already decided, idempotency key reused, or a kill switch is engaged'],
    ['413', 'Body larger than 256 KiB (refused before it is read; the connection is then closed)'],
    ['429', 'The queue is full'],
  ].map(([code, description]) => [code, { description, content: { 'application/json': { schema: error } } }]),
);
const ok = (description: string, schema: object = { type: 'object' }) => ({ '200': { description, content: { 'application/json': { schema } } }, ...errors });
const id = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'Warden API', version: '1', description: 'Submit runs, watch them, decide what waits for a person, and pull the kill switch.' },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from `warden keys create` (wk_…)' } },
    schemas: {
      Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } } },
      Submit: {
        type: 'object',
        required: ['agent', 'input'],
        properties: { agent: { type: 'string' }, input: { type: 'string' }, tenant: { type: 'string' }, shadow: { type: 'boolean' } },
      },
      Decision: {
        type: 'object',
        required: ['decision'],
        properties: { decision: { enum: ['approve', 'edit', 'takeover', 'stop'] }, args: {}, output: { type: 'string' }, reason: { type: 'string' } },
      },
    },
  },
  paths: {
    '/v1/runs': {
      post: {
        summary: 'Submit a run (role submitter). Honours an Idempotency-Key header: the same key returns the same run.',
        parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Submit' } } } },
        responses: { '201': { description: 'Queued' }, ...ok('The run this idempotency key already made') },
      },
      get: { summary: 'List runs (filters: agent, tenant, status, stopReason, minCostUsd, limit)', responses: ok('Runs, newest first') },
    },
    '/v1/runs/{id}': { get: { summary: 'One run as its log says it is', parameters: [id('id')], responses: ok('The run') } },
    '/v1/runs/{id}/events': { get: { summary: 'The decision trace: every event, with a plain-words line', parameters: [id('id')], responses: ok('Events') } },
    '/v1/runs/{id}/stream': {
      get: {
        summary: 'Live events over Server-Sent Events (the log so far, then each commit)',
        description:
          'Each event carries `id: seq`, in seq order with no gap. The stream ends when the run ends; it also ends, within about a second, when the key is revoked or no longer covers the run\'s tenant, with a last `stream.end` event (no id) whose data is `{reason: key_revoked | role_lost | tenant_lost, message}`. While a model call of the run streams in this server\'s process, its text arrives as `text.delta` messages (no id; data `{runId, step, attempt, delta}`), a live preview: text streamed elsewhere or before connecting is not sent, and `model.called` carries the committed text. A client over 256 KiB of text behind gets one `text.dropped` message `{runId, chars}` instead of the excess.',
        parameters: [
          id('id'),
          { name: 'Last-Event-ID', in: 'header', description: 'The seq of the last event received: the stream resumes with the events after it (a browser EventSource sends it on reconnect)', schema: { type: 'integer', minimum: 0 } },
        ],
        responses: { '200': { description: 'text/event-stream' }, ...errors },
      },
    },
    '/v1/runs/{id}/children': { get: { summary: 'Child runs started by delegation', parameters: [id('id')], responses: ok('Runs') } },
    '/v1/runs/{id}/cancel': { post: { summary: 'Cancel a run and its children (role operator)', parameters: [id('id')], responses: ok('The run') } },
    '/v1/interventions': { get: { summary: 'Approvals and escalations (status, default pending; kind)', responses: ok('Interventions, oldest first') } },
    '/v1/approvals/{id}/approve': { post: { summary: 'Approve the exact arguments (role approver; not the submitting key)', parameters: [id('id')], responses: ok('The decision') } },
    '/v1/approvals/{id}/deny': { post: { summary: 'Deny (role approver)', parameters: [id('id')], responses: ok('The decision') } },
    '/v1/escalations/{id}': {
      post: {
        summary: 'Decide an escalation: approve, edit the arguments, take over with the answer, or stop',
        parameters: [id('id')],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Decision' } } } },
        responses: ok('The decision'),
      },
    },
    '/v1/kill-switch': {
      get: { summary: 'Engaged kill switches', responses: ok('Switches') },
      post: { summary: 'Engage a kill switch (scope all, agent:NAME or tenant:NAME; role operator): stops live runs, refuses new ones', responses: { '201': { description: 'Engaged' }, ...errors } },
      delete: { summary: 'Lift a kill switch (?scope=…)', responses: ok('Lifted') },
    },
    '/v1/overview': { get: { summary: 'Per agent: runs and stop reasons over time, cost per request, approval and escalation rates', responses: ok('Overview') } },
    '/v1/agents': { get: { summary: 'Agents this server can run', responses: ok('Agent names') } },
    '/v1/me': { get: { summary: 'The calling key: name, role, tenants', responses: ok('Key') } },
    '/v1/openapi.json': { get: { summary: 'This document', security: [], responses: ok('OpenAPI 3.1') } },
  },
} as const;
