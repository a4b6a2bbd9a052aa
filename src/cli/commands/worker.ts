import type { Command } from 'commander';
import { describeError, isWardenError, WardenError } from '../../core/errors.ts';
import { agentsByRecordedPath, agentsFromDir } from '../../scheduler/agent-catalog.ts';
import { WebhookDeliverer } from '../../scheduler/webhook-deliverer.ts';
import { Worker } from '../../scheduler/worker.ts';
import { openStore, STORE_HELP, DURABILITY_HELP } from '../open-store.ts';
import { closeAllMcp } from '../../tools/mcp/mcp-tools.ts';
import { onShutdown } from '../shutdown.ts';

interface WorkerFlags {
  db?: string;
  concurrency: string;
  agents?: string;
  leaseMs: string;
  pollMs: string;
  pool?: string;
  perTenant?: string;
  perAgent?: string;
  json?: boolean;
  webhooks: boolean;
  durability?: string;
}

function count(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new WardenError('INVALID_ARGUMENT', `${what} must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
  return n;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run a worker: claim queued, decided and orphaned runs from the store and drive them until stopped (SIGTERM/SIGINT)')
    .option('--db <path|url>', STORE_HELP)
    .option('--concurrency <n>', 'runs driven at once', '4')
    .option('--agents <dir>', 'load agents from the modules in DIR and claim only their runs (default: the file each run recorded)')
    .option('--lease-ms <ms>', 'lease length: how soon another worker takes over if this one dies', '30000')
    .option('--poll-ms <ms>', 'longest wait between claims when nothing wakes the worker', '1000')
    .option('--per-tenant <n>', 'runs of one tenant driven at once by this worker')
    .option('--per-agent <n>', 'runs of one agent driven at once by this worker')
    .option('--pool <n>', 'database connections (PostgreSQL); runs in flight share them (default: concurrency + 2, at most 16)')
    .option('--json', 'one JSON line per run that ended or parked')
    .option('--no-webhooks', 'do not deliver the webhook outbox from this process')
    .option('--durability <process|power>', DURABILITY_HELP)
    .action(async (opts: WorkerFlags) => {
      const concurrency = count(opts.concurrency, '--concurrency');
      const leaseMs = count(opts.leaseMs, '--lease-ms');
      const pollMs = count(opts.pollMs, '--poll-ms');
      // Runs in flight share the pool: a connection per run would exhaust the server's
      // max_connections as soon as a few workers run with high concurrency.
      const pool = opts.pool === undefined ? Math.min(concurrency + 2, 16) : count(opts.pool, '--pool');
      const store = await openStore(opts.db, { poolSize: pool, ...(opts.durability ? { durability: opts.durability } : {}) });
      try {
        // Agent files may open MCP connections (a stdio server is a child process): close them on exit.
        onShutdown(closeAllMcp);
        const agents = opts.agents ? await agentsFromDir(opts.agents) : agentsByRecordedPath(store);
        const worker = new Worker({
          store,
          agents,
          concurrency,
          leaseMs,
          pollMs,
          ...(opts.perTenant ? { perTenant: count(opts.perTenant, '--per-tenant') } : {}),
          ...(opts.perAgent ? { perAgent: count(opts.perAgent, '--per-agent') } : {}),
          onRunEnd: (r) =>
            process.stdout.write(opts.json ? `${JSON.stringify({ runId: r.runId, status: r.status, worker: worker.id })}\n` : `${r.runId}  ${r.status}\n`),
          onError: (e, runId) =>
            process.stderr.write(`warden worker: ${runId ? `run ${runId}: ` : ''}${isWardenError(e) ? `${e.code}: ` : ''}${describeError(e)}\n`),
        });
        const done = worker.start();
        // Links in Slack messages point at the dashboard when WARDEN_DASHBOARD_URL says where it is.
        const dashboardUrl = process.env.WARDEN_DASHBOARD_URL;
        const deliverer = opts.webhooks ? new WebhookDeliverer({ store, ...(dashboardUrl ? { dashboardUrl } : {}) }) : undefined;
        deliverer?.start();
        let signals = 0;
        const onSignal = () => {
          // First signal: finish the runs in hand. Second: leave now; leases lapse and others take over.
          if (++signals > 1) process.exit(130);
          void worker.stop();
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
        process.stderr.write(`warden worker ${worker.id}: ${store.kind} store, concurrency ${concurrency}, lease ${leaseMs} ms\n`);
        try {
          await done;
        } finally {
          await deliverer?.stop();
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
        }
      } finally {
        await store.close();
      }
    });
}
