import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.ts';
import { shadowReport } from '../../observe/shadow-report.ts';
import { openStore } from '../open-store.ts';
import { printJson } from '../output.ts';

const DECISION_WORDS = { allow: 'would run', approve: 'would wait for a person', deny: 'would be refused' } as const;

export function registerShadowCommand(program: Command): void {
  const shadow = program.command('shadow').description('Shadow mode: what agents would have done, had they been allowed to');
  shadow
    .command('report')
    .description('List every write or delete that shadow runs would have made, with the policy decision each would have met')
    .option('--agent <name>')
    .option('--tenant <name>')
    .option('--since <duration>', 'only runs started within this long (e.g. 24h, 7d)', '7d')
    .option('--db <path>', 'store (default .warden/warden.db or $WARDEN_DB)')
    .option('--json')
    .action(async (opts: { agent?: string; tenant?: string; since: string; db?: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const report = await shadowReport(store, {
          ...(opts.agent ? { agent: opts.agent } : {}),
          ...(opts.tenant ? { tenant: opts.tenant } : {}),
          since: Date.now() - parseDuration(opts.since, '--since'),
        });
        if (opts.json) return printJson(report);
        const lines = [`${report.runs} shadow run(s) since ${opts.since} ago, ${report.actions.length} would-be action(s).`];
        for (const [tool, counts] of Object.entries(report.byTool)) {
          lines.push(`  ${tool.padEnd(20)} ${counts.allow} would run · ${counts.approve} would wait for a person · ${counts.deny} would be refused`);
        }
        for (const a of report.actions) {
          lines.push(`${new Date(a.at).toISOString()}  ${a.runId}  ${a.tool}(${JSON.stringify(a.args)})  ${DECISION_WORDS[a.decision]} (${a.rule})`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}
