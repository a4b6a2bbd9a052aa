import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { listSwitches } from '../../src/runtime/kill-switch.ts';
import { runCli, tempDir } from '../helpers.ts';

const EXAMPLE = 'examples/support-desk.ts';

describe("warden stop: one durable kill switch, the dashboard's", () => {
  it('engages the switch for an agent, lists it, refuses runs with HALTED saying how to lift it, and lifts it', async () => {
    const db = join(tempDir(), 'w.db');
    const parked = await runCli(['run', EXAMPLE, '--input', 'Refund order 1042', '--db', db, '--json']);
    assert.equal(parked.code, 4, parked.stderr);

    const halt = await runCli(['stop', '--agent', 'support-desk', '--by', 'ana', '--reason', 'refund bug', '--db', db, '--json']);
    assert.equal(halt.code, 0, halt.stderr);
    assert.deepEqual(
      JSON.parse(halt.stdout).map((r: { status: string }) => r.status),
      ['cancelled'],
      'the live run was cancelled',
    );

    // The same record the server's /v1/kill-switch reads and writes.
    const store = createSqliteStore({ path: db });
    assert.deepEqual(
      (await listSwitches(store)).map((s) => [s.scope, s.by, s.reason]),
      [['agent:support-desk', 'ana', 'refund bug']],
    );
    await store.close();
    const list = await runCli(['stop', 'list', '--db', db, '--json']);
    assert.deepEqual(
      JSON.parse(list.stdout).map((s: { scope: string }) => s.scope),
      ['agent:support-desk'],
    );

    const refused = await runCli(['run', EXAMPLE, '--input', 'Refund order 2001', '--db', db]);
    assert.equal(refused.code, 6);
    assert.match(refused.stderr, /HALTED: .*Lift it with `warden stop lift agent:support-desk`/);

    const lift = await runCli(['stop', 'lift', 'agent:support-desk', '--db', db]);
    assert.equal(lift.code, 0, lift.stderr);
    assert.equal((await runCli(['stop', 'lift', 'agent:support-desk', '--db', db])).code, 2, 'nothing left to lift');
    const again = await runCli(['run', EXAMPLE, '--input', 'Refund order 2001', '--db', db, '--json']);
    assert.equal(again.code, 0, again.stderr);
  });

  it('keeps --run a one-run cancel that engages no switch', async () => {
    const db = join(tempDir(), 'w.db');
    const parked = JSON.parse((await runCli(['run', EXAMPLE, '--input', 'Refund order 1042', '--db', db, '--json'])).stdout);
    const stop = await runCli(['stop', '--run', parked.runId, '--db', db, '--json']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(JSON.parse(stop.stdout), [{ runId: parked.runId, status: 'cancelled' }]);
    assert.deepEqual(JSON.parse((await runCli(['stop', 'list', '--db', db, '--json'])).stdout), []);
    assert.equal((await runCli(['run', EXAMPLE, '--input', 'Refund order 2001', '--db', db])).code, 0);
  });
});
