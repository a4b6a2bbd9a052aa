import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

/**
 * How many write transactions a 5-step run costs on SQLite (test/fixtures/count-transactions.ts
 * watches the connection's statements). Each is a WAL append and, with durability 'power', a sync.
 * One at a time: 17 before a tool's outcome shared the next reservation's transaction; 13 now. At
 * 100 in flight the group commit shares commits across runs: 3.14 a run before run creation joined
 * it, 2.1 before the two lease changes a run did, about 0.13 now.
 */
function measure(runs: number, inFlight: number): { perRun: number; savepointsPerRun: number; undoWritesPerRun: number } {
  const out = spawnSync(process.execPath, ['--conditions=warden-source', 'test/fixtures/count-transactions.ts', String(runs), String(inFlight)], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}');
}

function perRun(runs: number, inFlight: number): number {
  return measure(runs, inFlight).perRun;
}

describe('SQLite write transactions per 5-step run', () => {
  it('one run at a time: 13 (a tool outcome and the next reservation share one)', () => {
    assert.equal(perRun(10, 1), 13);
  });

  it('100 in flight: under 0.5 a run (run creation and lease changes join the group commit)', () => {
    const n = perRun(300, 100);
    assert.ok(n < 0.5, `${n} transactions a run`);
  });

  it('one run at a time: a savepoint only where two commits share a transaction (the four tool outcomes), and no unchanged column rewritten', () => {
    const m = measure(10, 1);
    assert.equal(m.savepointsPerRun, 8, 'a commit alone in its transaction needs no savepoint of its own');
    assert.equal(m.undoWritesPerRun, 0, 'the undo column never changes in these runs, so no update may set it');
  });
});
