import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { reserveCommit } from './budget.ts';
import { approvalRequest, createRun, limitHit, oneTo, rejectsWith, seqs, toolDenied, type ConformanceContext } from './fixtures.ts';

/**
 * What must hold between two connections to one database, as two worker processes would hold
 * them: durability across a reopen, stale writers and the ceiling. Needs `reopen`.
 */
export function connections({ test, reopen }: ConformanceContext): void {
  if (!reopen) return;
  describe('two connections to one database', () => {
    test('keeps committed data after the store is closed and opened again', async (store) => {
      const root = await createRun(store, { ceilingNano: 1_000 });
      const child = await createRun(store, { rootRunId: root.runId });
      const approval = approvalRequest();
      await reserveCommit(store, child.runId, root.runId, 1, 400);
      await store.commit({
        runId: root.runId,
        expectedSeq: 1,
        events: [toolDenied(), limitHit()],
        interventions: [approval],
        run: { status: 'waiting_approval', steps: 2 },
      });
      const expected = {
        run: await store.getRun(root.runId),
        events: await store.loadEvents(root.runId),
        budget: await store.getBudget(root.runId),
        approval: await store.getIntervention(approval.id),
        children: await store.listRuns({ rootRunId: root.runId }),
      };
      const again = await reopen(store);
      await store.close();
      try {
        assert.deepEqual(
          {
            run: await again.getRun(root.runId),
            events: await again.loadEvents(root.runId),
            budget: await again.getBudget(root.runId),
            approval: await again.getIntervention(approval.id),
            children: await again.listRuns({ rootRunId: root.runId }),
          },
          expected,
        );
        assert.equal(expected.budget?.reservedNano, 400);
        assert.equal(expected.events.length, 3);
      } finally {
        await again.close();
      }
    });

    test('rejects a stale writer on another connection', async (store) => {
      const other = await reopen(store);
      try {
        const run = await createRun(store);
        await other.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit('other')] });
        await rejectsWith(store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit('mine')] }), 'STALE_WRITER');
        await store.commit({ runId: run.runId, expectedSeq: 2, events: [limitHit('mine')] });
        assert.deepEqual(seqs(await other.loadEvents(run.runId)), oneTo(3));
      } finally {
        await other.close();
      }
    });

    test('holds the ceiling when two connections reserve against one budget at once', async (store) => {
      const other = await reopen(store);
      try {
        const root = await createRun(store, { ceilingNano: 10_000 });
        const writers = [];
        for (let i = 0; i < 8; i++) {
          const connection = i % 2 === 0 ? store : other;
          const child = await createRun(connection, { rootRunId: root.runId });
          writers.push(
            (async () => {
              let seq = 1;
              for (let k = 0; k < 10; k++) {
                try {
                  await reserveCommit(connection, child.runId, root.runId, seq, 300);
                  seq++;
                } catch (e) {
                  assert.equal((e as { code?: string }).code, 'BUDGET_EXCEEDED');
                }
              }
              return seq - 1;
            })(),
          );
        }
        const accepted = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
        assert.equal(accepted, 33, '10_000 / 300 reservations fit, no more, no fewer');
        assert.deepEqual(await other.getBudget(root.runId), { rootRunId: root.runId, ceilingNano: 10_000, spentNano: 0, reservedNano: 9_900 });
      } finally {
        await other.close();
      }
    });
  });
}
