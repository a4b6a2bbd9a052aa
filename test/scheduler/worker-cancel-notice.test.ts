import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createWarden } from '../../src/runtime/warden.ts';
import { Worker } from '../../src/scheduler/worker.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { waitFor } from '../helpers.ts';
import { AGENTS, catalog } from '../server/fixtures.ts';
import { dropSchema, PG_URL, uniqueSchema } from '../store/pg-schema.ts';

const schema = uniqueSchema('wcancel');
after(() => dropSchema(schema));

describe('a worker hears a cancel from another process (PostgreSQL)', () => {
  it('aborts the run it drives as soon as another process cancels it, not at its next step (a 20 s tool call)', async () => {
    const mine = await createPostgresStore({ url: PG_URL, schema, poolSize: 3 });
    const theirs = await createPostgresStore({ url: PG_URL, schema, poolSize: 2 });
    const worker = new Worker({ store: mine, agents: catalog, concurrency: 1, pollMs: 50 });
    const running = worker.start();
    try {
      const elsewhere = createWarden({ store: theirs });
      const slow = AGENTS.slow;
      assert.ok(slow);
      const runId = await elsewhere.submit(slow, 'scan everything', { tenant: 'acme' });
      await waitFor(async () => (await theirs.loadEvents(runId)).some((e) => e.type === 'tool.started'), { timeoutMs: 10_000 });
      const cancelledAt = Date.now();
      await elsewhere.cancel(runId, { by: 'ana', reason: 'wrong customer' });
      await waitFor(async () => (await theirs.getRun(runId))?.status === 'cancelled', { timeoutMs: 10_000 });
      assert.ok(Date.now() - cancelledAt < 5_000, 'well before the tool call would have ended');
      const ended = (await theirs.loadEvents(runId)).find((e) => e.type === 'run.cancelled');
      assert.equal(ended?.type === 'run.cancelled' && ended.data.by, 'ana');
    } finally {
      await worker.stop();
      await running;
      await mine.close();
      await theirs.close();
    }
  });
});
