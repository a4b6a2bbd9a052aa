import type { Command } from 'commander';
import { WardenError } from '../../errors.ts';
import { createWarden } from '../../runtime/warden.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson } from '../output.ts';

const LIVE = ['queued', 'running', 'waiting_approval', 'escalated'] as const;

export function registerStopCommand(program: Command): void {
  program
    .command('stop')
    .description('Kill switch: cancel one run, every run of an agent, or everything')
    .option('--run <id>')
    .option('--agent <name>')
    .option('--all')
    .option('--by <name>', 'who pulls the switch', process.env.USER ?? 'operator')
    .option('--reason <text>', 'why', 'kill switch')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: { run?: string; agent?: string; all?: boolean; by: string; reason: string; db?: string; json?: boolean }) => {
      const chosen = [opts.run, opts.agent, opts.all].filter((x) => x !== undefined && x !== false).length;
      if (chosen !== 1) throw new WardenError('INVALID_ARGUMENT', 'Say exactly one of --run ID, --agent NAME or --all');
      const store = await openStore(opts.db);
      try {
        const warden = createWarden({ store });
        const ids = opts.run ? [opts.run] : (await store.listRuns({ agent: opts.agent, status: [...LIVE], limit: 100_000 })).map((r) => r.runId);
        const results = [];
        for (const id of ids) results.push(await warden.cancel(id, { by: opts.by, reason: opts.reason }));
        if (opts.json) printJson(results.map((r) => ({ runId: r.runId, status: r.status })));
        else process.stdout.write(`Stopped ${results.length} run(s).\n${results.map((r) => `${r.runId}  ${r.status}`).join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}
