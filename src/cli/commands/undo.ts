import type { Command } from 'commander';
import { WardenError } from '../../core/errors.ts';
import type { UndoReport } from '../../runtime/undo.ts';
import type { Warden } from '../../runtime/warden.ts';
import { cliWarden } from '../cli-warden.ts';
import { openStore } from '../open-store.ts';
import { printJson } from '../output.ts';
import { agentOfRun } from './run.ts';
import type { UndoStepLabel } from '../../core/projection.ts';

/** Each compensation state in words. */
const STEP_WORDS: Record<UndoStepLabel, string> = {
  planned: 'planned',
  running: 'running',
  retrying: 'failed, trying again',
  waiting_for_person: 'waiting for a person',
  failed_waiting_for_person: 'failed — waiting for a person',
  done: 'done (reversed)',
  skipped: 'skipped by a person',
  irreversible: 'IRREVERSIBLE — left as it is',
};

/** Exit codes of `warden undo`, in line with the run exit codes. */
const UNDO_EXIT: Record<UndoReport['status'], number> = { completed: 0, planned: 0, waiting_approval: 4, escalated: 5 };

export function printUndo(report: UndoReport): void {
  const lines = [`undo of ${report.runId}: ${report.dryRun ? 'dry run (nothing changed)' : report.status}`];
  for (const step of report.steps) {
    const mark = STEP_WORDS[step.state];
    lines.push(`  ${step.callId.padEnd(12)} ${step.tool.padEnd(20)} ${mark}`);
  }
  if (report.irreversible.length) lines.push(`${report.irreversible.length} call(s) have no compensation and were not reversed.`);
  if (report.pending)
    lines.push(
      `waiting  ${report.pending.kind} ${report.pending.id}: ${report.pending.tool} — ${report.pending.reason}`,
      `         decide with: warden ${report.pending.kind === 'approval' ? 'approvals approve' : 'escalations approve|stop|takeover'} ${report.pending.id} --by YOUR_NAME`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Runs (or continues) the undo of a run and reports it. */
export async function undoRun(
  warden: Warden,
  runId: string,
  opts: { by: string; reason?: string; dryRun?: boolean; agent?: string; json?: boolean },
): Promise<void> {
  const agent = await agentOfRun(warden, runId, opts.agent);
  const report = await warden.undo(agent, runId, { by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}), dryRun: opts.dryRun === true });
  if (opts.json) printJson(report);
  else printUndo(report);
  process.exitCode = UNDO_EXIT[report.status];
}

export function registerUndoCommand(program: Command): void {
  program
    .command('undo')
    .description("Reverse a finished run's executed calls, newest first, through their compensations (durable; safe to rerun)")
    .argument('<run-id>')
    .option('--dry-run', 'show what would be reversed and what cannot be, change nothing')
    .option('--by <name>', 'who asks for the undo (recorded)', process.env.USER ?? 'operator')
    .option('--reason <text>', 'why')
    .option('--agent <file>', 'agent file (default: the one the run was started with)')
    .option('--db <path>', 'store (default .warden/warden.db or $WARDEN_DB)')
    .option('--json')
    .action(async (runId: string, opts: { dryRun?: boolean; by: string; reason?: string; agent?: string; db?: string; json?: boolean }) => {
      if (!opts.by.trim()) throw new WardenError('INVALID_ARGUMENT', '--by must name who asks for the undo');
      const store = await openStore(opts.db);
      try {
        await undoRun(cliWarden(store), runId, opts);
      } finally {
        await store.close();
      }
    });
}
