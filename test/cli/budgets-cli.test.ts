import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, tempDir } from '../helpers.ts';
import { dropSchema, uniqueSchema, urlWithSchema } from '../store/pg-schema.ts';

/** set, list, remove against one store, as an operator would in a terminal. */
async function roundTrip(db: string): Promise<void> {
  const set = await runCli(['budgets', 'set', '--scope', 'tenant:acme', '--window', 'day', '--max-usd', '50', '--alert-at', '0.8,0.5', '--db', db, '--json']);
  assert.equal(set.code, 0, set.stderr);
  const stored = JSON.parse(set.stdout);
  assert.equal(stored.source, 'stored');
  assert.equal(stored.maxUsd, 50);
  assert.deepEqual(stored.alertAt, [0.5, 0.8]);
  assert.equal(stored.spentUsd, 0);
  assert.equal((await runCli(['budgets', 'set', '--scope', 'all', '--window', '6h', '--max-usd', '5', '--db', db])).code, 0);

  const list = await runCli(['budgets', 'list', '--db', db, '--json']);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { scope: string; window: string; windowStart: string; windowEnd: string; projectedUsd: number }[];
  assert.deepEqual(
    rows.map((r) => [r.scope, r.window]),
    [
      ['all', '6h'],
      ['tenant:acme', 'day'],
    ],
  );
  const sixHours = rows[0]!;
  assert.equal(Date.parse(sixHours.windowEnd) - Date.parse(sixHours.windowStart), 6 * 3_600_000);
  assert.equal(Date.parse(sixHours.windowStart) % (6 * 3_600_000), 0, 'aligned to the epoch');

  const text = await runCli(['budgets', 'list', '--db', db]);
  assert.match(text.stdout, /^SCOPE\s+WINDOW\s+SOURCE\s+CURRENT WINDOW \(UTC\)\s+SPENT\s+MAX\s+USED\s+ALERTS\s+PROJECTED\s+EXHAUSTS/);
  assert.match(text.stdout, /tenant:acme\s+day\s+stored\s+\d{4}-\d\d-\d\d 00:00 → \d{4}-\d\d-\d\d 00:00\s+\$0\.0000\s+\$50\.00\s+0\.0%\s+0\.5,0\.8/);

  const removed = await runCli(['budgets', 'remove', 'all', '--window', '6h', '--db', db]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /Removed 1 stored budget of all/);
  const again = await runCli(['budgets', 'remove', 'all', '--db', db]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /NOT_FOUND: No stored budget for all/);
  assert.deepEqual(
    (JSON.parse((await runCli(['budgets', 'list', '--db', db, '--json'])).stdout) as { scope: string }[]).map((r) => r.scope),
    ['tenant:acme'],
  );
}

describe('warden budgets', () => {
  it('sets, lists (text and JSON) and removes stored budgets on SQLite', async () => {
    await roundTrip(join(tempDir(), 'w.db'));
  });

  it('refuses a bad scope, a negative maximum and an unknown window with INVALID_BUDGET (exit 2), storing nothing', async () => {
    const db = join(tempDir(), 'w.db');
    for (const [flags, message] of [
      [['--scope', 'acme', '--window', 'day', '--max-usd', '5'], /scope must be "all", "tenant:<name>" or "agent:<name>", got "acme"/],
      [['--scope', 'all', '--window', 'day', '--max-usd', '-5'], /maxUsd must be a positive number of USD, got -5/],
      [['--scope', 'all', '--window', 'week', '--max-usd', '5'], /window must be "day", "month" or "<hours>h".*got "week"/],
      [['--scope', 'all', '--window', 'day', '--max-usd', '5', '--alert-at', '0.5,2'], /alertAt must be fractions in \(0, 1\]/],
    ] as const) {
      const r = await runCli(['budgets', 'set', ...flags, '--db', db]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /INVALID_BUDGET/);
      assert.match(r.stderr, message);
    }
    assert.match((await runCli(['budgets', 'list', '--db', db])).stdout, /No stored budgets/);
  });

  it('lists the config budgets a module exports with --config, marked by source, a stored budget of the same scope and window overriding', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.db');
    const config = join(dir, 'budgets.ts');
    writeFileSync(
      config,
      "export const budgets = [{ scope: 'all', window: 'month', maxUsd: 100 }, { scope: 'tenant:acme', window: 'day', maxUsd: 10, alertAt: [0.9] }];\n",
    );
    assert.equal((await runCli(['budgets', 'set', '--scope', 'tenant:acme', '--window', 'day', '--max-usd', '50', '--db', db])).code, 0);
    const list = await runCli(['budgets', 'list', '--config', config, '--db', db, '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      JSON.parse(list.stdout).map((b: { source: string; scope: string; window: string; maxUsd: number; active: boolean }) => [
        b.source,
        b.scope,
        b.window,
        b.maxUsd,
        b.active,
      ]),
      [
        ['stored', 'tenant:acme', 'day', 50, true],
        ['config', 'all', 'month', 100, true],
        ['config', 'tenant:acme', 'day', 10, false],
      ],
    );
    assert.match((await runCli(['budgets', 'list', '--config', config, '--db', db])).stdout, /tenant:acme\s+day\s+config \(overridden\)/);
    const bad = join(dir, 'bad.ts');
    writeFileSync(bad, 'export const budgets = 5;\n');
    const refused = await runCli(['budgets', 'list', '--config', bad, '--db', db]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /INVALID_CONFIG: .*must export budgets/);
  });

  describe('on PostgreSQL', () => {
    const schema = uniqueSchema('budgets_cli');
    after(() => dropSchema(schema));
    it('sets, lists and removes stored budgets', async () => {
      await roundTrip(urlWithSchema(schema));
    });
  });
});
