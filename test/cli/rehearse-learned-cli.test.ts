import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportRun } from '../../src/observe/replay/run-export.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { recordPilot } from '../rehearse/pilot.ts';
import { runCli, tempDir } from '../helpers.ts';

const EXAMPLE = 'examples/support-desk.ts';

describe('warden rehearse on a learned model', () => {
  it('learns from a store window or export files, saves the model, rehearses from it, refuses a damaged one, and compares a change', {
    timeout: 300_000,
  }, async () => {
    const dir = tempDir();
    const db = join(dir, 'pilot.db');
    const logs = await recordPilot({ runs: 40, seed: 4, db });
    const store = createSqliteStore({ path: db });
    const exports = join(dir, 'runs.jsonl');
    const lines: string[] = [];
    for (const events of logs) lines.push(JSON.stringify(await exportRun(store, events[0]!.runId)));
    await store.close();
    writeFileSync(exports, `${lines.join('\n')}\n`);

    const model = join(dir, 'model.json');
    const fromExports = await runCli(['rehearse', EXAMPLE, '--learn-from', exports, '--save-model', model, '--requests', '60', '--json']);
    assert.equal(fromExports.code, 0, fromExports.stderr);
    const report = JSON.parse(fromExports.stdout);
    assert.equal(report.learned.observed.runs, 40);
    assert.equal(report.learned.atRecordedVolume.runs, 40);
    assert.equal(report.profile.name, 'none');
    assert.ok(report.reviewers.items > 0);
    assert.equal(JSON.parse(readFileSync(model, 'utf8')).schemaVersion, 1);

    // The pilot's runs were recorded on 2 November 2026: a 7-day window from today holds none of them.
    const empty = await runCli(['rehearse', EXAMPLE, '--learn-from', db, '--since', '7d', '--requests', '10']);
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /No recorded runs of support-desk to learn from/);

    const fromModel = await runCli(['rehearse', EXAMPLE, '--model', model, '--faults', 'storm', '--requests', '60']);
    assert.equal(fromModel.code, 0, fromModel.stderr);
    assert.match(fromModel.stdout, /learned behaviour, fault profile storm/);
    assert.match(fromModel.stdout, /recorded \(40\)\s+rehearsed \(40\)\s+projected \(60\)/);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ ...JSON.parse(readFileSync(model, 'utf8')), schemaVersion: 9 }));
    const refused = await runCli(['rehearse', EXAMPLE, '--model', broken]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /schemaVersion 9; this Warden reads schemaVersion 1/);

    const html = join(dir, 'compare.html');
    const compared = await runCli([
      'rehearse',
      EXAMPLE,
      '--model',
      model,
      '--compare',
      'examples/what-if/support-desk-strict.ts',
      '--requests',
      '200',
      '--report',
      html,
    ]);
    assert.equal(compared.code, 0, compared.stderr);
    assert.match(compared.stdout, /Significance: paired bootstrap over requests/);
    assert.match(compared.stdout, /denied by policy per 1,000\s+0\s+\d/);
    assert.ok(existsSync(html));
    assert.match(readFileSync(html, 'utf8'), /<h3>Before<\/h3>[\s\S]*<h3>After<\/h3>/);
  });
});
