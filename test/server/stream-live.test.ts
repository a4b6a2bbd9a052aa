import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { newEvent } from '../../src/core/events.ts';
import type { Store } from '../../src/core/ports/store.ts';
import { createApiKey } from '../../src/server/api-keys.ts';
import { startServer, type RunningServer } from '../../src/server/serve.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { waitFor } from '../helpers.ts';
import { dropSchema, PG_URL, uniqueSchema } from '../store/pg-schema.ts';
import { catalog, messages, type SseMessage } from './fixtures.ts';

const schema = uniqueSchema('live');
after(() => dropSchema(schema));

/**
 * Process A serves the stream; process B (another store with its own pool: another process, as
 * far as PostgreSQL can tell) writes the run, as a `warden worker` would.
 */
async function twoProcesses(streamPollMs: number, fn: (s: { server: RunningServer; a: Store; b: Store; key: string }) => Promise<void>): Promise<void> {
  const a = await createPostgresStore({ url: PG_URL, schema, poolSize: 3 });
  const b = await createPostgresStore({ url: PG_URL, schema, poolSize: 2 });
  const server = await startServer({ store: a, agents: catalog, port: 0, execute: false, streamPollMs });
  try {
    const key = (await createApiKey(a, { name: 'watcher', role: 'submitter', tenants: ['acme'] })).secret;
    await fn({ server, a, b, key });
  } finally {
    await server.close();
    await a.close();
    await b.close();
  }
}

async function submit(server: RunningServer, key: string): Promise<string> {
  const res = await fetch(`${server.url}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'desk', input: 'close account c-42' }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { runId: string }).runId;
}

/** Reads the stream in the background; `seen` grows as messages arrive, with their arrival time. */
function watch(server: RunningServer, key: string, runId: string) {
  const seen: (SseMessage & { at: number })[] = [];
  const done = (async () => {
    const res = await fetch(`${server.url}/v1/runs/${runId}/stream`, { headers: { authorization: `Bearer ${key}` } });
    for await (const m of messages(res)) seen.push({ ...m, at: performance.now() });
  })();
  return { seen, done };
}

const step = (n: number) => [newEvent('limit.hit', { limit: 'max_steps', detail: `step ${n}` })];

describe('a live stream of a run another process writes (PostgreSQL)', () => {
  it('delivers each commit of another process promptly with polling off (a 60 s poll interval)', async () => {
    await twoProcesses(60_000, async ({ server, b, key }) => {
      const runId = await submit(server, key);
      const { seen, done } = watch(server, key, runId);
      await waitFor(() => seen.some((m) => m.id === '1'), { timeoutMs: 5_000 });
      await waitFor(async () => (await b.getRun(runId))?.lastSeq === 1);
      await new Promise((r) => setTimeout(r, 100)); // the stream follows the run before its first read
      const delays: number[] = [];
      for (let seq = 1; seq <= 5; seq++) {
        await b.commit({ runId, expectedSeq: seq, events: step(seq) });
        const committed = performance.now();
        await waitFor(() => seen.some((m) => m.id === String(seq + 1)), { timeoutMs: 3_000, message: `seq ${seq + 1} on the stream` });
        delays.push(mustFind(seen, String(seq + 1)).at - committed);
      }
      // A poll would take 60 s and the key check (every second) reads no events: only a notice explains this.
      assert.ok(Math.max(...delays) < 500, `delays ${delays.map((d) => d.toFixed(1)).join(', ')} ms`);
      await b.commit({ runId, expectedSeq: 6, events: [newEvent('run.completed', { output: 'done' })], run: { status: 'completed', output: 'done' } });
      await done; // the stream ends with the run
      assert.deepEqual(
        seen.filter((m) => m.id).map((m) => m.id),
        ['1', '2', '3', '4', '5', '6', '7'],
      );
    });
  });

  it("while it cannot listen, finds other processes' commits by polling (and a read once it listens again), missing and repeating nothing", async () => {
    await twoProcesses(200, async ({ server, b, key }) => {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      try {
        const runId = await submit(server, key);
        const { seen, done } = watch(server, key, runId);
        await waitFor(() => seen.some((m) => m.id === '1'), { timeoutMs: 5_000 });
        const listeners = async () =>
          (await admin.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN "warden_%' AND query LIKE $1`, [`%_${schema}"`])).rows.map(
            (r) => r.pid as number,
          );
        await waitFor(async () => (await listeners()).length === 1);
        const [before] = await listeners();
        let seq = 1;
        const commit = async () => {
          await b.commit({ runId, expectedSeq: seq, events: step(seq) });
          seq++;
        };
        await commit();
        // Keep the stream's process from listening: every connection that tries is cut at once.
        let cutting = true;
        let cuts = 0;
        const cutter = (async () => {
          while (cutting) {
            for (const pid of await listeners()) cuts += (await admin.query('SELECT pg_terminate_backend($1)', [pid])).rowCount ?? 0;
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        await waitFor(async () => cuts > 0 && (await listeners()).length === 0);
        // Commits while it cannot listen: only the stream's polling (every 200 ms) can find them.
        await commit();
        await commit();
        await waitFor(() => seen.some((m) => m.id === String(seq)), { timeoutMs: 1_500, message: 'the commits made while cut off, by polling' });
        cutting = false;
        await cutter;
        // It listens again (backoff) and is prompt again; nothing is sent twice.
        await waitFor(async () => {
          const now = await listeners();
          return now.length === 1 && now[0] !== before;
        });
        for (let i = 0; i < 3; i++) await commit();
        await b.commit({ runId, expectedSeq: seq, events: [newEvent('run.completed', { output: 'done' })], run: { status: 'completed', output: 'done' } });
        await done;
        const ids = seen.filter((m) => m.id).map((m) => Number(m.id));
        assert.deepEqual(
          ids,
          Array.from({ length: seq + 1 }, (_, i) => i + 1),
        );
      } finally {
        await admin.end();
      }
    });
  });
});

function mustFind(seen: (SseMessage & { at: number })[], id: string): SseMessage & { at: number } {
  const m = seen.find((x) => x.id === id);
  assert.ok(m, `message ${id}`);
  return m;
}
