import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { WardenError } from '../../core/errors.ts';
import { resolveFaultProfile } from '../../rehearse/fault-profile.ts';
import { progressReporter } from '../../rehearse/progress.ts';
import { DEFAULT_CONCURRENCY, DEFAULT_GRACE_MS, DEFAULT_REQUESTS, rehearse } from '../../rehearse/rehearsal.ts';
import { buildReport } from '../../rehearse/report.ts';
import { reportHtml } from '../../rehearse/report-html.ts';
import { reportText } from '../../rehearse/report-text.ts';
import { RUN_EXIT_CODES } from '../exit-codes.ts';
import { loadCommandAgent } from '../load-agent.ts';
import { printJson } from '../output.ts';

interface RehearseOptions {
  requests: string;
  concurrency: string;
  seed: string;
  faults: string;
  volume?: string;
  report?: string;
  json?: boolean;
  db?: string;
}

function integer(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new WardenError('INVALID_ARGUMENT', `${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function registerRehearseCommand(program: Command): void {
  program
    .command('rehearse')
    .description('Run the agent at production volume on a seeded behaviour model with injected faults, and report what production will bring')
    .argument('<agent-file>', 'module whose default export is defineAgent(…)')
    .option('--requests <n>', 'requests to run', String(DEFAULT_REQUESTS))
    .option('--concurrency <c>', 'runs in flight at once', String(DEFAULT_CONCURRENCY))
    .option('--seed <s>', 'seed: the same seed gives the same report (timings aside)', '1')
    .option('--faults <profile|file>', 'fault profile: calm, realistic, storm, or a JSON file', 'realistic')
    .option('--volume <per-day>', 'requests per day for the cost projection (default: --requests)')
    .option('--report <file.html>', 'also write a self-contained HTML report with charts')
    .option('--json', 'print the report as JSON')
    .option('--db <path>', 'keep the runs in this SQLite file (default: a temporary one, deleted afterwards)')
    .action(async (file: string, opts: RehearseOptions) => {
      const requests = integer('--requests', opts.requests, 1);
      const concurrency = integer('--concurrency', opts.concurrency, 1);
      const seed = integer('--seed', opts.seed, 0);
      const volume = opts.volume === undefined ? requests : integer('--volume', opts.volume, 1);
      const profile = resolveFaultProfile(opts.faults);
      const { agent, path } = await loadCommandAgent(file);
      const progress = progressReporter(process.stderr);
      // First Ctrl-C (or SIGTERM): start no request, let those in flight finish for a short grace.
      // Second: cut them now. Either way the report of what finished is printed and a temporary store removed.
      const interruption = new AbortController();
      const cutNow = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (interruption.signal.aborted) {
          progress.note(`warden rehearse: ${signal} again: cutting the requests in flight now`);
          cutNow.abort(signal);
          return;
        }
        progress.note(`warden rehearse: ${signal}: no new requests; those in flight get ${DEFAULT_GRACE_MS / 1000} s to finish (Ctrl-C again cuts them now)`);
        interruption.abort(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let outcome: Awaited<ReturnType<typeof rehearse>>;
      try {
        outcome = await rehearse({
          agent,
          agentFile: path,
          requests,
          concurrency,
          seed,
          profile,
          db: opts.db,
          onProgress: progress.update,
          signal: interruption.signal,
          cutSignal: cutNow.signal,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      progress.finish();
      const report = buildReport(outcome, volume);
      if (opts.report) {
        const target = resolve(opts.report);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, reportHtml(report));
        process.stderr.write(`HTML report written to ${target}\n`);
      }
      if (opts.json) printJson(report);
      else process.stdout.write(reportText(report));
      // A broken invariant (a breach, an unapproved delete, a gap in the trace, a run with no end)
      // fails the command, even on a partial rehearsal; otherwise an interrupted one exits as cancelled.
      if (Object.values(report.checks).some((good) => !good)) process.exitCode = 1;
      else if (report.interrupted) process.exitCode = RUN_EXIT_CODES.cancelled;
    });
}
