/**
 * The server's promises: an oversized body is refused without being read into memory, a live event
 * stream ends when its key stops being allowed (and resumes after `Last-Event-ID`), and a decision
 * always carries its run on, even while the session that parked the run is still finishing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createApiKey, revokeApiKey } from '../../src/server/api-keys.ts';
import { MAX_BODY_BYTES } from '../../src/server/app.ts';
import { startServer } from '../../src/server/serve.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/core/ports/store.ts';
import { tempDir, type Json } from '../helpers.ts';
import { catalog, testServer, waitFor, type TestServer } from '../server/fixtures.ts';

const MB = 1024 * 1024;

/** `total` bytes of a JSON-looking body, yielded as one reused 64 KiB block: the test itself holds almost nothing. */
function* bodyOf(total: number): Generator<Buffer> {
  const block = Buffer.alloc(64 * 1024, 0x20);
  block.write('{"agent":"desk","input":"');
  for (let sent = 0; sent < total; sent += block.length) yield block;
}

/**
 * Streams a `bytes`-long POST to /v1/runs (with a Content-Length, or chunked without one) and
 * resolves with the answer as soon as it arrives; the upload is then abandoned.
 */
function upload(url: string, key: string, bytes: number, framing: 'content-length' | 'chunked'): Promise<{ status: number; json: Json }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(`${url}/v1/runs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        ...(framing === 'content-length' ? { 'content-length': String(bytes) } : {}),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        answered = true;
        req.destroy();
        let json: Json = text;
        try {
          json = JSON.parse(text);
        } catch {
          // left as text; the assertion shows it
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    Readable.from(bodyOf(bytes))
      .on('error', () => {})
      .pipe(req);
  });
}

/** The highest resident set size seen while `work` runs, minus the one before it started. */
async function rssGrowthDuring<T>(work: () => Promise<T>): Promise<{ growth: number; result: T }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { growth: peak - start, result };
  } finally {
    clearInterval(sampler);
  }
}

describe('the server refuses an oversized body without reading it into memory', () => {
  let t: TestServer;
  before(async () => {
    t = await testServer({ execute: false });
  });
  after(() => t.close());

  for (const framing of ['content-length', 'chunked'] as const) {
    it(`answers eight concurrent 50 MB bodies (${framing}) with 413 PAYLOAD_TOO_LARGE while memory stays flat`, async () => {
      const { growth, result } = await rssGrowthDuring(() =>
        Promise.all(Array.from({ length: 8 }, () => upload(t.server.url, t.keys.submitter, 50 * MB, framing))),
      );
      for (const answer of result) assert.deepEqual([answer.status, answer.json?.error?.code], [413, 'PAYLOAD_TOO_LARGE']);
      assert.ok(growth < 50 * MB, `the server grew by ${(growth / MB).toFixed(1)} MB while refusing 400 MB`);
      assert.equal((await t.store.listRuns({ limit: 10 })).length, 0, 'nothing was submitted');
    });
  }

  it('still accepts a body just under the limit on the same server', async () => {
    const input = 'x'.repeat(MAX_BODY_BYTES - 1024);
    const res = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input });
    assert.equal(res.status, 201);
  });
});

/** An SSE client that collects events as they arrive and notes when the server ends the stream. */
function openStream(url: string, key: string, headers: Record<string, string> = {}) {
  const events: { id?: string; event: string; data: Json }[] = [];
  let endedAt = 0;
  let status = 0;
  let notify: () => void = () => {};
  const changed = () => new Promise<void>((r) => (notify = r));
  const controller = new AbortController();
  const done = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, ...headers }, signal: controller.signal });
    status = res.status;
    if (!res.ok || !res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffer += decoder.decode(chunk.value, { stream: true });
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields = Object.fromEntries(
          frame
            .split('\n')
            .filter((l) => l.includes(':'))
            .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
        );
        if (fields.event) events.push({ ...(fields.id ? { id: fields.id } : {}), event: fields.event, data: JSON.parse(fields.data ?? 'null') });
        notify();
      }
    }
    endedAt = Date.now();
  })()
    .catch((e) => {
      if (!controller.signal.aborted) throw e;
    })
    .finally(() => notify());
  return {
    events,
    done,
    get status() {
      return status;
    },
    get endedAt() {
      return endedAt;
    },
    /** Resolves once `predicate` holds over the events seen so far (or the stream ends). */
    async until(predicate: () => boolean): Promise<void> {
      while (!predicate() && !endedAt && !controller.signal.aborted) {
        const next = changed();
        await Promise.race([next, done]);
      }
    },
    close: () => controller.abort(),
  };
}

describe('a live event stream ends when its key may no longer read the run', () => {
  let t: TestServer;
  let runId: string;
  let approvalId: string;
  before(async () => {
    t = await testServer();
    runId = (await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'delete c-42' })).json.runId;
    await waitFor('the run parks', async () => (await t.call(t.keys.admin, 'GET', `/v1/runs/${runId}`)).json.status === 'waiting_approval');
    approvalId = (await t.call(t.keys.admin, 'GET', `/v1/runs/${runId}`)).json.pending.id;
  });
  after(() => t.close());

  it('closes the stream of a revoked key with a final stream.end event saying why', async () => {
    const { key, secret } = await createApiKey(t.store, { name: 'watcher', role: 'viewer', tenants: ['acme'] });
    const stream = openStream(`${t.server.url}/v1/runs/${runId}/stream`, secret);
    try {
      await stream.until(() => stream.events.some((e) => e.event === 'approval.requested'));
      assert.equal(stream.status, 200);
      const revokedAt = Date.now();
      await revokeApiKey(t.store, key.id); // what `warden keys revoke ID` does
      await Promise.race([stream.done, new Promise((_, reject) => setTimeout(() => reject(new Error('the stream outlived its key by 10 s')), 10_000).unref())]);
      assert.ok(stream.endedAt - revokedAt < 5_000, `ended ${stream.endedAt - revokedAt} ms after the revocation`);
      const last = stream.events.at(-1)!;
      assert.equal(last.event, 'stream.end');
      assert.equal(last.data.reason, 'key_revoked');
      assert.equal(last.id, undefined, 'the closing event carries no id, so Last-Event-ID stays on the last run event');
    } finally {
      stream.close();
    }
  });

  it("closes the stream of a key that no longer covers the run's tenant", async () => {
    const { key, secret } = await createApiKey(t.store, { name: 'watcher', role: 'viewer', tenants: ['acme'] });
    const stream = openStream(`${t.server.url}/v1/runs/${runId}/stream`, secret);
    try {
      await stream.until(() => stream.events.some((e) => e.event === 'approval.requested'));
      // No command changes a key's tenants today; rewrite its stored record as one would.
      const { hash } = (await t.store.getRecord('api-key-id', key.id)) as { hash: string };
      await t.store.putRecord('api-key', hash, { ...key, tenants: ['globex'] });
      await Promise.race([
        stream.done,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the stream outlived its tenant by 10 s')), 10_000).unref()),
      ]);
      assert.deepEqual([stream.events.at(-1)!.event, stream.events.at(-1)!.data.reason], ['stream.end', 'tenant_lost']);
    } finally {
      stream.close();
    }
  });

  it('sends every event once, in seq order with no gap, even one appended by another process', async () => {
    const other = (await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'delete c-9' })).json.runId;
    await waitFor('the run parks', async () => (await t.call(t.keys.admin, 'GET', `/v1/runs/${other}`)).json.status === 'waiting_approval');
    const stream = openStream(`${t.server.url}/v1/runs/${other}/stream`, t.keys.viewer);
    await stream.until(() => stream.events.some((e) => e.event === 'approval.requested'));
    // The decision is only in the store (`warden approvals approve` elsewhere); what follows is pushed at once.
    const pending = (await t.store.listInterventions({ status: 'pending', limit: 100 })).find((i) => i.runId === other)!;
    await createWarden({ store: t.store }).approve(pending.id, { by: 'ana (cli)' });
    t.server.executor.enqueue(other);
    await stream.done;
    const log = (await t.call(t.keys.viewer, 'GET', `/v1/runs/${other}/events`)).json.events as { seq: number }[];
    // Streamed text (text.delta, no id) is a live preview, not a run event.
    assert.deepEqual(
      stream.events.filter((e) => e.event !== 'text.delta').map((e) => Number(e.id)),
      log.map((e) => e.seq),
    );
  });

  it('resumes after Last-Event-ID: only events with a higher seq, up to the end of the run', async () => {
    const before = (await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}/events`)).json.events as { seq: number; type: string }[];
    const lastSeen = before.find((e) => e.type === 'approval.requested')!.seq - 1;
    const decided = await t.call(t.keys.approver, 'POST', `/v1/approvals/${approvalId}/approve`, { reason: 'checked' });
    assert.equal(decided.status, 200);
    await waitFor('completed', async () => (await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}`)).json.status === 'completed');
    const stream = openStream(`${t.server.url}/v1/runs/${runId}/stream`, t.keys.viewer, { 'last-event-id': String(lastSeen) });
    await stream.done;
    const log = (await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}/events`)).json.events as { seq: number }[];
    const runEvents = stream.events.filter((e) => e.id);
    assert.deepEqual(
      runEvents.map((e) => Number(e.id)),
      log.filter((e) => e.seq > lastSeen).map((e) => e.seq),
    );
    assert.equal(runEvents.at(-1)!.event, 'run.completed');
  });

  it('resumes after any Last-Event-ID, from before the first event to past the last (property, fixed seed)', async () => {
    const log = (await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}/events`)).json.events as { seq: number }[];
    assert.equal((await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}`)).json.status, 'completed', 'the run before has ended, so each stream ends by itself');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: log.length + 3 }), async (after) => {
        const stream = openStream(`${t.server.url}/v1/runs/${runId}/stream`, t.keys.viewer, { 'last-event-id': String(after) });
        await stream.done;
        assert.deepEqual(
          stream.events.map((e) => Number(e.id)),
          log.filter((e) => e.seq > after).map((e) => e.seq),
        );
      }),
      { seed: 13, numRuns: 25 },
    );
  });

  it('refuses a Last-Event-ID that is not a sequence number with 400 INVALID_ARGUMENT', async () => {
    const res = await t.call(t.keys.viewer, 'GET', `/v1/runs/${runId}/stream`, undefined, { 'last-event-id': 'abc' });
    assert.deepEqual([res.status, res.json.error.code], [400, 'INVALID_ARGUMENT']);
  });
});

