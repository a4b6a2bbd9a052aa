import type { Command } from 'commander';
import { formatUsd, nanoToUsd } from '../../core/money.ts';
import type { RunStatus } from '../../core/events.ts';
import { createWarden } from '../../runtime/warden.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { overrunsOf, printJson, printRun } from '../output.ts';
import { exportRun } from '../../observe/replay/run-export.ts';
import { traceIdOf } from '../../observe/otel/trace-ids.ts';
import { UNDO_PHASE_WORDS } from '../../core/projection.ts';

export function registerRunsCommands(program: Command): void {
  const runs = program.command('runs').description('List and inspect runs');
  runs
    .command('list')
    .description('Runs, newest first')
    .option('--db <path|url>', STORE_HELP)
    .option('--agent <name>')
    .option('--status <status>', 'e.g. waiting_approval, stopped')
    .option('--limit <n>', 'how many', '50')
    .option('--json')
    .action(async (opts: { db?: string; agent?: string; status?: RunStatus; limit: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const rows = await store.listRuns({ agent: opts.agent, status: opts.status, limit: Number(opts.limit) || 50 });
        if (opts.json) {
          printJson(rows.map((r) => ({ ...r, costUsd: nanoToUsd(r.costNano) })));
          return;
        }
        if (rows.length === 0) process.stdout.write('No runs.\n');
        for (const r of rows) {
          const reason = r.stopReason ? ` (${r.stopReason})` : '';
          const marks = [...(r.mode !== 'live' ? [r.mode] : []), ...(r.undo !== 'none' ? [UNDO_PHASE_WORDS[r.undo]] : [])];
          process.stdout.write(
            `${r.runId}  ${new Date(r.createdAt).toISOString()}  ${r.agent.padEnd(16)} ${`${r.status}${reason}`.padEnd(28)} ${formatUsd(r.costNano).padStart(9)}  ${r.steps} steps  ${r.toolCalls} tool calls run${marks.length ? `  [${marks.join(', ')}]` : ''}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });
  runs
    .command('show')
    .description('One run: its decision trace and summary')
    .argument('<run-id>')
    .option('--db <path|url>', STORE_HELP)
    .option('--json', 'the summary and every event as JSON')
    .action(async (runId: string, opts: { db?: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const warden = createWarden({ store });
        const result = await warden.inspect(runId);
        if (opts.json) {
          const eventLog = await warden.events(runId);
          printJson({ ...result, overruns: overrunsOf(eventLog), eventLog });
        } else {
          printRun(result, await warden.events(runId));
          process.stdout.write(`trace    ${traceIdOf(result.rootRunId)} (OpenTelemetry trace id)\n`);
        }
      } finally {
        await store.close();
      }
    });
  runs
    .command('export')
    .description('One run as a versioned JSON document (its row and whole event log), for `warden replay run.json` elsewhere')
    .argument('<run-id>')
    .option('--db <path>', 'store (default .warden/warden.db or $WARDEN_DB)')
    .action(async (runId: string, opts: { db?: string }) => {
      const store = await openStore(opts.db);
      try {
        process.stdout.write(`${JSON.stringify(await exportRun(store, runId))}\n`);
      } finally {
        await store.close();
      }
    });
}
