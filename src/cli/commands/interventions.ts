import type { Command } from 'commander';
import { WardenError } from '../../core/errors.ts';
import type { InterventionKind, InterventionRecord, Store } from '../../core/ports/store.ts';
import type { Agent } from '../../agent/agent.ts';
import type { RunState } from '../../core/run-state.ts';
import { type ApprovalCard, loadApprovalCard } from '../../observe/approval-card.ts';
import { formatDuration } from '../../core/duration.ts';
import type { Warden } from '../../runtime/warden.ts';
import { loadCommandAgent } from '../load-agent.ts';
import { cliWarden } from '../cli-warden.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson } from '../output.ts';
import { reportRun, resumeRun } from './run.ts';
import { undoRun } from './undo.ts';

interface DecideOptions {
  db?: string;
  by: string;
  reason?: string;
  resume: boolean;
  json?: boolean;
}

type CardRow = InterventionRecord & { card: ApprovalCard };

/** Each record with its card; an agent file is loaded once, and one that will not load leaves the card without its declarations. */
async function withCards(store: Store, rows: InterventionRecord[]): Promise<CardRow[]> {
  const agents = new Map<string, Promise<Agent | undefined>>();
  const agentFor = (state: RunState): Promise<Agent | undefined> => {
    const file = state.agentFile;
    if (!file) return Promise.resolve(undefined);
    let agent = agents.get(file);
    if (!agent) {
      agent = loadCommandAgent(file).then(
        (loaded) => loaded.agent,
        () => undefined,
      );
      agents.set(file, agent);
    }
    return agent;
  };
  const now = Date.now();
  const out: CardRow[] = [];
  for (const record of rows) out.push({ ...record, card: await loadApprovalCard(store, record, agentFor, { now }) });
  return out;
}

/** The card in plain lines, indented under the call. */
function cardLines(r: CardRow): string[] {
  const c = r.card;
  const sure = [
    c.statedConfidence !== null ? `said ${Math.round(c.statedConfidence * 100)}% sure` : '',
    c.assessedConfidence !== null ? `scored ${c.assessedConfidence}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return [
    `request   ${c.request}`,
    ...(c.rationale || sure ? [`model     ${c.rationale ? `"${c.rationale}"` : 'gave no reason'}${sure ? ` (${sure})` : ''}`] : []),
    `asked by  ${c.rule ? `${c.rule}: ` : ''}${c.ruleReason}`,
    `undo      ${c.undoable}: ${c.undoableReason}`,
    ...(c.planStep ? [`plan step ${c.planStep.id}${c.planStep.why ? `: ${c.planStep.why}` : ''}`] : []),
    `spend     ${c.spend}`,
    `waited    ${formatDuration(c.waitedMs)}${r.status === 'pending' ? '' : ` (${r.status}${r.decidedBy ? ` by ${r.decidedBy}` : ''})`}`,
    ...(r.status === 'pending' && r.expiresAt !== null ? [`expires   ${expiryWords(r.expiresAt, r.evidence.onTimeout)}`] : []),
  ];
}

/** `in 4m 12s, then denied`: when a pending approval expires and what it then becomes. */
function expiryWords(expiresAt: number, onTimeout: unknown): string {
  const left = expiresAt - Date.now();
  const then = onTimeout === 'escalate' ? 'escalated to a person' : 'denied';
  return left > 0 ? `in ${formatDuration(left)}, then ${then}` : `now (past its deadline), then ${then}`;
}

/** Expires what is past its deadline before listing, so a list never offers an approval that can no longer be given. */
async function expireDue(warden: Warden, json: boolean): Promise<void> {
  const expired = await warden.expireApprovals({ limit: 10_000 });
  if (json || expired.length === 0) return;
  for (const e of expired) {
    const next =
      e.outcome === 'escalated'
        ? `escalated as ${e.escalationId}; see \`warden escalations show ${e.escalationId}\``
        : `denied; \`warden resume ${e.approval.runId}\` carries the run on`;
    process.stderr.write(`${e.approval.id} expired (nobody decided in time): ${next}\n`);
  }
}