/** A store whose first lease release waits until `gate` opens: the session that parked the run has not returned yet. */
type Caller = (key: string, method: string, path: string, body?: unknown) => Promise<{ status: number; json: Json }>;

function withSlowRelease(store: Store, gate: Promise<void>): Store {
  let held = false;
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === 'releaseLease') {
        return async (id: string, owner: string) => {
          if (!held) {
            held = true;
            await gate;
          }
          return target.releaseLease(id, owner);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a decision always carries its run on', () => {
  const ways = {
    'through the API': async (call: Caller, approver: string, id: string) =>
      assert.equal((await call(approver, 'POST', `/v1/approvals/${id}/approve`, {})).status, 200),
    // `warden approvals approve` in another process: the server is told nothing, only the store changes.
    'from another process on the same store': async (_call: Caller, _approver: string, id: string, store: Store) =>
      void (await createWarden({ store }).approve(id, { by: 'ana (cli)' })),
  };
  for (const [way, decide] of Object.entries(ways)) {
    it(`drives a run approved ${way} even when the approval lands before the parking session has returned`, async () => {
      const raw = createSqliteStore({ path: join(tempDir('warden-server-'), 'w.db') });
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const submitter = (await createApiKey(raw, { name: 'submitter', role: 'submitter', tenants: ['acme'] })).secret;
      const approver = (await createApiKey(raw, { name: 'approver', role: 'approver', tenants: ['acme'] })).secret;
      const server = await startServer({ store: withSlowRelease(raw, gate), agents: catalog, port: 0 });
      const call: Caller = async (key, method, path, body) => {
        const res = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return { status: res.status, json: await res.json() };
      };
      try {
        const runId: string = (await call(submitter, 'POST', '/v1/runs', { agent: 'desk', input: 'delete c-7' })).json.runId;
        await waitFor('the run parks', async () => (await raw.getRun(runId))?.status === 'waiting_approval');
        const pending = (await raw.listInterventions({ status: 'pending', limit: 10 })).find((i) => i.runId === runId)!;
        // The session that parked the run is still inside its lease release: decide now.
        await decide(call, approver, pending.id, raw);
        assert.equal((await raw.getRun(runId))?.status, 'queued');
        open();
        await waitFor('the approved run completes', async () => (await raw.getRun(runId))?.status === 'completed');
        await server.executor.idle();
      } finally {
        open();
        await server.close();
        await raw.close();
      }
    });
  }
});
