import type { Command } from 'commander';
import { WardenError } from '../../errors.ts';
import { cliWarden } from '../cli-warden.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson } from '../output.ts';

export function registerStopCommand(program: Command): void {
  program
    .command('stop')
    .description('Kill switch: cancel one run (and its children), every live run of an agent or a tenant, or everything')
    .option('--run <id>')
    .option('--agent <name>')
    .option('--tenant <name>')
    .option('--all')
    .option('--by <name>', 'who pulls the switch', process.env.USER ?? 'operator')
    .option('--reason <text>', 'why', 'kill switch')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: { run?: string; agent?: string; tenant?: string; all?: boolean; by: string; reason: string; db?: string; json?: boolean }) => {
      const chosen = [opts.run, opts.agent, opts.tenant, opts.all].filter((x) => x !== undefined && x !== false).length;
      if (chosen !== 1) throw new WardenError('INVALID_ARGUMENT', 'Say exactly one of --run ID, --agent NAME, --tenant NAME or --all');
      const store = await openStore(opts.db);
      try {
        const warden = cliWarden(store);
        const target = opts.run ? { runId: opts.run } : opts.agent ? { agent: opts.agent } : opts.tenant ? { tenant: opts.tenant } : { all: true as const };
        const results = await warden.stop(target, { by: opts.by, reason: opts.reason });
        if (opts.json) printJson(results.map((r) => ({ runId: r.runId, status: r.status })));
        else process.stdout.write(`Stopped ${results.length} run(s).\n${results.map((r) => `${r.runId}  ${r.status}`).join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}
