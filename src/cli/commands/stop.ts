import type { Command } from 'commander';
import { WardenError } from '../../core/errors.ts';
import { liftSwitch, listSwitches, parseScope, type SwitchScope } from '../../runtime/kill-switch.ts';
import { cliWarden } from '../cli-warden.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson } from '../output.ts';

interface StopOptions {
  run?: string;
  agent?: string;
  tenant?: string;
  all?: boolean;
  by: string;
  reason: string;
  db?: string;
  json?: boolean;
}

/**
 * `warden stop`: with `--agent`, `--tenant` or `--all`, the durable kill switch — the same one the
 * dashboard pulls: nothing in the scope may start or go on until it is lifted, and live runs are
 * cancelled now. With `--run`, a one-run cancel (no switch). `stop list` and `stop lift SCOPE`.
 */
export function registerStopCommand(program: Command): void {
  const stop = program
    .command('stop')
    .description('Kill switch: cancel one run (and its children), every live run of an agent or a tenant, or everything')
    // `stop list --db X`: options after a subcommand belong to the subcommand.
    .enablePositionalOptions()
    .option('--run <id>', 'cancel this run and its children (a one-run cancel: no switch stays engaged)')
    .option('--agent <name>', 'engage the kill switch for an agent')
    .option('--tenant <name>', 'engage the kill switch for a tenant')
    .option('--all', 'engage the kill switch for everything')
    .option('--by <name>', 'who pulls the switch', process.env.USER ?? 'operator')
    .option('--reason <text>', 'why', 'kill switch')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: StopOptions) => {
      const chosen = [opts.run, opts.agent, opts.tenant, opts.all].filter((x) => x !== undefined && x !== false).length;
      if (chosen !== 1)
        throw new WardenError(
          'INVALID_ARGUMENT',
          'Say exactly one of --run ID, --agent NAME, --tenant NAME or --all (or `warden stop list`, `warden stop lift SCOPE`)',
        );
      const store = await openStore(opts.db);
      try {
        const warden = cliWarden(store);
        if (opts.run) {
          const results = await warden.stop({ runId: opts.run }, { by: opts.by, reason: opts.reason });
          if (opts.json) printJson(results.map((r) => ({ runId: r.runId, status: r.status })));
          else process.stdout.write(`Stopped ${plural(results.length, 'run')}.\n${results.map((r) => `${r.runId}  ${r.status}`).join('\n')}\n`);
          return;
        }
        const scope: SwitchScope = opts.agent ? parseScope(`agent:${opts.agent}`) : opts.tenant ? parseScope(`tenant:${opts.tenant}`) : 'all';
        const { engaged, stopped } = await warden.halt(scope, { by: opts.by, reason: opts.reason });
        // The JSON stays the list of stopped runs, as before the switch was durable; `stop list --json` shows the switch.
        if (opts.json) printJson(stopped.map((r) => ({ runId: r.runId, status: r.status })));
        else {
          process.stdout.write(
            `Kill switch "${scope}" engaged by ${engaged.by}: nothing in it starts or goes on until \`warden stop lift ${scope}\`.\n` +
              `Stopped ${plural(stopped.length, 'live run')}.${stopped.length ? `\n${stopped.map((r) => `${r.runId}  ${r.status}`).join('\n')}` : ''}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });

  stop
    .command('list')
    .description('The kill switches that are engaged')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: { db?: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const switches = await listSwitches(store);
        if (opts.json) printJson(switches);
        else if (switches.length === 0) process.stdout.write('No kill switch is engaged.\n');
        else process.stdout.write(`${switches.map((s) => `${s.scope}  engaged ${new Date(s.at).toISOString()} by ${s.by}: ${s.reason}`).join('\n')}\n`);
      } finally {
        await store.close();
      }
    });

  stop
    .command('lift')
    .description('Lift an engaged kill switch (SCOPE: all, agent:NAME or tenant:NAME)')
    .argument('<scope>')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (scopeText: string, opts: { db?: string; json?: boolean }) => {
      const scope = parseScope(scopeText);
      const store = await openStore(opts.db);
      try {
        if (!(await liftSwitch(store, scope))) {
          const engaged = (await listSwitches(store)).map((s) => s.scope);
          throw new WardenError('NOT_FOUND', `No kill switch is engaged for "${scope}" (engaged: ${engaged.length ? engaged.join(', ') : 'none'})`);
        }
        if (opts.json) printJson({ lifted: scope });
        else process.stdout.write(`Kill switch "${scope}" lifted: runs in it may start and go on again.\n`);
      } finally {
        await store.close();
      }
    });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
