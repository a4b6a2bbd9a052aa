import type { Command } from 'commander';
import { checkDrift, formatDriftReport, raiseDriftAlerts } from '../../observe/drift/index.ts';
import { parseDuration } from '../../core/duration.ts';
import { WardenError } from '../../core/errors.ts';
import { openStore } from '../open-store.ts';
import { printJson } from '../output.ts';

interface DriftCliOptions {
  db?: string;
  baseline: string;
  recent: string;
  minRuns: string;
  record: boolean;
  json?: boolean;
}

export function registerDriftCommand(program: Command): void {
  program
    .command('drift')
    .description("Compare each agent's recent behaviour with its baseline (tool mix, steps, cost, outcomes, approvals, escalations) and raise drift alerts")
    .argument('[agent]', 'one agent (default: every agent with runs in the windows)')
    .option('--baseline <window>', 'baseline window, ending where the recent one starts', '7d')
    .option('--recent <window>', 'recent window, ending now', '24h')
    .option('--min-runs <n>', 'no verdict with fewer runs than this in a window', '30')
    .option('--no-record', 'only report; write no drift.detected record')
    .option('--db <path>', 'store (default .warden/warden.db or $WARDEN_DB)')
    .option('--json')
    .action(async (agent: string | undefined, opts: DriftCliOptions) => {
      const minRuns = Number(opts.minRuns);
      if (!Number.isInteger(minRuns) || minRuns < 1) throw new WardenError('INVALID_ARGUMENT', `--min-runs must be a positive integer, got ${opts.minRuns}`);
      const store = await openStore(opts.db);
      try {
        const reports = await checkDrift(store, {
          agent,
          baselineMs: parseDuration(opts.baseline, '--baseline'),
          recentMs: parseDuration(opts.recent, '--recent'),
          minRuns,
        });
        const raised = opts.record ? await raiseDriftAlerts(store, reports) : [];
        if (opts.json) printJson(reports.map((r) => ({ ...r, alertRaised: raised.includes(r) })));
        else if (reports.length === 0) process.stdout.write('No runs in the windows.\n');
        else
          process.stdout.write(
            `${reports.map((r) => `${formatDriftReport(r)}${raised.includes(r) ? '\n  alert: drift.detected recorded' : ''}`).join('\n')}\n`,
          );
        if (reports.some((r) => r.status === 'drift')) process.exitCode = 3;
      } finally {
        await store.close();
      }
    });
}
