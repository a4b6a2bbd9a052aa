import type { Command } from 'commander';
import { formatUsd, nanoToUsd } from '../../core/money.ts';
import type { ConversationStatus, RunRecord } from '../../core/ports/store.ts';
import { EVENT_SCHEMA_VERSION } from '../../core/events.ts';
import { exportRun } from '../../observe/replay/run-export.ts';
import { conversationView, type ConversationView } from '../../runtime/conversation-turns.ts';
import { createWarden } from '../../runtime/warden.ts';
import { cliWarden } from '../cli-warden.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson, printRun } from '../output.ts';

/** Names the document `warden conversations export` writes; each turn inside is a `warden.run-export`. */
export const CONVERSATION_EXPORT_FORMAT = 'warden.conversation-export';
export const CONVERSATION_EXPORT_VERSION = 1;

export function registerConversationsCommands(program: Command): void {
  const conversations = program
    .command('conversations')
    .description('List, show and export conversations: runs that are the turns of one exchange with an agent');
  conversations
    .command('list')
    .description('Conversations, most recently updated first')
    .option('--db <path|url>', STORE_HELP)
    .option('--agent <name>')
    .option('--tenant <name>')
    .option('--status <status>', 'open or cancelled')
    .option('--limit <n>', 'how many', '50')
    .option('--json')
    .action(async (opts: { db?: string; agent?: string; tenant?: string; status?: ConversationStatus; limit: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const rows = await store.listConversations({ agent: opts.agent, tenant: opts.tenant, status: opts.status, limit: Number(opts.limit) || 50 });
        if (opts.json) {
          printJson(rows.map((c) => ({ ...c, spentUsd: nanoToUsd(c.spentNano), ceilingUsd: c.ceilingNano === null ? null : nanoToUsd(c.ceilingNano) })));
          return;
        }
        if (rows.length === 0) process.stdout.write('No conversations.\n');
        for (const c of rows) {
          const ceiling = c.ceilingNano === null ? '' : ` of ${formatUsd(c.ceilingNano)}`;
          process.stdout.write(
            `${c.conversationId}  ${new Date(c.updatedAt).toISOString()}  ${c.agent.padEnd(16)} ${c.tenant.padEnd(12)} ${c.status.padEnd(9)} ${String(c.turns).padStart(4)} turns  ${formatUsd(c.spentNano)}${ceiling}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });
  conversations
    .command('show')
    .description('One conversation: its turns in order, each with its status and answer (--trace: each turn’s step-by-step trace)')
    .argument('<conversation-id>')
    .option('--db <path|url>', STORE_HELP)
    .option('--trace', "print each turn's trace")
    .option('--json', 'the conversation and its turns as JSON')
    .action(async (id: string, opts: { db?: string; trace?: boolean; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const view = await conversationView(store, id);
        if (opts.json) {
          printJson(conversationJson(view));
          return;
        }
        process.stdout.write(conversationHeader(view));
        const warden = createWarden({ store });
        for (const turn of view.turnRuns) {
          process.stdout.write(
            `\nturn ${turn.turn}  ${turn.runId}  ${turn.status}${turn.stopReason ? ` (${turn.stopReason})` : ''}  ${formatUsd(turn.costNano)}\n`,
          );
          if (opts.trace) {
            printRun(await warden.inspect(turn.runId), await warden.events(turn.runId));
            continue;
          }
          process.stdout.write(`  user   ${turn.input}\n`);
          if (turn.output !== null) process.stdout.write(`  agent  ${turn.output}\n`);
        }
      } finally {
        await store.close();
      }
    });
  conversations
    .command('cancel')
    .description('Cancel a conversation: it takes no more messages, and its turns not yet ended are cancelled')
    .argument('<conversation-id>')
    .option('--by <name>', 'who cancels it', process.env.USER ?? 'operator')
    .option('--reason <text>', 'why', 'conversation cancelled')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (id: string, opts: { by: string; reason: string; db?: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const cancelled = await cliWarden(store).cancelConversation(id, { by: opts.by, reason: opts.reason });
        if (opts.json) printJson({ conversationId: id, status: 'cancelled', cancelled });
        else process.stdout.write(`Conversation ${id} cancelled by ${opts.by}; ${cancelled.length} turn(s) cancelled.\n`);
      } finally {
        await store.close();
      }
    });
  conversations
    .command('export')
    .description('One conversation as a versioned JSON document: its row and each turn as a run export (for `warden replay` per turn)')
    .argument('<conversation-id>')
    .option('--db <path|url>', STORE_HELP)
    .action(async (id: string, opts: { db?: string }) => {
      const store = await openStore(opts.db);
      try {
        const { turnRuns, ...conversation } = await conversationView(store, id);
        const turns = [];
        for (const turn of turnRuns) turns.push(await exportRun(store, turn.runId));
        process.stdout.write(
          `${JSON.stringify({
            format: CONVERSATION_EXPORT_FORMAT,
            version: CONVERSATION_EXPORT_VERSION,
            exportedAt: new Date().toISOString(),
            eventSchemaVersion: EVENT_SCHEMA_VERSION,
            conversation,
            turns,
          })}\n`,
        );
      } finally {
        await store.close();
      }
    });
}

/** The conversation as `--json` prints it: its row with USD figures, and its turns' rows. */
export function conversationJson(view: ConversationView): Record<string, unknown> {
  const { turnRuns, ...c } = view;
  return {
    ...c,
    spentUsd: nanoToUsd(c.spentNano),
    ceilingUsd: c.ceilingNano === null ? null : nanoToUsd(c.ceilingNano),
    turns: turnRuns.map((r: RunRecord) => ({ ...r, costUsd: nanoToUsd(r.costNano) })),
  };
}

function conversationHeader(c: ConversationView): string {
  const ceiling = c.ceilingNano === null ? 'no conversation ceiling' : `ceiling ${formatUsd(c.ceilingNano)}`;
  return (
    `conversation ${c.conversationId}  agent ${c.agent}  tenant ${c.tenant}  ${c.status}\n` +
    `${c.turns} turn${c.turns === 1 ? '' : 's'}  spent ${formatUsd(c.spentNano)} (${ceiling})  started ${new Date(c.createdAt).toISOString()}\n`
  );
}
