import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers.ts';

describe('warden replay and warden runs export', () => {
  it('reproduces a recorded run from the store and from an export file, and shows a what-if', async () => {
    const dir = tempDir();
    const env = { WARDEN_DB: join(dir, 'w.db') };
    const run = await runCli(['run', 'examples/support-desk.ts', '--input', 'Refund order 1042', '--json'], env);
    const parked = JSON.parse(run.stdout);
    assert.equal(parked.status, 'waiting_approval');
    const approved = await runCli(['approvals', 'approve', parked.pending.id, '--by', 'ana', '--json'], env);
    assert.equal(approved.code, 0, approved.stderr);

    const fromStore = await runCli(['replay', parked.runId], env);
    assert.equal(fromStore.code, 0, fromStore.stderr);
    assert.match(fromStore.stdout, /^reproduced: 4 steps identical/);

    const exported = await runCli(['runs', 'export', parked.runId], env);
    const file = join(dir, 'run.json');
    writeFileSync(file, exported.stdout);
    const fromFile = await runCli(['replay', file], { WARDEN_DB: join(dir, 'elsewhere.db') });
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.match(fromFile.stdout, /^reproduced: 4 steps identical/);

    const whatIf = await runCli(['replay', parked.runId, '--agent', 'examples/what-if/support-desk-strict.ts', '--json'], env);
    assert.equal(whatIf.code, 0, whatIf.stderr);
    const report = JSON.parse(whatIf.stdout);
    assert.equal(report.divergence.kind, 'now_denied');
    assert.equal(report.divergence.step, 3);

    const all = await runCli(['replay', '--all', '--since', '1h', '--agent', 'examples/what-if/support-desk-strict.ts'], env);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /what-if over 1 run of support-desk: 0 identical, 1 differ/);
  });

  it('refuses a file that is not a run export with a typed error', async () => {
    const file = join(tempDir(), 'x.json');
    writeFileSync(file, '{"not":"an export"}');
    const out = await runCli(['replay', file]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /INVALID_ARGUMENT: .*not a Warden run export/);
  });
});
