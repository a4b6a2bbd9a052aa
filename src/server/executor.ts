import type { Agent } from '../agent/agent.ts';
import { describeError } from '../core/errors.ts';
import type { Warden } from '../runtime/warden.ts';
import { TERMINAL_STATUSES } from '../core/events.ts';
import { releaseNextTurn } from '../runtime/conversation-turns.ts';
import type { AgentCatalog } from '../scheduler/agent-catalog.ts';

/** Where the server sends runs to be driven: its own process, or (on PostgreSQL) `warden worker`s. */
export interface RunExecutor {
  /** Asks for the run to be driven (it may already be); returns at once. */
  enqueue(runId: string): void;
  /** Resolves once nothing is being driven (tests, shutdown). */
  idle(): Promise<void>;
}

/** The events that end a run. */
const ENDINGS: ReadonlySet<string> = new Set(['run.completed', 'run.failed', 'run.stopped', 'run.cancelled']);

/** Leaves execution to `warden worker` processes on the same store (they claim queued runs). */
export const WORKERS_EXECUTE: RunExecutor = { enqueue: () => {}, idle: async () => {} };

/**
 * Drives runs in this process, at most `concurrency` at once, in arrival order. A run asked for
 * twice is driven once. A run asked for while it is being driven (a decision recorded before the
 * session that parked it has returned) is driven again as soon as that session ends; and after
 * every session that ended parked or finished, the store is read once more, so a run a decision
 * put back to `queued` in the meantime is never left there.
 */
export function createInProcessExecutor(
  warden: Warden,
  agents: AgentCatalog,
  options: { concurrency?: number; onError?: (e: unknown, runId: string) => void } = {},
): RunExecutor {
  const concurrency = options.concurrency ?? 8;
  const queue: string[] = [];
  const active = new Set<string>();
  const waiting = new Set<string>();
  /** Runs asked for while they were being driven. */
  const again = new Set<string>();
  let idleWaiters: (() => void)[] = [];

  const enqueue = (runId: string) => {
    if (active.has(runId)) {
      again.add(runId);
      return;
    }
    if (waiting.has(runId)) return;
    waiting.add(runId);
    queue.push(runId);
    pump();
  };
  // A conversation's turn that ended — driven here, cancelled, or closed by a person's decision —
  // frees the turn queued behind it: drive that one next.
  warden.subscribe(({ events, state }) => {
    const c = state.conversation;
    if (!c || state.parentRunId !== null || !TERMINAL_STATUSES.has(state.status) || !events.some((e) => ENDINGS.has(e.type))) return;
    releaseNextTurn(warden.store, c.id, c.turn).then(
      (next) => next && enqueue(next),
      () => {}, // the hold lapses on its own
    );
  });
  const pump = () => {
    while (active.size < concurrency && queue.length) {
      const runId = queue.shift()!;
      waiting.delete(runId);
      active.add(runId);
      void drive(runId).then((requeued) => {
        active.delete(runId);
        if (again.delete(runId) || requeued) enqueue(runId);
        pump();
        if (active.size === 0 && queue.length === 0) {
          for (const w of idleWaiters) w();
          idleWaiters = [];
        }
      });
    }
  };
  /** Drives one session; true when the run is back in `queued` although the session ended parked or finished. */
  const drive = async (runId: string): Promise<boolean> => {
    try {
      const record = await warden.store.getRun(runId);
      if (!record) return false;
      const agent: Agent = await agents.agentFor(record);
      const result = await warden.execute(agent, runId);
      if (result.status === 'queued') return false; // never re-drive a session that stopped without moving on
      return (await warden.store.getRun(runId))?.status === 'queued';
    } catch (e) {
      (options.onError ?? ((err: unknown, id: string) => process.stderr.write(`warden serve: run ${id}: ${describeError(err)}\n`)))(e, runId);
      return false;
    }
  };
  return {
    enqueue,
    idle() {
      if (active.size === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },
  };
}
