import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { newEvent } from '../../../src/core/events.ts';
import {
  approvalRequest,
  cancelRequested,
  createRun,
  limitHit,
  oneTo,
  rejectsWith,
  seededRandom,
  seqs,
  toolDenied,
  uid,
  type ConformanceContext,
} from './fixtures.ts';

function approvalDecided(approvalId: string, callId: string) {
  return newEvent('approval.decided', { approvalId, callId, decision: 'approved', by: 'alice', reason: 'ok', argsHash: 'sha256:abc' });
}

/** Interventions (approvals, escalations) and writes from outside the run's worker. */
export function interventionsAndExternalWrites({ test }: ConformanceContext): void {
  describe('interventions', () => {
    test("records interventions as pending, with the run's agent and tenant, and gives them back intact", async (store) => {
      const run = await createRun(store, { agent: 'billing', tenant: uid('tenant') });
      const approval = approvalRequest();
      const escalation = approvalRequest({ kind: 'escalation', callId: null, tool: null, args: undefined, argsHash: null, evidence: {} });
      await store.commit({
        runId: run.runId,
        expectedSeq: 1,
        events: [toolDenied()],
        interventions: [approval, escalation],
        run: { status: 'waiting_approval' },
      });
      assert.deepEqual(await store.getIntervention(approval.id), {
        ...approval,
        runId: run.runId,
        agent: 'billing',
        tenant: run.tenant,
        status: 'pending',
        expiresAt: null,
        decidedAt: null,
        decidedBy: null,
        decisionReason: null,
      });
      const loaded = await store.getIntervention(escalation.id);
      assert.equal(loaded?.kind, 'escalation');
      assert.equal(loaded?.args, undefined);
      assert.deepEqual(loaded?.evidence, {});
    });

    test('lists interventions oldest first, filtered by kind, status, run, tenant, agent and time', async (store) => {
      const tenant = uid('tenant');
      const r1 = await createRun(store, { tenant, agent: 'billing' });
      const r2 = await createRun(store, { tenant });
      const t = 1_700_000_000_000;
      const a = approvalRequest({ requestedAt: t + 20 });
      const b = approvalRequest({ requestedAt: t + 10, kind: 'escalation' });
      const c = approvalRequest({ requestedAt: t + 30 });
      await store.commit({ runId: r1.runId, expectedSeq: 1, events: [toolDenied()], interventions: [a, b] });
      await store.commit({ runId: r2.runId, expectedSeq: 1, events: [toolDenied()], interventions: [c] });
      await store.appendExternal(r2.runId, [approvalDecided(c.id, c.callId!)], {
        intervention: { id: c.id, status: 'approved', decidedBy: 'alice', decisionReason: 'ok', decidedAt: t + 40 },
      });
      const ids = async (filter: Parameters<typeof store.listInterventions>[0]) => (await store.listInterventions({ tenant, ...filter })).map((i) => i.id);
      assert.deepEqual(await ids({}), [b.id, a.id, c.id]);
      assert.deepEqual(await ids({ status: 'pending' }), [b.id, a.id]);
      assert.deepEqual(await ids({ status: 'approved' }), [c.id]);
      assert.deepEqual(await ids({ kind: 'approval' }), [a.id, c.id]);
      assert.deepEqual(await ids({ runId: r2.runId }), [c.id]);
      assert.deepEqual(await ids({ limit: 1 }), [b.id]);
      assert.deepEqual(await ids({ agent: 'billing' }), [b.id, a.id]);
      assert.deepEqual(await ids({ since: t + 20 }), [a.id, c.id], 'since is inclusive');
      assert.deepEqual(await ids({ since: t + 31 }), []);
      assert.deepEqual(await store.listInterventions({ tenant: uid('nobody') }), []);
    });

    test('decides a pending intervention in the same transaction as the external events', async (store) => {
      const run = await createRun(store);
      const approval = approvalRequest();
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [toolDenied()], interventions: [approval], run: { status: 'waiting_approval' } });
      const decidedAt = Date.now();
      const seq = await store.appendExternal(run.runId, [approvalDecided(approval.id, approval.callId!)], {
        run: { status: 'queued' },
        intervention: { id: approval.id, status: 'approved', decidedBy: 'alice', decisionReason: 'looks right', decidedAt },
      });
      assert.equal(seq, 3);
      const decided = await store.getIntervention(approval.id);
      assert.equal(decided?.status, 'approved');
      assert.equal(decided?.decidedBy, 'alice');
      assert.equal(decided?.decisionReason, 'looks right');
      assert.equal(decided?.decidedAt, decidedAt);
      assert.equal((await store.getRun(run.runId))?.status, 'queued');
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2, 3]);
    });

    test('refuses to decide an intervention twice with CONFLICT and writes nothing the second time', async (store) => {
      const run = await createRun(store);
      const approval = approvalRequest();
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [toolDenied()], interventions: [approval] });
      const decide = (by: string, status: 'approved' | 'denied') =>
        store.appendExternal(run.runId, [approvalDecided(approval.id, approval.callId!)], {
          run: { status: status === 'approved' ? 'queued' : 'stopped' },
          intervention: { id: approval.id, status, decidedBy: by, decisionReason: '', decidedAt: Date.now() },
        });
      const results = await Promise.allSettled([decide('alice', 'approved'), decide('bob', 'denied')]);
      const winner = results.findIndex((r) => r.status === 'fulfilled');
      const loser = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.ok(winner >= 0 && loser, 'one decision wins, the other is refused');
      assert.equal(loser.reason.code, 'CONFLICT');
      const record = await store.getIntervention(approval.id);
      assert.deepEqual([record?.status, record?.decidedBy], winner === 0 ? ['approved', 'alice'] : ['denied', 'bob']);
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2, 3]);
      assert.equal((await store.getRun(run.runId))?.status, winner === 0 ? 'queued' : 'stopped');
      await rejectsWith(decide('carol', 'approved'), 'CONFLICT');
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2, 3]);
    });

    test('refuses to decide an intervention that does not exist with NOT_FOUND and writes nothing', async (store) => {
      const run = await createRun(store);
      await rejectsWith(
        store.appendExternal(run.runId, [cancelRequested()], {
          run: { status: 'cancelled' },
          intervention: { id: uid('appr'), status: 'denied', decidedBy: 'alice', decisionReason: '', decidedAt: Date.now() },
        }),
        'NOT_FOUND',
      );
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1]);
      assert.equal((await store.getRun(run.runId))?.status, 'queued');
    });

    test('keeps an approval deadline, lists what is due by a time, and decides only on the right side of it', async (store) => {
      const run = await createRun(store);
      const t = 1_700_000_000_000;
      const timed = approvalRequest({ requestedAt: t, expiresAt: t + 60_000 });
      const later = approvalRequest({ requestedAt: t, expiresAt: t + 120_000 });
      const untimed = approvalRequest({ requestedAt: t });
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [toolDenied()], interventions: [timed, later, untimed] });
      assert.equal((await store.getIntervention(timed.id))?.expiresAt, t + 60_000);
      assert.equal((await store.getIntervention(untimed.id))?.expiresAt, null);
      const due = async (by: number) => (await store.listInterventions({ runId: run.runId, status: 'pending', expiresBy: by })).map((i) => i.id).sort();
      assert.deepEqual(await due(t + 59_999), []);
      assert.deepEqual(await due(t + 60_000), [timed.id]);
      assert.deepEqual(await due(t + 10_000_000), [timed.id, later.id].sort());

      const decide = (id: string, status: 'approved' | 'expired', decidedAt: number) =>
        store.appendExternal(run.runId, [approvalDecided(id, timed.callId!)], {
          intervention: { id, status, decidedBy: status === 'expired' ? 'warden' : 'alice', decisionReason: '', decidedAt },
        });
      // A person's decision timed at the deadline is too late; the expiry timed before it is too early.
      await rejectsWith(decide(timed.id, 'approved', t + 60_000), 'APPROVAL_EXPIRED');
      await rejectsWith(decide(timed.id, 'expired', t + 59_999), 'CONFLICT');
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2], 'nothing written by a refused decision');
      await decide(timed.id, 'expired', t + 60_000);
      assert.equal((await store.getIntervention(timed.id))?.status, 'expired');
      await rejectsWith(decide(timed.id, 'approved', t + 1), 'CONFLICT');
      await decide(later.id, 'approved', t + 119_999);
      assert.equal((await store.getIntervention(later.id))?.status, 'approved');
      await decide(untimed.id, 'approved', t + 10_000_000);
      // Only approving is held to the deadline: a denial or a cancel after it still closes the approval.
      const denied = approvalRequest({ requestedAt: t, expiresAt: t + 60_000 });
      const cancelled = approvalRequest({ requestedAt: t, expiresAt: t + 60_000 });
      await store.commit({ runId: run.runId, expectedSeq: 5, events: [toolDenied()], interventions: [denied, cancelled] });
      await store.appendExternal(run.runId, [approvalDecided(denied.id, denied.callId!)], {
        intervention: { id: denied.id, status: 'denied', decidedBy: 'alice', decisionReason: 'late', decidedAt: t + 90_000 },
      });
      await store.appendExternal(run.runId, [cancelRequested()], {
        intervention: { id: cancelled.id, status: 'decided', decidedBy: 'ops', decisionReason: 'run cancelled', decidedAt: t + 90_000 },
      });
      assert.deepEqual([(await store.getIntervention(denied.id))?.status, (await store.getIntervention(cancelled.id))?.status], ['denied', 'decided']);
    });

    test('expires an approval exactly once when two sweepers and a person race for it', async (store) => {
      const run = await createRun(store);
      const t = Date.now() - 1_000;
      const approval = approvalRequest({ requestedAt: t - 60_000, expiresAt: t });
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [toolDenied()], interventions: [approval] });
      const attempt = (status: 'approved' | 'expired', decidedAt: number) =>
        store.appendExternal(run.runId, [approvalDecided(approval.id, approval.callId!)], {
          intervention: { id: approval.id, status, decidedBy: 'x', decisionReason: '', decidedAt },
        });
      const results = await Promise.allSettled([attempt('expired', t + 5), attempt('expired', t + 6), attempt('approved', t + 7)]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      assert.equal((await store.getIntervention(approval.id))?.status, 'expired');
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2, 3]);
    });

    test('adds the interventions an external append raises, in its transaction', async (store) => {
      const run = await createRun(store, { tenant: uid('tenant') });
      const escalation = approvalRequest({ kind: 'escalation' });
      await store.appendExternal(run.runId, [toolDenied()], { run: { status: 'escalated' }, interventions: [escalation] });
      const loaded = await store.getIntervention(escalation.id);
      assert.equal(loaded?.status, 'pending');
      assert.equal(loaded?.tenant, run.tenant);
      // One that clashes with an existing id fails the whole append.
      await rejectsWith(store.appendExternal(run.runId, [toolDenied()], { interventions: [escalation] }), 'CONFLICT');
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2]);
    });

    test('refuses a second intervention with an id already used, with CONFLICT', async (store) => {
      const run = await createRun(store);
      const approval = approvalRequest();
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [toolDenied()], interventions: [approval] });
      await rejectsWith(store.commit({ runId: run.runId, expectedSeq: 2, events: [toolDenied()], interventions: [approval] }), 'CONFLICT');
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2]);
    });
  });

  describe('external appends', () => {
    test('appends at the next seq whatever the worker saw, after which the worker gets STALE_WRITER', async (store) => {
      const run = await createRun(store);
      const workerSeq = 1;
      assert.equal(await store.appendExternal(run.runId, [cancelRequested()]), 2);
      await rejectsWith(store.commit({ runId: run.runId, expectedSeq: workerSeq, events: [limitHit()] }), 'STALE_WRITER');
      const missed = await store.loadEvents(run.runId, workerSeq);
      assert.deepEqual(
        missed.map((e) => e.type),
        ['cancel.requested'],
      );
      await store.commit({ runId: run.runId, expectedSeq: missed.at(-1)!.seq, events: [newEvent('run.cancelled', { by: 'ops', reason: 'asked' })] });
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2, 3]);
    });

    test('keeps the log contiguous when external appends race worker commits', async (store) => {
      const random = seededRandom(7);
      for (let round = 0; round < 20; round++) {
        const run = await createRun(store);
        await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()] });
        const worker = () => store.commit({ runId: run.runId, expectedSeq: 2, events: [limitHit('worker'), toolDenied()] });
        const external = () => store.appendExternal(run.runId, [cancelRequested()], { run: { status: 'cancelled' } });
        const [w, x] = random() < 0.5 ? await Promise.allSettled([worker(), external()]) : (await Promise.allSettled([external(), worker()])).reverse();
        assert.ok(w && x);
        assert.equal(x.status, 'fulfilled', 'an external append is never refused for being behind');
        const types = (await store.loadEvents(run.runId)).map((e) => e.type);
        if (w.status === 'fulfilled') {
          assert.deepEqual(types, ['run.submitted', 'limit.hit', 'limit.hit', 'tool.denied', 'cancel.requested']);
          assert.equal((x as PromiseFulfilledResult<number>).value, 5);
        } else {
          assert.equal(w.reason.code, 'STALE_WRITER');
          assert.deepEqual(types, ['run.submitted', 'limit.hit', 'cancel.requested']);
        }
        assert.deepEqual(seqs(await store.loadEvents(run.runId)), oneTo(types.length));
      }
    });

    test('refuses an external append to an unknown run with NOT_FOUND', async (store) => {
      await rejectsWith(store.appendExternal(uid(), [cancelRequested()]), 'NOT_FOUND');
    });
  });
}
