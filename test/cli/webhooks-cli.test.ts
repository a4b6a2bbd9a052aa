import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { WebhookDeliverer } from '../../src/scheduler/webhook-deliverer.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli, tempDir } from '../helpers.ts';

const EXAMPLE = 'examples/support-desk.ts';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** A loopback receiver that accepts only correctly signed requests; the payloads it accepted, by webhook-id. */
async function receiver(): Promise<{ url: string; got: Map<string, { type: string; data: Record<string, unknown> }>; close: () => Promise<void> }> {
  const got = new Map<string, { type: string; data: Record<string, unknown> }>();
  const wh = new Webhook(SECRET);
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      try {
        got.set(String(req.headers['webhook-id']), wh.verify(body, req.headers as Record<string, string>) as { type: string; data: Record<string, unknown> });
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, got, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('warden webhooks', () => {
  it('adds an endpoint, tells it about an approval and a kill switch, tests it and removes it', async () => {
    const db = join(tempDir(), 'w.db');
    const r = await receiver();
    try {
      const add = await runCli([
        'webhooks',
        'add',
        r.url,
        '--events',
        'approval.requested,kill_switch.changed',
        '--secret',
        SECRET,
        '--id',
        'ops',
        '--db',
        db,
        '--json',
      ]);
      assert.equal(add.code, 0, add.stderr);
      assert.deepEqual(JSON.parse(add.stdout).events, ['approval.requested', 'kill_switch.changed']);

      const bad = await runCli(['webhooks', 'add', r.url, '--events', 'run.nope', '--db', db]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /INVALID_ARGUMENT: .*unknown event type "run.nope"/);

      const parked = await runCli(['run', EXAMPLE, '--input', 'Refund order 1042', '--db', db, '--json']);
      assert.equal(parked.code, 4, parked.stderr);
      const halt = await runCli(['stop', '--agent', 'support-desk', '--by', 'ana', '--reason', 'refund bug', '--db', db]);
      assert.equal(halt.code, 0, halt.stderr);

      const list = await runCli(['webhooks', 'list', '--db', db, '--json']);
      const [listed] = JSON.parse(list.stdout) as { id: string; pending: number; secret?: string }[];
      assert.equal(listed?.id, 'ops');
      assert.equal(listed?.secret, undefined, 'the secret is not printed again');
      assert.equal(listed?.pending, 2);

      const store = createSqliteStore({ path: db });
      try {
        const deliverer = new WebhookDeliverer({ store });
        await deliverer.deliverDue();
      } finally {
        await store.close();
      }
      const types = [...r.got.values()].map((m) => m.type).sort();
      assert.deepEqual(types, ['approval.requested', 'kill_switch.changed']);
      const approval = [...r.got.values()].find((m) => m.type === 'approval.requested');
      assert.equal(approval?.data.agent, 'support-desk');

      const test = await runCli(['webhooks', 'test', 'ops', '--db', db, '--json']);
      assert.equal(test.code, 0, test.stderr);
      assert.equal(JSON.parse(test.stdout).status, 204);

      assert.equal((await runCli(['webhooks', 'remove', 'ops', '--db', db])).code, 0);
      const again = await runCli(['webhooks', 'remove', 'ops', '--db', db]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /NOT_FOUND/);
    } finally {
      await r.close();
    }
  });

  it('says so, with exit 1, when the endpoint does not take the test message', async () => {
    const db = join(tempDir(), 'w.db');
    const r = await receiver();
    const url = r.url;
    await r.close();
    await runCli(['webhooks', 'add', url, '--id', 'gone', '--db', db]);
    const test = await runCli(['webhooks', 'test', 'gone', '--db', db]);
    assert.equal(test.code, 1);
    assert.match(test.stderr, /WEBHOOK_FAILED: .*ECONNREFUSED/);
  });
});
