import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import supportDesk from '../../examples/support-desk.ts';
import { resolveFleetBudgets } from '../../src/guard/fleet-budgets.ts';
import { rehearse } from '../../src/rehearse/rehearsal.ts';
import { buildReport } from '../../src/rehearse/report.ts';
import { reportHtml } from '../../src/rehearse/report-html.ts';
import { reportText } from '../../src/rehearse/report-text.ts';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCli, tempDir } from '../helpers.ts';

describe('budgets in a rehearsal', () => {
  it('reports which budgets the rehearsed volume exhausts and when in the window, in the JSON, the text and the HTML', async () => {
    const outcome = await rehearse({ agent: supportDesk, requests: 200, seed: 5 });
    const total = outcome.runs.reduce((a, r) => a + r.spentNano, 0);
    const perRequestUsd = total / outcome.runs.length / 1e9;
    // At 10,000 a day: a day budget of a third of the day's spend runs out about a third into the day.
    const dayUsd = (perRequestUsd * 10_000) / 3;
    const budgets = resolveFleetBudgets([
      { scope: 'agent:support-desk', window: 'day', maxUsd: dayUsd },
      { scope: 'all', window: 'day', maxUsd: perRequestUsd * 10_000 * 2 },
      { scope: 'tenant:globex', window: 'day', maxUsd: 0.01 },
    ]);
    const report = buildReport(outcome, 10_000, null, { list: budgets, tenant: 'acme' });
    const [desk, all, globex] = report.budgets.forecasts;
    assert.ok(desk?.exhausts && desk.exhaustsAfterMs !== null);
    const share = desk.exhaustsAfterMs / 86_400_000;
    assert.ok(share > 0.2 && share < 0.5, `runs out ${share} into the day`);
    assert.equal(desk.refusedRequests, 10_000 - desk.exhaustsAtRequest! + 1);
    assert.equal(all?.exhausts, false);
    assert.ok(all && all.projectedFraction > 0.45 && all.projectedFraction < 0.55);
    assert.equal(globex?.covers, false);
    assert.equal(report.budgets.tenant, 'acme');

    const text = reportText(report);
    assert.match(text, /^Budgets at 10,000 requests a day/m);
    assert.match(text, /agent:support-desk day \$[\d.]+\s+EXHAUSTED \d+:\d\d into the day \(\d\d:\d\d UTC\), at request [\d,]+ of 10,000/);
    assert.match(text, /all day \$[\d.]+\s+holds: /);
    assert.match(text, /tenant:globex day \$0\.0100\s+does not cover these runs/);
    const html = reportHtml(report);
    assert.match(html, /<tr data-budget="agent:support-desk\|day" class="exhausted">/);
    assert.match(html, /aria-label="runs out \d+% into the window"/);

    const none = buildReport(outcome, 10_000);
    assert.deepEqual(none.budgets.forecasts, []);
    assert.doesNotMatch(reportText(none), /^Budgets/m, 'no section without budgets');
  });

  it("takes --budget flags and the agent module's budgets export on the command line, and refuses a malformed one with INVALID_BUDGET (exit 2)", async () => {
    const r = await runCli(['rehearse', 'examples/support-desk.ts', '--requests', '40', '--volume', '50000', '--budget', 'all:6h:0.5', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.budgets.forecasts.length, 1);
    const [f] = report.budgets.forecasts;
    assert.deepEqual([f.scope, f.window, f.maxUsd, f.requestsPerWindow, f.exhausts], ['all', '6h', 0.5, 12_500, true]);
    // An agent module may export the budgets it runs under, as createWarden takes them.
    const agentFile = join(tempDir(), 'desk-with-budgets.ts');
    writeFileSync(
      agentFile,
      `export { default } from ${JSON.stringify(resolve('examples/support-desk.ts'))};\nexport const budgets = [{ scope: 'agent:support-desk', window: 'month', maxUsd: 1e6 }];\n`,
    );
    const both = await runCli(['rehearse', agentFile, '--requests', '20', '--budget', 'all:day:1', '--json']);
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(
      JSON.parse(both.stdout).budgets.forecasts.map((b: { scope: string; window: string }) => `${b.scope} ${b.window}`),
      ['agent:support-desk month', 'all day'],
    );
    const bad = await runCli(['rehearse', 'examples/support-desk.ts', '--requests', '10', '--budget', 'all:week:5']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /INVALID_BUDGET/);
  });
});
