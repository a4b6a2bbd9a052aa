import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Agent } from '../../agent/agent.ts';
import { WardenError } from '../../core/errors.ts';
import { parseDuration } from '../../core/duration.ts';
import { formatReplayReport, formatReplaySummary, readRunExport, replayMany, replayRun } from '../../observe/replay/index.ts';
import type { AnyRunEvent } from '../../core/events.ts';
import { loadCommandAgent } from '../load-agent.ts';
import { openStore } from '../open-store.ts';
import { printJson } from '../output.ts';

interface ReplayOptions {
  db?: string;
  agent?: string;
  all?: boolean;
  since?: string;
  of?: string;
  limit: string;
  json?: boolean;
}

/** The agent file a run was started with, from its `run.submitted` event. */
function recordedAgentFile(events: readonly AnyRunEvent[]): string | undefined {
  const first = events[0];
  return first?.type === 'run.submitted' ? first.data.agentFile : undefined;
}

async function agentFor(events: readonly AnyRunEvent[], override: Agent | undefined, runId: string): Promise<Agent> {
  if (override) return override;
  const file = recordedAgentFile(events);
  if (!file || !existsSync(file)) {
    throw new WardenError('INVALID_ARGUMENT', `Run ${runId} was started with agent file ${file ?? '(not recorded)'}, which is not here; pass --agent FILE`);
  }
  return (await loadCommandAgent(file)).agent;
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('Re-run a recorded run offline from its log and check it takes the same decisions; with --agent, show what a changed agent would have done')
    .argument('[run]', 'a run id in the store, or a file written by `warden runs export`')
    .option('--agent <file>', 'what-if: replay the recorded model answers under this agent (policy, limits, tools)')
    .option('--all', 'replay every finished run (with --since)')
    .option('--since <window>', 'with --all: runs created in this window, e.g. 24h, 7d', '24h')
    .option('--of <agent-name>', "with --all: runs of this agent (default: the --agent file's agent)")
    .option('--limit <n>', 'with --all: at most this many runs', '1000')
    .option('--db <path>', 'store (default .warden/warden.db or $WARDEN_DB)')
    .option('--json', 'print the report as JSON')
    .action(async (target: string | undefined, opts: ReplayOptions) => {
      if (opts.all === (target !== undefined)) throw new WardenError('INVALID_ARGUMENT', 'Say either a run (id or export file) or --all');
      const override = opts.agent ? (await loadCommandAgent(opts.agent)).agent : undefined;
      const mode = override ? 'what-if' : 'replay';
      if (!opts.all) {
        const events = await loadTarget(target!, opts.db);
        const [first] = events;
        if (!first) throw new WardenError('NOT_FOUND', `No events to replay in ${target}`);
        const report = await replayRun(events, { agent: await agentFor(events, override, first.runId), mode });
        if (opts.json) printJson(report);
        else process.stdout.write(`${formatReplayReport(report)}\n`);
        if (mode === 'replay' && !report.identical) process.exitCode = 1;
        return;
      }
      const store = await openStore(opts.db);
      try {
        const since = Date.now() - parseDuration(opts.since ?? '24h', '--since');
        const summary = await replayMany({
          store,
          mode,
          agentName: opts.of ?? override?.name,
          since,
          limit: Number(opts.limit) || 1000,
          agentFor: async (row) => agentFor(await store.loadEvents(row.runId), override, row.runId),
        });
        if (opts.json) printJson({ ...summary, reports: summary.reports });
        else process.stdout.write(`${formatReplaySummary(summary)}\n`);
        if (mode === 'replay' && summary.differing > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}

/** A run's events: from an export file when `target` is one, else from the store. */
async function loadTarget(target: string, db: string | undefined): Promise<AnyRunEvent[]> {
  if (target.endsWith('.json') || existsSync(target)) {
    if (!existsSync(target)) throw new WardenError('NOT_FOUND', `No export file ${target}`);
    return readRunExport(readFileSync(target, 'utf8'), target).events;
  }
  const store = await openStore(db);
  try {
    const events = await store.loadEvents(target);
    if (events.length === 0) throw new WardenError('NOT_FOUND', `No run with id "${target}"`, { context: { runId: target } });
    return events;
  } finally {
    await store.close();
  }
}
