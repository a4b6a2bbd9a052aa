import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { Store } from '../../src/core/ports/store.ts';
import { WebhookDeliverer } from '../../src/scheduler/webhook-deliverer.ts';
import { webhookBody } from '../../src/scheduler/webhook-payload.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { dropSchema, PG_URL, uniqueSchema } from '../store/pg-schema.ts';
import { createRun, sleep, uid } from '../store/conformance/fixtures.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const root = mkdtempSync(join(tmpdir(), 'warden-webhooks-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A receiver on loopback that verifies each request's signature and records the webhook-ids it accepted. */
class Receiver {
  readonly accepted: string[] = [];
  readonly bodies = new Map<string, unknown>();
  badSignatures = 0;
  requests = 0;
  /** The first `failFirst` requests get a 503. */
  failFirst = 0;
  #server: Server | undefined;

  async listen(port = 0): Promise<number> {
    const wh = new Webhook(SECRET);
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        const body = Buffer.concat(chunks).toString('utf8');
        let payload: unknown;
        try {
          payload = wh.verify(body, req.headers as Record<string, string>);
        } catch {
          this.badSignatures++;
          res.writeHead(400).end();
          return;
        }
        if (this.requests <= this.failFirst) {
          res.writeHead(503).end();
          return;
        }
        const id = String(req.headers['webhook-id']);
        this.accepted.push(id);
        this.bodies.set(id, payload);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(port, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port nothing listens on (connection refused), that a receiver may take later. */
async function freePort(): Promise<number> {
  const r = new Receiver();
  const port = await r.listen();
  await r.close();
  return port;
}

async function stopRuns(store: Store, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const run = await createRun(store, { status: 'running' });
    await store.commit({
      runId: run.runId,
      expectedSeq: 1,
      events: [{ type: 'run.stopped', at: Date.now(), v: 1, data: { reason: 'max_steps', detail: 'step limit' } }],
    });
    ids.push(run.runId);
  }
  return ids;
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const fast = { pollMs: 10, backoff: { baseMs: 20, maxMs: 80 }, timeoutMs: 2_000 };

describe('webhook delivery', () => {
  it('delivers every event once per webhook-id through refusals, 503s and a restart of the deliverer, signed', async () => {
    const path = join(root, `${uid('db')}.db`);
    const port = await freePort();
    let store = createSqliteStore({ path });
    const endpointId = uid('wh');
    await store.addWebhookEndpoint({
      id: endpointId,
      url: `http://127.0.0.1:${port}/hook`,
      secret: SECRET,
      events: ['run.stopped'],
      format: 'standard',
      createdAt: Date.now(),
    });
    const runs = await stopRuns(store, 12);
    const expected = runs.map((r) => `msg_${r}_2.${endpointId}`).sort();

    // The receiver is down: every attempt is refused, and nothing is lost.
    let deliverer = new WebhookDeliverer({ store, ...fast });
    deliverer.start();
    await sleep(150);
    const receiver = new Receiver();
    receiver.failFirst = 5;
    await receiver.listen(port);
    try {
      await until('a few deliveries', () => receiver.accepted.length >= 3);
      // Restart mid-way: a new process on the same file picks up what is left.
      await deliverer.stop();
      await store.close();
      store = createSqliteStore({ path });
      deliverer = new WebhookDeliverer({ store, ...fast });
      deliverer.start();
      await until('every event', () => new Set(receiver.accepted).size >= expected.length);
      await deliverer.stop();
      assert.deepEqual([...new Set(receiver.accepted)].sort(), expected);
      assert.equal(receiver.badSignatures, 0);
      const left = await store.listWebhookMessages({ endpointId, pending: true });
      assert.deepEqual(left, []);
      const body = receiver.bodies.get(expected[0] ?? '') as { type: string; data: { reason: string } };
      assert.equal(body.type, 'run.stopped');
      assert.equal(body.data.reason, 'max_steps');
    } finally {
      await deliverer.stop();
      await receiver.close();
      await store.close();
    }
  });

  it('delivers each event once across three deliverers on one PostgreSQL schema (separate connections, as separate workers)', async () => {
    const schema = uniqueSchema('whk');
    const stores = [await createPostgresStore({ url: PG_URL, schema, poolSize: 4 })];
    for (let i = 0; i < 2; i++) stores.push(await createPostgresStore({ url: PG_URL, schema, poolSize: 4 }));
    const [first] = stores;
    assert.ok(first);
    const receiver = new Receiver();
    const port = await receiver.listen();
    const endpointId = uid('wh');
    await first.addWebhookEndpoint({
      id: endpointId,
      url: `http://127.0.0.1:${port}/hook`,
      secret: SECRET,
      events: ['run.stopped'],
      format: 'standard',
      createdAt: Date.now(),
    });
    const deliverers = stores.map((store) => new WebhookDeliverer({ store, ...fast }));
    try {
      for (const d of deliverers) d.start();
      const runs = await stopRuns(first, 40);
      const expected = runs.map((r) => `msg_${r}_2.${endpointId}`).sort();
      await until('every event', () => new Set(receiver.accepted).size >= expected.length);
      await sleep(200); // a duplicate, if any deliverer sent one, would arrive now
      assert.deepEqual([...receiver.accepted].sort(), expected, 'each webhook-id exactly once');
      assert.equal(receiver.badSignatures, 0);
    } finally {
      for (const d of deliverers) await d.stop();
      await receiver.close();
      for (const s of stores) await s.close();
      await dropSchema(schema);
    }
  });

  it('gives a message up after maxAttempts and keeps its last error', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const port = await freePort();
    const endpointId = uid('wh');
    await store.addWebhookEndpoint({
      id: endpointId,
      url: `http://127.0.0.1:${port}/`,
      secret: SECRET,
      events: ['run.stopped'],
      format: 'standard',
      createdAt: Date.now(),
    });
    await stopRuns(store, 1);
    const deliverer = new WebhookDeliverer({ store, ...fast, maxAttempts: 3 });
    try {
      for (let i = 0; i < 200; i++) {
        await deliverer.deliverDue();
        const [m] = await store.listWebhookMessages({ endpointId });
        if (m?.nextAttemptAt === null) break;
        await sleep(10);
      }
      const [m] = await store.listWebhookMessages({ endpointId });
      assert.equal(m?.attempts, 3);
      assert.equal(m?.nextAttemptAt, null);
      assert.equal(m?.deliveredAt, null);
      assert.match(m?.lastError ?? '', /ECONNREFUSED/);
    } finally {
      await store.close();
    }
  });

  it('formats a Slack message with a link to the run in the dashboard', () => {
    const body = JSON.parse(
      webhookBody(
        {
          id: 'msg_1',
          type: 'approval.requested',
          payload: {
            type: 'approval.requested',
            timestamp: '',
            data: { runId: 'run_1', agent: 'support', tenant: 'acme', tool: 'refund', reason: 'over 100' },
          },
        },
        'slack',
        'http://127.0.0.1:7070/',
      ),
    ) as { text: string; blocks: unknown[] };
    assert.match(body.text, /Approval needed: run <http:\/\/127\.0\.0\.1:7070\/#\/runs\/run_1\|run_1> \(support, tenant acme\) wants to call `refund`/);
    assert.equal(body.blocks.length, 1);
  });
});
