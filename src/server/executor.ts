import type { Agent } from '../agent/agent.ts';
import { describeError } from '../errors.ts';
import type { Warden } from '../runtime/warden.ts';
import type { AgentCatalog } from '../scheduler/agent-catalog.ts';

/** Where the server sends runs to be driven: its own process, or (on PostgreSQL) `warden worker`s. */
export interface RunExecutor {
  /** Asks for the run to be driven (it may already be); returns at once. */
  enqueue(runId: string): void;
  /** Resolves once nothing is being driven (tests, shutdown). */
  idle(): Promise<void>;
}

/** Leaves execution to `warden worker` processes on the same store (they claim queued runs). */
export const WORKERS_EXECUTE: RunExecutor = { enqueue: () => {}, idle: async () => {} };

/**
 * Drives runs in this process, at most `concurrency` at once, in arrival order. A run asked for
 * twice is driven once (then again only if asked after it parked).
 */
export function createInProcessExecutor(warden: Warden, agents: AgentCatalog, options: { concurrency?: number; onError?: (e: unknown, runId: string) => void } = {}): RunExecutor {
  const concurrency = options.concurrency ?? 8;
  const queue: string[] = [];
  const active = new Set<string>();
  const waiting = new Set<string>();
  let idleWaiters: (() => void)[] = [];

  const pump = () => {
    while (active.size < concurrency && queue.length) {
      const runId = queue.shift()!;
      waiting.delete(runId);
      if (active.has(runId)) continue;
      active.add(runId);
      void drive(runId).finally(() => {
        active.delete(runId);
        pump();
        if (active.size === 0 && queue.length === 0) {
          for (const w of idleWaiters) w();
          idleWaiters = [];
        }
      });
    }
  };
  const drive = async (runId: string) => {
    try {
      const record = await warden.store.getRun(runId);
      if (!record) return;
      const agent: Agent = await agents.agentFor(record);
      await warden.execute(agent, runId);
    } catch (e) {
      (options.onError ?? ((err: unknown, id: string) => process.stderr.write(`warden serve: run ${id}: ${describeError(err)}\n`)))(e, runId);
    }
  };
  return {
    enqueue(runId) {
      if (waiting.has(runId)) return;
      waiting.add(runId);
      queue.push(runId);
      pump();
    },
    idle() {
      if (active.size === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },
  };
}
