import type { Command } from 'commander';
import { WardenError } from '../../core/errors.ts';
import { cliWarden } from '../cli-warden.ts';
import { RUN_EXIT_CODES } from '../exit-codes.ts';
import { loadCommandAgent } from '../load-agent.ts';
import { openStore, STORE_HELP, DURABILITY_HELP } from '../open-store.ts';
import { printJson, printRun } from '../output.ts';
import { shouldStream, textPrinter } from '../stream-text.ts';
import type { Agent } from '../../agent/agent.ts';
import type { RunResult } from '../../runtime/run-result.ts';
import type { Warden } from '../../runtime/warden.ts';

/** Prints a run's result (trace and summary, or JSON) and sets the exit code from its status. */
export async function reportRun(warden: Warden, result: RunResult, json: boolean): Promise<void> {
  if (json) printJson(result);
  else printRun(result, await warden.events(result.runId));
  process.exitCode = RUN_EXIT_CODES[result.status];
}

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('Run one request through an agent and print its step-by-step trace')
    .argument('<agent-file>', 'module whose default export is defineAgent(…)')
    .requiredOption('--input <text>', 'the request')
    .option('--db <path|url>', STORE_HELP)
    .option('--tenant <name>', 'tenant the run belongs to', 'default')
    .option('--shadow', 'shadow mode: run reads, record writes and deletes without making them')
    .option('--json', 'print one JSON object instead of the trace')
    .option('--stream', "print the model's text as it arrives, then the trace (default when stdout is a terminal; never with --json)")
    .option('--no-stream', 'print only the trace and summary, after the run')
    .option('--enqueue', 'only record the run (queued) for a `warden worker` to drive; print its id')
    .option('--conversation <id>', "make the run the conversation's next turn: it sees the earlier turns and waits behind a live one")
    .option('--durability <process|power>', DURABILITY_HELP)
    .action(async (file: string, opts: SubmitFlags & { shadow?: boolean; enqueue?: boolean; stream?: boolean; durability?: string }) => {
      if (opts.enqueue) return submitRun(file, opts);
      const { agent, path } = await loadCommandAgent(file);
      const store = await openStore(opts.db, opts.durability ? { durability: opts.durability } : {});
      try {
        const warden = cliWarden(store);
        const printer = shouldStream(opts, process.stdout.isTTY) ? textPrinter(process.stdout) : null;
        const result = await warden.run(agent, opts.input, {
          tenant: opts.tenant,
          agentFile: path,
          ...(opts.shadow ? { shadow: true } : {}),
          ...(opts.conversation ? { conversation: opts.conversation } : {}),
          ...(printer ? { onText: printer.onText } : {}),
        });
        printer?.end();
        await reportRun(warden, result, opts.json === true);
      } finally {
        await store.close();
      }
    });

  program
    .command('submit')
    .description('Record a run (queued) without executing it; a `warden worker` on the same store drives it')
    .argument('<agent-file>', 'module whose default export is defineAgent(…)')
    .requiredOption('--input <text>', 'the request')
    .option('--db <path|url>', STORE_HELP)
    .option('--tenant <name>', 'tenant the run belongs to', 'default')
    .option('--shadow', 'shadow mode: run reads, record writes and deletes without making them')
    .option('--conversation <id>', "make the run the conversation's next turn")
    .option('--json', 'print {"runId","status"} instead of the id')
    .action((file: string, opts: SubmitFlags) => submitRun(file, opts));

  program
    .command('resume')
    .description('Continue a run from its last committed event (after a crash, or once a person decided)')
    .argument('<run-id>')
    .option('--db <path|url>', STORE_HELP)
    .option('--agent <file>', 'agent file (default: the one the run was started with)')
    .option('--force', 'take the run over even if another process seems to hold it')
    .option('--json', 'print one JSON object instead of the trace')
    .action(async (runId: string, opts: { db?: string; agent?: string; force?: boolean; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const warden = cliWarden(store);
        const result = await resumeRun(warden, runId, opts);
        await reportRun(warden, result, opts.json === true);
      } finally {
        await store.close();
      }
    });
}

interface SubmitFlags {
  input: string;
  db?: string;
  tenant: string;
  shadow?: boolean;
  json?: boolean;
  conversation?: string;
}

/** Records a queued run with its agent file (so a worker can load it) and prints its id. */
async function submitRun(file: string, opts: SubmitFlags): Promise<void> {
  const { agent, path } = await loadCommandAgent(file);
  const store = await openStore(opts.db);
  try {
    const runId = await cliWarden(store).submit(agent, opts.input, {
      tenant: opts.tenant,
      agentFile: path,
      ...(opts.shadow ? { shadow: true } : {}),
      ...(opts.conversation ? { conversation: opts.conversation } : {}),
    });
    if (opts.json) printJson({ runId, status: 'queued' });
    else process.stdout.write(`${runId}\n`);
  } finally {
    await store.close();
  }
}

/**
 * Loads the agent the run was started with (or `opts.agent`) and drives the run on. A child run
 * is carried on through its root, which drives its children from their own logs.
 */
/** The agent a run was started with: its own file, or its root's for a child run. */
export async function agentOfRun(warden: Warden, runId: string, file?: string): Promise<Agent> {
  const [submitted] = await warden.events(runId);
  const path = file ?? (submitted?.type === 'run.submitted' ? submitted.data.agentFile : undefined);
  if (!path) throw new WardenError('INVALID_ARGUMENT', `Run ${runId} does not record its agent file; pass --agent FILE`);
  return (await loadCommandAgent(path)).agent;
}

export async function resumeRun(warden: Warden, runId: string, opts: { agent?: string; force?: boolean }): Promise<RunResult> {
  let [submitted] = await warden.events(runId);
  if (submitted?.type === 'run.submitted' && submitted.data.parentRunId && !opts.agent) {
    runId = submitted.data.rootRunId;
    [submitted] = await warden.events(runId);
  }
  const file = opts.agent ?? (submitted?.type === 'run.submitted' ? submitted.data.agentFile : undefined);
  if (!file) throw new WardenError('INVALID_ARGUMENT', `Run ${runId} does not record its agent file; pass --agent FILE`);
  const { agent } = await loadCommandAgent(file);
  return warden.resume(agent, runId, { force: opts.force === true });
}
