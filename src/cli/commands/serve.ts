import type { Command } from 'commander';
import { WardenError } from '../../core/errors.ts';
import { agentsByRecordedPath, agentsFromDir } from '../../scheduler/agent-catalog.ts';
import { WebhookDeliverer } from '../../scheduler/webhook-deliverer.ts';
import { startServer } from '../../server/serve.ts';
import { openStore, STORE_HELP, DURABILITY_HELP } from '../open-store.ts';

interface ServeFlags {
  db?: string;
  port: string;
  host: string;
  agents?: string;
  concurrency: string;
  execute: boolean;
  webhooks: boolean;
  durability?: string;
}
import { closeAllMcp } from '../../tools/mcp/mcp-tools.ts';
import { onShutdown } from '../shutdown.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve the HTTP API (/v1, OpenAPI at /v1/openapi.json), /metrics and the dashboard')
    .option('--db <path|url>', STORE_HELP)
    .option('--port <n>', 'port to listen on', '8787')
    .option('--host <name>', 'interface to listen on', '127.0.0.1')
    .option('--agents <dir>', 'agent modules the API may run (by name)')
    .option('--concurrency <n>', 'runs this process drives at once', '8')
    .option('--no-execute', 'only record runs; `warden worker`s on the same store drive them')
    .option('--no-webhooks', 'do not deliver the webhook outbox from this process')
    .option('--durability <process|power>', DURABILITY_HELP)
    .action(async (opts: ServeFlags) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new WardenError('INVALID_ARGUMENT', `--port must be a port number, got ${opts.port}`);
      const store = await openStore(opts.db, { poolSize: 16, ...(opts.durability ? { durability: opts.durability } : {}) });
      // Agent files may open MCP connections (a stdio server is a child process): close them on exit.
      onShutdown(closeAllMcp);
      const agents = opts.agents ? await agentsFromDir(opts.agents) : agentsByRecordedPath(store);
      const server = await startServer({ store, agents, port, hostname: opts.host, execute: opts.execute, concurrency: Number(opts.concurrency) || 8 });
      const dashboardUrl = process.env.WARDEN_DASHBOARD_URL ?? server.url;
      const deliverer = opts.webhooks ? new WebhookDeliverer({ store, dashboardUrl }) : undefined;
      deliverer?.start();
      process.stderr.write(
        `warden serve: ${server.url} (dashboard at ${server.url}/, API at ${server.url}/v1, agents: ${agents.names?.join(', ') ?? 'by recorded file'})\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await deliverer?.stop();
      await server.close();
      await store.close();
    });
}
