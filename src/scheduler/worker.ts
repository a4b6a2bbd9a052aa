import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isWardenError, WardenError } from '../core/errors.ts';
import { newEvent } from '../core/events.ts';
import type { RunResult } from '../runtime/run-result.ts';
import { startApprovalSweeper } from './approval-sweeper.ts';
import { createWarden, type Warden, type WardenOptions } from '../runtime/warden.ts';
import type { RunRecord, Store } from '../core/ports/store.ts';
import type { AgentCatalog } from './agent-catalog.ts';

export interface WorkerOptions {
  store: Store;
  /** Where the agent of each claimed run comes from (`agentsFromDir`, `agentsByRecordedPath`). */
  agents: AgentCatalog;
  /** Runs driven at once. Default 4. */
  concurrency?: number;
  /** Lease length, ms: how long a run stays with a worker that stopped heartbeating. Default 30 s. */
  leaseMs?: number;
  /** Longest wait between two claims when nothing wakes the worker, ms. Default 1 s. */
  pollMs?: number;
  /** This worker's name in leases and traces. Default `host:pid:random`. */
  id?: string;
  /** Runs of one tenant, or of one agent, this worker drives at once (fairness under load). */
  perTenant?: number;
  perAgent?: number;
  /** Passed on to the Warden that drives the runs (sleep, clock, onEvent, scheduler). */
  warden?: Omit<WardenOptions, 'store' | 'worker' | 'leaseTtlMs'>;
  /** A run this worker drove ended or parked. */
  onRunEnd?: (result: RunResult) => void;
  /** Something went wrong that the worker survived (a store outage, a run that threw). */
  onError?: (error: unknown, runId?: string) => void;
}

/**
 * A worker process's loop: claims runs from the store (queued, decided, or orphaned by a worker
 * whose lease lapsed), drives up to `concurrency` of them at once, and claims again when a slot
 * frees, the store says a run became claimable (`watchRunnable`: `LISTEN/NOTIFY` on PostgreSQL),
 * or `pollMs` passes. A run taken over by another worker (its lease lapsed) is dropped quietly:
 * the store's `expectedSeq` check stops this worker's next write.
 *
 * @example
 * const worker = new Worker({ store, agents: await agentsFromDir('agents'), concurrency: 8 });
 * const done = worker.start();
 * process.once('SIGTERM', () => worker.stop());
 * await done;
 */
export class Worker {
  readonly id: string;
  readonly #store: Store;
  readonly #agents: AgentCatalog;
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #warden: Warden;
  readonly #onRunEnd?: (result: RunResult) => void;
  readonly #onError: (error: unknown, runId?: string) => void;
  readonly #active = new Map<string, Promise<void>>();
  readonly #activeRuns = new Map<string, RunRecord>();
  readonly #perTenant?: number;
  readonly #perAgent?: number;
  #loop: Promise<void> | null = null;
  #stopping = false;
  #poked = false;
  #wake: (() => void) | null = null;

  constructor(options: WorkerOptions) {
    this.#concurrency = positive(options.concurrency ?? 4, 'concurrency');
    this.#leaseMs = positive(options.leaseMs ?? 30_000, 'leaseMs');
    this.#pollMs = positive(options.pollMs ?? 1_000, 'pollMs');
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#store = options.store;
    this.#agents = options.agents;
    this.#onRunEnd = options.onRunEnd;
    this.#onError = options.onError ?? (() => {});
    if (options.perTenant !== undefined) this.#perTenant = positive(options.perTenant, 'perTenant');
    if (options.perAgent !== undefined) this.#perAgent = positive(options.perAgent, 'perAgent');
    this.#warden = createWarden({ ...options.warden, store: options.store, worker: this.id, leaseTtlMs: this.#leaseMs });
  }

  /** Runs being driven now. */
  get active(): number {
    return this.#active.size;
  }

  /** Starts the loop; resolves once `stop()` was called and every run in hand has ended or parked. */
  start(): Promise<void> {
    this.#loop ??= this.#run();
    return this.#loop;
  }