function printList(rows: CardRow[], json: boolean, kind: InterventionKind): void {
  if (json) {
    printJson(rows);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write(`No pending ${kind === 'approval' ? 'approvals' : 'escalations'}.\n`);
    return;
  }
  for (const r of rows) {
    process.stdout.write(
      `${r.id}  run ${r.runId}  ${r.agent}  ${r.tool ?? ''}(${JSON.stringify(r.args)})\n${cardLines(r)
        .map((l) => `    ${l}\n`)
        .join('')}`,
    );
  }
}

/** One intervention in full: the exact arguments, then the card. */
async function showIntervention(store: Store, id: string, kind: InterventionKind, json: boolean): Promise<void> {
  const record = await store.getIntervention(id);
  if (!record || record.kind !== kind) throw new WardenError('NOT_FOUND', `No ${kind} with id "${id}"`);
  const [row] = await withCards(store, [record]);
  if (!row) return;
  if (json) return printJson(row);
  process.stdout.write(
    `${row.id}  ${row.kind} ${row.status}\nrun       ${row.runId}  (agent ${row.agent}, tenant ${row.tenant})\ncall      ${row.tool ?? 'final answer'}\nargs      ${JSON.stringify(row.args, null, 2).replaceAll('\n', '\n          ')}\n${cardLines(row).join('\n')}\n`,
  );
}

async function withWarden(db: string | undefined, fn: (warden: Warden, store: Store) => Promise<void>): Promise<void> {
  const store = await openStore(db);
  try {
    await fn(cliWarden(store), store);
  } finally {
    await store.close();
  }
}

/**
 * Records a person's decision and, unless `--no-resume`, carries the run on in this process
 * (embedded mode has no separate worker to pick it up).
 */
/**
 * The agent of the run an escalation is about, from the file the run recorded, so the decision is
 * checked as the server checks it (edited arguments against the tool's schema, an answer against
 * the agent's output schema). Undefined when the run recorded no file; a file that will not load fails.
 */
async function escalationAgent(warden: Warden, store: Store, id: string): Promise<Agent | undefined> {
  const record = await store.getIntervention(id);
  if (!record) return undefined;
  const [submitted] = await warden.events(record.runId);
  const file = submitted?.type === 'run.submitted' ? submitted.data.agentFile : undefined;
  return file ? (await loadCommandAgent(file)).agent : undefined;
}

async function decideAndResume(opts: DecideOptions, decide: (warden: Warden, store: Store) => Promise<InterventionRecord>): Promise<void> {
  await withWarden(opts.db, async (warden, store) => {
    const record = await decide(warden, store);
    if (!opts.json) process.stdout.write(`${record.id}: ${record.status} by ${record.decidedBy}\n`);
    if (record.evidence.compensation === true && opts.resume) {
      // A decision on an undo step: carry the undo on, not the (finished) run.
      return undoRun(warden, record.runId, { by: record.decidedBy ?? 'operator', json: opts.json === true });
    }
    const run = await warden.inspect(record.runId);
    if (!opts.resume || run.status !== 'queued') {
      if (opts.json) printJson({ decision: record, run });
      return;
    }
    const result = await resumeRun(warden, record.runId, {});
    await reportRun(warden, result, opts.json === true);
  });
}

function decisionOptions(command: Command): Command {
  return command
    .requiredOption('--by <name>', 'who decides (recorded in the audit trail)')
    .option('--reason <text>', 'why')
    .option('--no-resume', 'only record the decision; do not carry the run on here')
    .option('--db <path|url>', STORE_HELP)
    .option('--json');
}

