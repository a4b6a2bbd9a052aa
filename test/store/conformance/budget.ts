import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { newEvent } from '../../../src/core/events.ts';
import type { Store } from '../../../src/core/ports/store.ts';
import { approvalRequest, createRun, limitHit, rejectsWith, seededRandom, seqs, toolDenied, type ConformanceContext } from './fixtures.ts';

function reserved(amountNano: number) {
  const before = { spentNano: 0, reservedNano: 0, ceilingNano: 0 };
  return newEvent('budget.reserved', { reservationId: `res-${amountNano}`, purpose: 'model', amountNano, before });
}

/** The shared budget: reservations against the ceiling, settlement, children, concurrency. */
export function budget({ test }: ConformanceContext): void {
  describe('budget', () => {
    test('reserves against the root budget and settles the actual spend, releasing the rest', async (store) => {
      const run = await createRun(store, { ceilingNano: 1_000 });
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [reserved(300)], budget: [{ kind: 'reserve', rootRunId: run.runId, amountNano: 300 }] });
      assert.deepEqual(await store.getBudget(run.runId), { rootRunId: run.runId, ceilingNano: 1_000, spentNano: 0, reservedNano: 300 });
      await store.commit({
        runId: run.runId,
        expectedSeq: 2,
        events: [limitHit()],
        budget: [{ kind: 'settle', rootRunId: run.runId, reservedNano: 300, actualNano: 120 }],
      });
      assert.deepEqual(await store.getBudget(run.runId), { rootRunId: run.runId, ceilingNano: 1_000, spentNano: 120, reservedNano: 0 });
    });

    test('accepts a reservation that reaches the ceiling exactly', async (store) => {
      const run = await createRun(store, { ceilingNano: 1_000 });
      await store.commit({
        runId: run.runId,
        expectedSeq: 1,
        events: [reserved(1_000)],
        budget: [{ kind: 'reserve', rootRunId: run.runId, amountNano: 1_000 }],
      });
      assert.equal((await store.getBudget(run.runId))?.reservedNano, 1_000);
    });

    test('refuses a reservation that would cross the ceiling and writes nothing', async (store) => {
      const run = await createRun(store, { ceilingNano: 1_000 });
      await store.commit({
        runId: run.runId,
        expectedSeq: 1,
        events: [reserved(600)],
        budget: [
          { kind: 'reserve', rootRunId: run.runId, amountNano: 600 },
          { kind: 'settle', rootRunId: run.runId, reservedNano: 600, actualNano: 200 },
          { kind: 'reserve', rootRunId: run.runId, amountNano: 300 },
        ],
      });
      const runBefore = await store.getRun(run.runId);
      const budgetBefore = await store.getBudget(run.runId);
      assert.deepEqual(budgetBefore, { rootRunId: run.runId, ceilingNano: 1_000, spentNano: 200, reservedNano: 300 });
      const approval = approvalRequest();
      const error = await rejectsWith(
        store.commit({
          runId: run.runId,
          expectedSeq: 2,
          events: [reserved(501), toolDenied()],
          run: { status: 'waiting_approval', steps: 4 },
          budget: [{ kind: 'reserve', rootRunId: run.runId, amountNano: 501 }],
          interventions: [approval],
        }),
        'BUDGET_EXCEEDED',
      );
      assert.equal(error.context.spentNano, 200);
      assert.equal(error.context.reservedNano, 300);
      assert.equal(error.context.ceilingNano, 1_000);
      assert.equal(error.context.amountNano, 501);
      assert.deepEqual(seqs(await store.loadEvents(run.runId)), [1, 2]);
      assert.deepEqual(await store.getRun(run.runId), runBefore);
      assert.deepEqual(await store.getBudget(run.runId), budgetBefore);
      assert.equal(await store.getIntervention(approval.id), undefined);
    });

    test('undoes the earlier budget ops of a batch when a later one is refused', async (store) => {
      const run = await createRun(store, { ceilingNano: 1_000 });
      await rejectsWith(
        store.commit({
          runId: run.runId,
          expectedSeq: 1,
          events: [reserved(400)],
          budget: [
            { kind: 'reserve', rootRunId: run.runId, amountNano: 400 },
            { kind: 'reserve', rootRunId: run.runId, amountNano: 700 },
          ],
        }),
        'BUDGET_EXCEEDED',
      );
      assert.deepEqual(await store.getBudget(run.runId), { rootRunId: run.runId, ceilingNano: 1_000, spentNano: 0, reservedNano: 0 });
    });

    test('never refuses a settlement, even above the ceiling, and never takes reserved below zero', async (store) => {
      const run = await createRun(store, { ceilingNano: 1_000 });
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [reserved(100)], budget: [{ kind: 'reserve', rootRunId: run.runId, amountNano: 100 }] });
      await store.commit({
        runId: run.runId,
        expectedSeq: 2,
        events: [limitHit()],
        budget: [{ kind: 'settle', rootRunId: run.runId, reservedNano: 500, actualNano: 1_500 }],
      });
      assert.deepEqual(await store.getBudget(run.runId), { rootRunId: run.runId, ceilingNano: 1_000, spentNano: 1_500, reservedNano: 0 });
      await rejectsWith(
        store.commit({ runId: run.runId, expectedSeq: 3, events: [reserved(0)], budget: [{ kind: 'reserve', rootRunId: run.runId, amountNano: 1 }] }),
        'BUDGET_EXCEEDED',
      );
    });

    test('shares the root budget row with a child run', async (store) => {
      const root = await createRun(store, { ceilingNano: 1_000 });
      const child = await createRun(store, { rootRunId: root.runId });
      await store.commit({
        runId: child.runId,
        expectedSeq: 1,
        events: [reserved(700)],
        budget: [{ kind: 'reserve', rootRunId: root.runId, amountNano: 700 }],
      });
      assert.equal((await store.getBudget(root.runId))?.reservedNano, 700);
      // The root cannot spend what its child holds.
      await rejectsWith(
        store.commit({ runId: root.runId, expectedSeq: 1, events: [reserved(400)], budget: [{ kind: 'reserve', rootRunId: root.runId, amountNano: 400 }] }),
        'BUDGET_EXCEEDED',
      );
      await store.commit({
        runId: child.runId,
        expectedSeq: 2,
        events: [limitHit()],
        budget: [{ kind: 'settle', rootRunId: root.runId, reservedNano: 700, actualNano: 500 }],
      });
      await store.commit({ runId: root.runId, expectedSeq: 1, events: [reserved(400)], budget: [{ kind: 'reserve', rootRunId: root.runId, amountNano: 400 }] });
      assert.deepEqual(await store.getBudget(root.runId), { rootRunId: root.runId, ceilingNano: 1_000, spentNano: 500, reservedNano: 400 });
      assert.equal(await store.getBudget(child.runId), undefined);
    });

    test("refuses a budget op against another root's budget with INVALID_ARGUMENT", async (store) => {
      const mine = await createRun(store, { ceilingNano: 1_000 });
      const other = await createRun(store, { ceilingNano: 1_000 });
      await rejectsWith(
        store.commit({ runId: mine.runId, expectedSeq: 1, events: [reserved(10)], budget: [{ kind: 'reserve', rootRunId: other.runId, amountNano: 10 }] }),
        'INVALID_ARGUMENT',
      );
      assert.equal((await store.getBudget(other.runId))?.reservedNano, 0);
      assert.deepEqual(seqs(await store.loadEvents(mine.runId)), [1]);
    });

    test('never lets concurrent reservations from a run and its children exceed the ceiling', async (store) => {
      const seed = Date.now() % 1_000_000;
      const random = seededRandom(seed);
      const ceilingNano = 20_000;
      const root = await createRun(store, { ceilingNano });
      const runIds = [root.runId];
      for (let i = 0; i < 9; i++) runIds.push((await createRun(store, { rootRunId: root.runId })).runId);
      const tally = { accepted: 0, refused: 0, spent: 0, outstanding: 0, breaches: [] as string[] };

      // Each run is one writer going through its own seqs; the runs race each other.
      const attemptsPerRun = 25;
      const writer = async (runId: string): Promise<number> => {
        let seq = 1;
        const held: number[] = [];
        for (let i = 0; i < attemptsPerRun; i++) {
          const amountNano = 1 + Math.floor(random() * 1_500);
          const settle = held.length > 0 && random() < 0.4 ? held.shift()! : undefined;
          const actualNano = settle === undefined ? 0 : Math.floor(random() * (settle + 1));
          try {
            await store.commit({
              runId,
              expectedSeq: seq,
              events: [reserved(amountNano)],
              budget: [
                ...(settle === undefined ? [] : [{ kind: 'settle' as const, rootRunId: root.runId, reservedNano: settle, actualNano }]),
                { kind: 'reserve', rootRunId: root.runId, amountNano },
              ],
            });
            seq++;
            held.push(amountNano);
            tally.accepted++;
            tally.outstanding += amountNano;
            if (settle !== undefined) {
              tally.spent += actualNano;
              tally.outstanding -= settle;
            }
          } catch (e) {
            const err = e as { code?: string; context?: { amountNano: number; spentNano: number; reservedNano: number; ceilingNano: number } };
            assert.equal(err.code, 'BUDGET_EXCEEDED', `seed ${seed}: unexpected ${String(e)}`);
            const c = err.context!;
            assert.equal(c.amountNano, amountNano);
            // A refusal must be justified by the figures the store saw at that moment.
            assert.ok(c.spentNano + c.reservedNano + c.amountNano > c.ceilingNano, `seed ${seed}: refused ${amountNano} with room left`);
            if (settle !== undefined) held.unshift(settle);
            tally.refused++;
          }
          const b = (await store.getBudget(root.runId))!;
          if (b.spentNano + b.reservedNano > ceilingNano) tally.breaches.push(`${b.spentNano}+${b.reservedNano}`);
        }
        return seq;
      };
      const lastSeqs = await Promise.all(runIds.map(writer));

      assert.equal(tally.accepted + tally.refused, runIds.length * attemptsPerRun);
      assert.ok(tally.accepted > 0 && tally.refused > 0, `seed ${seed}: the test must both fill and hit the ceiling`);
      assert.deepEqual(tally.breaches, [], `seed ${seed}: the ceiling was crossed`);
      const final = (await store.getBudget(root.runId))!;
      assert.equal(final.spentNano, tally.spent, `seed ${seed}`);
      assert.equal(final.reservedNano, tally.outstanding, `seed ${seed}`);
      assert.ok(final.spentNano + final.reservedNano <= ceilingNano);
      // Every accepted commit wrote its event, every refused one wrote nothing.
      for (const [i, runId] of runIds.entries()) {
        assert.equal((await store.loadEvents(runId)).length, lastSeqs[i], `seed ${seed}: events of run ${i}`);
      }
    });
  });
}

/** Reserves `amountNano` for `runId` at `expectedSeq`; used by the cross-connection tests. */
export function reserveCommit(store: Store, runId: string, rootRunId: string, expectedSeq: number, amountNano: number): Promise<void> {
  return store.commit({ runId, expectedSeq, events: [reserved(amountNano)], budget: [{ kind: 'reserve', rootRunId, amountNano }] });
}