  /** Stops claiming and waits for the runs in hand. Runs not yet claimed stay queued for others. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#poke();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const unwatch = await this.#store
      .watchRunnable(() => this.#poke())
      .catch((e: unknown) => {
        this.#onError(e);
        return null; // polling alone still finds every run
      });
    // Approvals past their deadline expire here too; the runs they free come back through claimRuns.
    const sweeper = startApprovalSweeper({ warden: this.#warden, store: this.#store, intervalMs: this.#pollMs, onError: (e) => this.#onError(e) });
    try {
      while (!this.#stopping) {
        const free = this.#concurrency - this.#active.size;
        if (free > 0) {
          try {
            const claimed = await this.#store.claimRuns(this.id, { limit: free, leaseMs: this.#leaseMs, agents: this.#agents.names });
            for (const run of claimed) {
              if (this.#overCap(run))
                await this.#store.releaseLease(run.runId, this.id).catch(() => {}); // left for later or another worker
              else this.#drive(run);
            }
          } catch (e) {
            this.#onError(e);
          }
        }
        await this.#nap();
      }
      await Promise.all(this.#active.values());
    } finally {
      await sweeper.stop();
      await unwatch?.().catch(() => {});
    }
  }

  /** True when driving `run` now would exceed this worker's per-tenant or per-agent limit. */
  #overCap(run: RunRecord): boolean {
    let tenant = 0;
    let agent = 0;
    for (const r of this.#activeRuns.values()) {
      if (r.tenant === run.tenant) tenant++;
      if (r.agent === run.agent) agent++;
    }
    return (this.#perTenant !== undefined && tenant >= this.#perTenant) || (this.#perAgent !== undefined && agent >= this.#perAgent);
  }

  #drive(run: RunRecord): void {
    this.#activeRuns.set(run.runId, run);
    const driving = this.#execute(run).finally(() => {
      this.#activeRuns.delete(run.runId);
      this.#active.delete(run.runId);
      this.#poke();
    });
    this.#active.set(run.runId, driving);
  }

  async #execute(run: RunRecord): Promise<void> {
    try {
      const agent = await this.#agents.agentFor(run).catch(async (e: unknown) => {
        if (!isWardenError(e, 'AGENT_LOAD_FAILED')) throw e;
        await this.#fail(run, e);
        return null;
      });
      if (!agent) return;
      // Drive first, then tell: `this.#onRunEnd?.(await …)` would skip the drive when no one listens.
      const result = await this.#warden.execute(agent, run.runId);
      this.#onRunEnd?.(result);
    } catch (e) {
      // Another worker took the run over (our lease lapsed): it carries on from the log.
      if (isWardenError(e, 'STALE_WRITER') || isWardenError(e, 'LEASE_HELD')) return;
      this.#onError(e, run.runId);
      // Keep the run back for one lease length, so a run that fails to drive is not retried hot.
      await this.#store.acquireLease(run.runId, this.id, this.#leaseMs).catch(() => {});
    }
  }

  /** Ends a run whose agent cannot be loaded, so it does not sit claimable forever. */
  async #fail(run: RunRecord, e: WardenError): Promise<void> {
    const error = { code: e.code, message: e.message };
    try {
      await this.#store.commit({
        runId: run.runId,
        expectedSeq: run.lastSeq,
        events: [newEvent('run.failed', { error })],
        run: { status: 'failed', error: `${error.code}: ${error.message}` },
      });
      this.#onError(e, run.runId);
    } finally {
      await this.#store.releaseLease(run.runId, this.id).catch(() => {});
    }
  }

  #poke(): void {
    this.#poked = true;
    this.#wake?.();
  }

  /** Waits for a poke (a wake-up, a freed slot, stop) or `pollMs`, whichever comes first. */
  async #nap(): Promise<void> {
    if (this.#poked) {
      this.#poked = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#pollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = null;
    this.#poked = false;
  }
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new WardenError('INVALID_ARGUMENT', `Worker ${what} must be a positive number, got ${value}`);
  return value;
}
