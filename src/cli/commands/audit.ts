import type { Command } from 'commander';
import { auditAgent } from '../../rehearse/audit.ts';
import { auditText } from '../../rehearse/audit-text.ts';
import { loadCommandAgent } from '../load-agent.ts';
import { printJson } from '../output.ts';

/** Exit code of `warden audit` when a blocking item remains (3, like a run stopped by a limit it did not meet). */
export const AUDIT_NOT_READY_EXIT = 3;

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description("Answer the four sign-off questions from the agent's declarations and list what to push back on (exit 3 while a blocking item remains)")
    .argument('<agent-file>', 'module whose default export is defineAgent(…)')
    .option('--json', 'print the audit as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const { agent } = await loadCommandAgent(file);
      const report = auditAgent(agent);
      if (opts.json) printJson(report);
      else process.stdout.write(auditText(report));
      if (!report.ready) process.exitCode = AUDIT_NOT_READY_EXIT;
    });
}
