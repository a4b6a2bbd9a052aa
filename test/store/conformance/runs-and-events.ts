import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { newEvent } from '../../../src/core/events.ts';
import { cancelRequested, createRun, limitHit, newRun, oneTo, rejectsWith, seqs, toolDenied, uid, type ConformanceContext } from './fixtures.ts';

/** Runs, the log's numbering, stale writers and listings. */
export function runsAndEvents({ test }: ConformanceContext): void {
  describe('runs', () => {
    test('creates a root run with run.submitted as seq 1 and a budget of its own', async (store) => {
      const run = await createRun(store, { ceilingNano: 5_000 });
      const row = await store.getRun(run.runId);
      assert.ok(row);
      assert.deepEqual(
        { ...row, updatedAt: 0 },
        {
          runId: run.runId,
          agent: run.agent,
          tenant: run.tenant,
          mode: 'live',
          status: 'queued',
          stopReason: null,
          parentRunId: null,
          rootRunId: run.runId,
          input: run.input,
          output: null,
          error: null,
          costNano: 0,
          steps: 0,
          toolCalls: 0,
          undo: 'none',
          lastSeq: 1,
          createdAt: run.createdAt,
          updatedAt: 0,
          leaseOwner: null,
          leaseExpiresAt: null,
          conversationId: null,
          turn: null,
        },
      );
      const events = await store.loadEvents(run.runId);
      assert.deepEqual(events, [{ runId: run.runId, seq: 1, ...run.submitted }]);
      assert.deepEqual(await store.getBudget(run.runId), { rootRunId: run.runId, ceilingNano: 5_000, spentNano: 0, reservedNano: 0 });
    });

    test('refuses a duplicate run id with CONFLICT and keeps the first run', async (store) => {
      const run = await createRun(store, { input: 'first' });
      await rejectsWith(store.createRun({ ...newRun({ runId: run.runId, input: 'second' }) }), 'CONFLICT');
      assert.equal((await store.getRun(run.runId))?.input, 'first');
      assert.equal((await store.loadEvents(run.runId)).length, 1);
    });

    test('refuses a child run whose root has no budget with NOT_FOUND and writes nothing', async (store) => {
      const child = newRun({ rootRunId: uid('missing-root') });
      await rejectsWith(store.createRun(child), 'NOT_FOUND');
      assert.equal(await store.getRun(child.runId), undefined);
      assert.deepEqual(await store.loadEvents(child.runId), []);
    });

    test('gives a child run no budget row of its own', async (store) => {
      const root = await createRun(store);
      const child = await createRun(store, { rootRunId: root.runId, parentRunId: root.runId });
      assert.equal(await store.getBudget(child.runId), undefined);
      const row = await store.getRun(child.runId);
      assert.equal(row?.rootRunId, root.runId);
      assert.equal(row?.parentRunId, root.runId);
    });

    test('answers undefined or empty for ids it does not know', async (store) => {
      assert.equal(await store.getRun(uid()), undefined);
      assert.equal(await store.getBudget(uid()), undefined);
      assert.equal(await store.getIntervention(uid()), undefined);
      assert.deepEqual(await store.loadEvents(uid()), []);
    });
  });

  describe('the event log', () => {
    test('numbers events contiguously from 1 across commits and external appends', async (store) => {
      const run = await createRun(store);
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit('a'), toolDenied()] });
      assert.equal(await store.appendExternal(run.runId, [cancelRequested()]), 4);
      await store.commit({ runId: run.runId, expectedSeq: 4, events: [limitHit('b'), limitHit('c'), toolDenied()] });
      const events = await store.loadEvents(run.runId);
      assert.deepEqual(seqs(events), oneTo(7));
      assert.deepEqual(
        events.map((e) => e.type),
        ['run.submitted', 'limit.hit', 'tool.denied', 'cancel.requested', 'limit.hit', 'limit.hit', 'tool.denied'],
      );
      assert.equal((await store.getRun(run.runId))?.lastSeq, 7);
    });

    test('returns only the events after afterSeq, in order', async (store) => {
      const run = await createRun(store);
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit('a'), limitHit('b'), limitHit('c')] });
      const tail = await store.loadEvents(run.runId, 2);
      assert.deepEqual(seqs(tail), [3, 4]);
      assert.deepEqual(
        tail.map((e) => (e.type === 'limit.hit' ? e.data.detail : '')),
        ['b', 'c'],
      );
      assert.deepEqual(await store.loadEvents(run.runId, 4), []);
    });

    test('gives back event payloads exactly as they were written', async (store) => {
      const run = await createRun(store);
      const result = { rows: [{ id: 1, tags: ['a', 'ü'] }], nothing: null, nested: { deep: { n: -1.5, big: 2 ** 52 } }, text: 'line\n"quoted"' };
      const event = newEvent('tool.succeeded', { callId: 'c1', tool: 'lookup_order', attempt: 1, result, durationMs: 12 }, 1_700_000_000_123);
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [event] });
      const [loaded] = await store.loadEvents(run.runId, 1);
      assert.deepEqual(loaded, { runId: run.runId, seq: 2, ...event });
    });

    test('accepts a commit with no events and leaves the seq where it was', async (store) => {
      const run = await createRun(store);
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [], run: { status: 'running' } });
      const row = await store.getRun(run.runId);
      assert.equal(row?.lastSeq, 1);
      assert.equal(row?.status, 'running');
    });

    test('refuses a commit to an unknown run with NOT_FOUND', async (store) => {
      await rejectsWith(store.commit({ runId: uid(), expectedSeq: 1, events: [limitHit()] }), 'NOT_FOUND');
    });

    test('rejects a stale writer with STALE_WRITER naming both seqs, and writes nothing', async (store) => {
      const run = await createRun(store, { ceilingNano: 1_000 });
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()] });
      const before = await store.getRun(run.runId);
      const error = await rejectsWith(
        store.commit({
          runId: run.runId,
          expectedSeq: 1,
          events: [toolDenied()],
          run: { status: 'completed', output: 'late' },
          budget: [{ kind: 'reserve', rootRunId: run.runId, amountNano: 100 }],
        }),
        'STALE_WRITER',
      );
      assert.match(error.message, /expected[^0-9]*1\b/);
      assert.match(error.message, /found[^0-9]*2\b/);
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2]);
      assert.deepEqual(await store.getRun(run.runId), before);
      assert.equal((await store.getBudget(run.runId))?.reservedNano, 0);
    });

    test('lets exactly one of many writers at the same seq commit', async (store) => {
      const run = await createRun(store);
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit(`writer ${i}`), toolDenied()] })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1);
      for (const r of lost) assert.equal(r.reason?.code, 'STALE_WRITER');
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2, 3]);
    });

    test('applies only the run fields a patch names, and stamps updatedAt', async (store) => {
      const run = await createRun(store);
      const t0 = Date.now();
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()], run: { status: 'running', steps: 1, costNano: 250 } });
      await store.commit({
        runId: run.runId,
        expectedSeq: 2,
        events: [newEvent('run.stopped', { reason: 'max_steps', detail: '20 steps' })],
        run: { status: 'stopped', stopReason: 'max_steps', toolCalls: 3, error: 'step limit' },
      });
      const row = await store.getRun(run.runId);
      assert.equal(row?.status, 'stopped');
      assert.equal(row?.stopReason, 'max_steps');
      assert.equal(row?.steps, 1, 'steps kept from the first patch');
      assert.equal(row?.costNano, 250, 'cost kept from the first patch');
      assert.equal(row?.toolCalls, 3);
      assert.equal(row?.error, 'step limit');
      assert.equal(row?.output, null);
      assert.equal(row?.lastSeq, 3);
      assert.ok(row!.updatedAt >= t0, 'updatedAt is the commit time');
      await store.commit({ runId: run.runId, expectedSeq: 3, events: [], run: { stopReason: null, error: null } });
      const cleared = await store.getRun(run.runId);
      assert.equal(cleared?.stopReason, null, 'an explicit null clears a field');
      assert.equal(cleared?.error, null);
      assert.equal(cleared?.status, 'stopped');
    });

    test('keeps where an undo of the run stands, and refuses a phase it does not know', async (store) => {
      const run = await createRun(store);
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()], run: { undo: 'waiting_for_person' } });
      assert.equal((await store.getRun(run.runId))?.undo, 'waiting_for_person');
      await store.commit({ runId: run.runId, expectedSeq: 2, events: [limitHit()], run: { undo: 'done' } });
      assert.equal((await store.getRun(run.runId))?.undo, 'done');
      assert.equal((await store.listRuns({ limit: 1000 })).find((r) => r.runId === run.runId)?.undo, 'done', 'runs list says it was undone');
      await rejectsWith(store.commit({ runId: run.runId, expectedSeq: 3, events: [limitHit()], run: { undo: 'undone' as never } }), 'INVALID_ARGUMENT');
      assert.equal((await store.getRun(run.runId))?.lastSeq, 3, 'nothing written');
    });

    test('refuses money, counts and times that are not integers with INVALID_ARGUMENT, writing nothing', async (store) => {
      const run = await createRun(store);
      await rejectsWith(store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()], run: { costNano: 0.5 } }), 'INVALID_ARGUMENT');
      await rejectsWith(
        store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()], budget: [{ kind: 'reserve', rootRunId: run.runId, amountNano: -1 }] }),
        'INVALID_ARGUMENT',
      );
      await rejectsWith(store.commit({ runId: run.runId, expectedSeq: 1, events: [{ ...limitHit(), at: Number.NaN }] }), 'INVALID_ARGUMENT');
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1]);
    });
  });

  describe('listing runs', () => {
    test('lists runs newest first and filters by agent, tenant, status, stop reason, root and since', async (store) => {
      const tenant = uid('tenant');
      const t = 1_700_000_000_000;
      const a = await createRun(store, { tenant, agent: 'support', createdAt: t });
      const b = await createRun(store, { tenant, agent: 'billing', createdAt: t + 10 });
      const c = await createRun(store, { tenant, agent: 'support', createdAt: t + 20 });
      const child = await createRun(store, { tenant, agent: 'support', rootRunId: a.runId, createdAt: t + 30 });
      await createRun(store, { tenant: uid('other-tenant'), agent: 'support', createdAt: t + 40 });
      await store.commit({ runId: b.runId, expectedSeq: 1, events: [], run: { status: 'stopped', stopReason: 'cost_ceiling' } });
      await store.commit({ runId: c.runId, expectedSeq: 1, events: [], run: { status: 'completed', output: 'done' } });

      const ids = async (filter: Parameters<typeof store.listRuns>[0]) => (await store.listRuns({ tenant, ...filter })).map((r) => r.runId);
      assert.deepEqual(await ids({}), [child.runId, c.runId, b.runId, a.runId]);
      assert.deepEqual(await ids({ agent: 'support' }), [child.runId, c.runId, a.runId]);
      assert.deepEqual(await ids({ status: 'queued' }), [child.runId, a.runId]);
      assert.deepEqual(await ids({ status: ['completed', 'stopped'] }), [c.runId, b.runId]);
      assert.deepEqual(await ids({ status: [] }), []);
      assert.deepEqual(await ids({ stopReason: 'cost_ceiling' }), [b.runId]);
      assert.deepEqual(await ids({ rootRunId: a.runId }), [child.runId, a.runId]);
      assert.deepEqual(await ids({ since: t + 20 }), [child.runId, c.runId]);
      assert.deepEqual(await ids({ limit: 2 }), [child.runId, c.runId]);
    });

    test('lists runs without their texts when asked, every other field as listRuns gives it', async (store) => {
      const tenant = uid('tenant');
      const run = await createRun(store, { tenant, input: 'a long request '.repeat(50) });
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [], run: { status: 'failed', output: 'partial', error: 'boom', costNano: 1234 } });
      const [full] = await store.listRuns({ tenant });
      const [lean] = await store.listRuns({ tenant, withoutText: true });
      assert.ok(full && lean);
      assert.deepEqual(lean, { ...full, input: '', output: null, error: null });
      assert.equal(lean.costNano, 1234);
    });

    test('returns at most 100 runs unless the filter sets a limit', async (store) => {
      const tenant = uid('tenant');
      for (let i = 0; i < 105; i++) await createRun(store, { tenant, createdAt: 1_700_000_000_000 + i });
      const page = await store.listRuns({ tenant });
      assert.equal(page.length, 100);
      assert.equal(page[0]?.createdAt, 1_700_000_000_104);
      assert.equal((await store.listRuns({ tenant, limit: 500 })).length, 105);
    });

    test('lands concurrent commits of many runs together, and fails a stale one alone', async (store) => {
      const runs = await Promise.all(oneTo(6).map(() => createRun(store)));
      const results = await Promise.allSettled(
        runs.map((run, i) => store.commit({ runId: run.runId, expectedSeq: i === 3 ? 7 : 1, events: [limitHit(`r${i}`)] })),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      await rejectsWith(Promise.reject((results[3] as PromiseRejectedResult).reason), 'STALE_WRITER');
      for (const [i, run] of runs.entries()) assert.deepEqual(seqs(await store.loadEvents(run.runId)), i === 3 ? [1] : [1, 2]);
    });

    test('records a shadow run as such, and filters runs by mode', async (store) => {
      const live = await createRun(store);
      const shadow = newRun();
      const submitted = shadow.submitted as { data: Record<string, unknown> };
      submitted.data = { ...submitted.data, mode: 'shadow' };
      await store.createRun(shadow);
      assert.equal((await store.getRun(shadow.runId))?.mode, 'shadow');
      assert.equal((await store.getRun(live.runId))?.mode, 'live');
      const shadows = await store.listRuns({ mode: 'shadow', limit: 1000 });
      assert.ok(shadows.some((r) => r.runId === shadow.runId) && !shadows.some((r) => r.runId === live.runId));
    });
  });
}
