import { serve, type ServerType } from '@hono/node-server';
import { createMetrics } from '../observe/metrics.ts';
import { createWarden, type WardenOptions } from '../runtime/warden.ts';
import type { AgentCatalog } from '../scheduler/agent-catalog.ts';
import { startApprovalSweeper } from '../scheduler/approval-sweeper.ts';
import { describeError } from '../core/errors.ts';
import type { Store } from '../core/ports/store.ts';
import { createServerApp } from './app.ts';
import { createInProcessExecutor, type RunExecutor, WORKERS_EXECUTE } from './executor.ts';

export interface ServeOptions {
  store: Store;
  agents: AgentCatalog;
  port?: number;
  hostname?: string;
  /** Drive runs in this process (default), or leave them to `warden worker`s on the same store. */
  execute?: boolean;
  /** Runs driven at once by this process. Default 8. */
  concurrency?: number;
  warden?: Omit<WardenOptions, 'store'>;
}

export interface RunningServer {
  url: string;
  executor: RunExecutor;
  close(): Promise<void>;
}

/**
 * Starts the HTTP API and the dashboard on one port.
 *
 * @example
 * const server = await startServer({ store, agents: await agentsFromDir('agents'), port: 8787 });
 * console.log(`open ${server.url}`);
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const metrics = createMetrics({ store: options.store });
  // Every run this process drives streams, so a viewer who connects mid-call sees the rest of its text.
  const warden = createWarden({
    streamText: true,
    ...options.warden,
    store: options.store,
    onBreakerChange: (key, state) => metrics.setBreakerState(key, state),
  });
  metrics.attach(warden);
  const executor = options.execute === false ? WORKERS_EXECUTE : createInProcessExecutor(warden, options.agents, { concurrency: options.concurrency ?? 8 });
  const app = createServerApp({ warden, store: options.store, agents: options.agents, executor, metrics });
  // Runs left queued or half-done by a previous server process are picked up again.
  if (options.execute !== false) {
    for (const run of await options.store.listRuns({ status: ['queued', 'running'], limit: 10_000 })) if (run.parentRunId === null) executor.enqueue(run.runId);
  }
  // Approvals nobody decided by their deadline are denied or escalated, and their runs carried on.
  const sweeper = startApprovalSweeper({
    warden,
    store: options.store,
    onExpired: (rootRunId) => executor.enqueue(rootRunId),
    onError: (e) => process.stderr.write(`warden serve: expiring approvals: ${describeError(e)}\n`),
  });
  let server!: ServerType;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, port: options.port ?? 8787, hostname: options.hostname ?? '127.0.0.1' }, (info) => resolve(info.port));
  });
  return {
    url: `http://${options.hostname ?? '127.0.0.1'}:${port}`,
    executor,
    close: () =>
      new Promise<void>((resolve) => {
        void sweeper.stop();
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