export function registerInterventionCommands(program: Command): void {
  const approvals = program.command('approvals').description('Calls waiting for a person to approve them');
  approvals
    .command('list')
    .option('--db <path|url>', STORE_HELP)
    .option('--all', 'decided ones too')
    .option('--json')
    .action(async (opts: { db?: string; all?: boolean; json?: boolean }) => {
      await withWarden(opts.db, async (warden, store) => {
        await expireDue(warden, opts.json === true);
        printList(
          await withCards(store, await store.listInterventions({ kind: 'approval', ...(opts.all ? {} : { status: 'pending' }) })),
          opts.json === true,
          'approval',
        );
      });
    });
  approvals
    .command('show')
    .description('One approval: the exact arguments, why a person is asked, what is at stake')
    .argument('<approval-id>')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (id: string, opts: { db?: string; json?: boolean }) => {
      await withWarden(opts.db, (_w, store) => showIntervention(store, id, 'approval', opts.json === true));
    });
  decisionOptions(approvals.command('approve').description('Approve the exact arguments of a waiting call').argument('<approval-id>')).action(
    (id: string, opts: DecideOptions) => decideAndResume(opts, (w) => w.approve(id, { by: opts.by, reason: opts.reason })),
  );
  decisionOptions(approvals.command('deny').description('Deny a waiting call; the model is told').argument('<approval-id>')).action(
    (id: string, opts: DecideOptions) => decideAndResume(opts, (w) => w.deny(id, { by: opts.by, reason: opts.reason })),
  );

  const escalations = program.command('escalations').description('Runs a person must look at (unknown outcomes, low confidence)');
  escalations
    .command('list')
    .option('--db <path|url>', STORE_HELP)
    .option('--all', 'decided ones too')
    .option('--json')
    .action(async (opts: { db?: string; all?: boolean; json?: boolean }) => {
      await withWarden(opts.db, async (warden, store) => {
        await expireDue(warden, opts.json === true);
        printList(
          await withCards(store, await store.listInterventions({ kind: 'escalation', ...(opts.all ? {} : { status: 'pending' }) })),
          opts.json === true,
          'escalation',
        );
      });
    });
  escalations
    .command('show')
    .description('One escalation: what the run did, why a person is asked, what is at stake')
    .argument('<escalation-id>')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (id: string, opts: { db?: string; json?: boolean }) => {
      await withWarden(opts.db, (_w, store) => showIntervention(store, id, 'escalation', opts.json === true));
    });
  decisionOptions(escalations.command('approve').description('Run the escalated step as proposed').argument('<escalation-id>')).action(
    (id: string, opts: DecideOptions) =>
      decideAndResume(opts, async (w, store) =>
        w.decideEscalation(id, { decision: 'approve', by: opts.by, reason: opts.reason }, await escalationAgent(w, store, id)),
      ),
  );
  decisionOptions(escalations.command('edit').description('Run the escalated step with new arguments').argument('<escalation-id>'))
    .requiredOption('--args <json>', 'the arguments to run it with')
    .action((id: string, opts: DecideOptions & { args: string }) => {
      let args: unknown;
      try {
        args = JSON.parse(opts.args);
      } catch {
        throw new WardenError('INVALID_ARGUMENT', `--args must be JSON, got ${opts.args}`);
      }
      return decideAndResume(opts, async (w, store) =>
        w.decideEscalation(id, { decision: 'edit', args, by: opts.by, reason: opts.reason }, await escalationAgent(w, store, id)),
      );
    });
  decisionOptions(escalations.command('takeover').description('Give the final answer yourself; the run completes').argument('<escalation-id>'))
    .requiredOption('--output <text>', 'the final answer')
    .action((id: string, opts: DecideOptions & { output: string }) =>
      decideAndResume(opts, async (w, store) =>
        w.decideEscalation(id, { decision: 'takeover', output: opts.output, by: opts.by, reason: opts.reason }, await escalationAgent(w, store, id)),
      ),
    );
  decisionOptions(escalations.command('stop').description('Stop the run').argument('<escalation-id>')).action((id: string, opts: DecideOptions) =>
    decideAndResume(opts, (w) => w.decideEscalation(id, { decision: 'stop', by: opts.by, reason: opts.reason })),
  );
}
