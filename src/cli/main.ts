import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isWardenError, describeError, ERROR_CODES } from '../core/errors.ts';
import { COMMANDS } from './command-table.ts';
import { runShutdownHooks } from './shutdown.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Builds the `warden` command line with the command named in `argv` (and its siblings from the same
 * module) fully defined, and the others as one-line entries for `--help`. Loading only what the
 * command needs is what keeps `warden --help` and `warden runs list` quick to start.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('warden')
    .description('Warden: a production runtime for AI agents — stop conditions, least privilege, a cost ceiling, a replayable trace.')
    .version(VERSION, '-V, --version')
    // Options after a subcommand belong to it (`warden stop list --db X`), not to its parent.
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  const entry = COMMANDS.find((c) => c.name === argv[0]);
  const registered = new Set<string>();
  if (entry) {
    (await entry.load())(program);
    for (const c of program.commands) registered.add(c.name());
  }
  for (const c of COMMANDS) if (!registered.has(c.name)) program.command(c.name).description(c.summary);
  return program;
}

/** Whether the command asked for machine-readable output; its errors are then JSON too. */
function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json') || argv.includes('--format=json') || argv.some((a, i) => a === '--format' && argv[i + 1] === 'json');
}

function reportError(argv: readonly string[], code: string, message: string): void {
  if (wantsJson(argv)) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`warden: ${code}: ${message}\n`);
}

/** Runs the CLI; resolves to the process exit code (see the exit-code table in the README). */
export async function main(argv: string[]): Promise<number> {
  stopQuietlyOnClosedPipe();
  let failed: number | null = null;
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    failed = exitCodeFor(argv, e);
    return failed;
  } finally {
    await runShutdownHooks();
    // A command that failed is over: whatever the modules it loaded started (an agent file that
    // opens a server, a timer) must not keep the process alive after the error is written.
    if (failed !== null) process.exit(failed);
  }
}

/** Reports an error that ended a command and says which exit code it means. */
function exitCodeFor(argv: readonly string[], e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.exitCode !== 0 && wantsJson(argv)) reportError(argv, 'INVALID_ARGUMENT', e.message.replace(/^error: /, ''));
    return e.exitCode === 0 ? 0 : ERROR_CODES.INVALID_ARGUMENT.exit;
  }
  if (isWardenError(e)) {
    reportError(argv, e.code, e.message);
    return e.exitCode;
  }
  if (wantsJson(argv)) reportError(argv, 'INTERNAL', describeError(e));
  else process.stderr.write(`warden: internal error: ${describeError(e)}\n${(e as Error)?.stack ?? ''}\n`);
  return ERROR_CODES.INTERNAL.exit;
}

/**
 * `warden runs list | head` closes stdout early. That is the reader saying it has seen enough, not
 * an error: stop writing and exit quietly (0), as Unix tools do, instead of a stack trace.
 */
function stopQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
      throw e;
    });
  }
}
