import type { Command } from 'commander';

/**
 * Every top-level command, with its one-line summary and the module that defines it. `main` loads
 * only the module of the command being run, so `warden runs list` does not pay for the rehearsal,
 * the server or OpenTelemetry; `warden --help` lists the summaries without loading any of them.
 * A test checks that each summary is the one its module registers.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<(program: Command) => void>;
}

const run = () => import('./commands/run.ts').then((m) => m.registerRunCommands);
const interventions = () => import('./commands/interventions.ts').then((m) => m.registerInterventionCommands);

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'run', summary: 'Run one request through an agent and print its step-by-step trace', load: run },
  { name: 'submit', summary: 'Record a run (queued) without executing it; a `warden worker` on the same store drives it', load: run },
  { name: 'resume', summary: 'Continue a run from its last committed event (after a crash, or once a person decided)', load: run },
  { name: 'runs', summary: 'List and inspect runs', load: () => import('./commands/runs.ts').then((m) => m.registerRunsCommands) },
  {
    name: 'conversations',
    summary: 'List, show and export conversations: runs that are the turns of one exchange with an agent',
    load: () => import('./commands/conversations.ts').then((m) => m.registerConversationsCommands),
  },
  { name: 'approvals', summary: 'Calls waiting for a person to approve them', load: interventions },
  { name: 'escalations', summary: 'Runs a person must look at (unknown outcomes, low confidence)', load: interventions },
  {
    name: 'stop',
    summary: 'Kill switch: cancel one run (and its children), every live run of an agent or a tenant, or everything',
    load: () => import('./commands/stop.ts').then((m) => m.registerStopCommand),
  },
  {
    name: 'undo',
    summary: "Reverse a finished run's executed calls, newest first, through their compensations (durable; safe to rerun)",
    load: () => import('./commands/undo.ts').then((m) => m.registerUndoCommand),
  },
  {
    name: 'replay',
    summary: 'Re-run a recorded run offline from its log and check it takes the same decisions; with --agent, show what a changed agent would have done',
    load: () => import('./commands/replay.ts').then((m) => m.registerReplayCommand),
  },
  {
    name: 'drift',
    summary: "Compare each agent's recent behaviour with its baseline (tool mix, steps, cost, outcomes, approvals, escalations) and raise drift alerts",
    load: () => import('./commands/drift.ts').then((m) => m.registerDriftCommand),
  },
  {
    name: 'shadow',
    summary: 'Shadow mode: what agents would have done, had they been allowed to',
    load: () => import('./commands/shadow.ts').then((m) => m.registerShadowCommand),
  },
  {
    name: 'rehearse',
    summary: 'Run the agent at production volume on a seeded behaviour model with injected faults, and report what production will bring',
    load: () => import('./commands/rehearse.ts').then((m) => m.registerRehearseCommand),
  },
  {
    name: 'audit',
    summary: "Answer the four sign-off questions from the agent's declarations and list what to push back on (exit 3 while a blocking item remains)",
    load: () => import('./commands/audit.ts').then((m) => m.registerAuditCommand),
  },
  {
    name: 'serve',
    summary: 'Serve the HTTP API (/v1, OpenAPI at /v1/openapi.json), /metrics and the dashboard',
    load: () => import('./commands/serve.ts').then((m) => m.registerServeCommand),
  },
  {
    name: 'worker',
    summary: 'Run a worker: claim queued, decided and orphaned runs from the store and drive them until stopped (SIGTERM/SIGINT)',
    load: () => import('./commands/worker.ts').then((m) => m.registerWorkerCommand),
  },
  {
    name: 'keys',
    summary: 'API keys for the server: each has a role and the tenants it may see',
    load: () => import('./commands/keys.ts').then((m) => m.registerKeysCommand),
  },
  {
    name: 'webhooks',
    summary: 'Webhooks: tell a URL (or a Slack channel) about approvals, escalations, runs stopped by a limit, kill switches and drift',
    load: () => import('./commands/webhooks.ts').then((m) => m.registerWebhooksCommand),
  },
  {
    name: 'budgets',
    summary: "Budgets over time kept in the store: every process on it (serve, worker, run) holds each run's spend against them",
    load: () => import('./commands/budgets.ts').then((m) => m.registerBudgetsCommand),
  },
  {
    name: 'retention',
    summary: 'Preview, then apply, the retention policy: which finished runs are old enough to delete (or archive), per tenant',
    load: () => import('./commands/retention.ts').then((m) => m.registerRetentionCommand),
  },
  {
    name: 'migrate',
    summary: "Bring the store's schema up to date (ordered, named migrations; safe to run from many machines at once)",
    load: () => import('./commands/migrate.ts').then((m) => m.registerMigrateCommand),
  },
];
