import { Command, CommanderError } from 'commander';
import { isWardenError, describeError } from '../errors.ts';
import { registerRunCommands } from './commands/run.ts';
import { registerRunsCommands } from './commands/runs.ts';
import { registerInterventionCommands } from './commands/interventions.ts';
import { registerStopCommand } from './commands/stop.ts';
import { registerReplayCommand } from './commands/replay.ts';
import { registerDriftCommand } from './commands/drift.ts';
import { registerUndoCommand } from './commands/undo.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerKeysCommand } from './commands/keys.ts';
import { registerShadowCommand } from './commands/shadow.ts';
import { flushTelemetry } from './cli-warden.ts';
import { closeAllMcp } from '../tools/mcp/mcp-tools.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { registerRehearseCommand } from './commands/rehearse.ts';
import { registerAuditCommand } from './commands/audit.ts';

/** Builds the `warden` command line. Exported so tests can drive it in-process. */
export function buildProgram(): Command {
  const program = new Command('warden')
    .description('Warden: a production runtime for AI agents — stop conditions, least privilege, a cost ceiling, a replayable trace.')
    .showHelpAfterError()
    .exitOverride();
  registerRunCommands(program);
  registerRunsCommands(program);
  registerInterventionCommands(program);
  registerStopCommand(program);
  registerReplayCommand(program);
  registerDriftCommand(program);
  registerUndoCommand(program);
  registerServeCommand(program);
  registerKeysCommand(program);
  registerShadowCommand(program);
  registerMigrateCommand(program);
  registerWorkerCommand(program);
  registerRehearseCommand(program);
  registerAuditCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (isWardenError(e)) {
      process.stderr.write(`warden: ${e.code}: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`warden: internal error: ${describeError(e)}\n${(e as Error)?.stack ?? ''}\n`);
    return 1;
  } finally {
    await closeAllMcp();
    await flushTelemetry();
  }
}
