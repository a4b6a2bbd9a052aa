import type { AnyNewEvent, AnyRunEvent, RunMode, RunStatus, StopReason } from '../events.ts';
import type { Coordinator } from '../coordination.ts';

/**
 * The `Store` port. The runtime writes through it and nothing else; every implementation passes
 * the same conformance suite (`test/store/conformance.ts`).
 *
 * Rules every implementation keeps:
 * - `commit` is one transaction: all of it is written or none of it is.
 * - Events of a run get consecutive `seq` numbers starting at 1; a writer that is behind
 *   (`expectedSeq` ≠ the run's last seq) gets `STALE_WRITER` and nothing is written.
 * - A budget reservation that would take `spent + reserved` above the ceiling fails the whole
 *   commit with `BUDGET_EXCEEDED`; the check and the write are atomic across processes.
 * - Money is integer nano-USD.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  /** Creates the run's row, its budget (for a root run) and writes `run.submitted` as seq 1. */
  createRun(run: NewRun): Promise<void>;

  /** Appends one step atomically. See the rules above. */
  commit(batch: CommitBatch): Promise<void>;

  /**
   * Appends events written from outside the run's worker (a person's decision, a cancel), at the
   * next seq, whatever it is. With `intervention`, the intervention must still be pending: it is
   * decided in the same transaction, or `CONFLICT` is thrown and nothing is written.
   */
  appendExternal(runId: string, events: AnyNewEvent[], options?: ExternalAppendOptions): Promise<number>;

  /** The run's events with `seq > afterSeq`, in order. */
  loadEvents(runId: string, afterSeq?: number): Promise<AnyRunEvent[]>;

  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;

  getBudget(rootRunId: string): Promise<BudgetRecord | undefined>;

  listInterventions(filter?: InterventionFilter): Promise<InterventionRecord[]>;
  getIntervention(id: string): Promise<InterventionRecord | undefined>;

  /**
   * Takes the run's lease for `owner` when it is free, expired, already `owner`'s, or when `force`
   * is set (the caller has established that the holder is gone). Returns whether it was taken.
   */
  acquireLease(runId: string, owner: string, ttlMs: number, options?: { force?: boolean }): Promise<boolean>;
  /** Gives the lease back if `owner` holds it. */
  releaseLease(runId: string, owner: string): Promise<void>;

  /**
   * Takes the entity lock `key` (a tool's `lockKey`) for `holder` when it is free, expired,
   * already `holder`'s, or when `force` is set (the caller has established the holder is gone).
   * Calls holding the same key never overlap, across runs and processes.
   */
  acquireLock(key: string, holder: string, ttlMs: number, options?: { force?: boolean }): Promise<LockAttempt>;
  /** Gives the lock back if `holder` holds it. */
  releaseLock(key: string, holder: string): Promise<void>;

  /** A small record the server keeps (an API key, a kill switch, an idempotency key), or undefined. */
  getRecord(ns: string, key: string): Promise<unknown>;
  /**
   * Stores a record. With `ifAbsent`, an existing record is kept and returned instead (atomic:
   * two concurrent puts of one key store one value, and both callers see it).
   */
  putRecord(ns: string, key: string, value: unknown, options?: { ifAbsent?: boolean }): Promise<{ stored: boolean; value: unknown }>;
  listRecords(ns: string): Promise<{ key: string; value: unknown }[]>;
  /** Removes a record; says whether there was one. */
  deleteRecord(ns: string, key: string): Promise<boolean>;

  /**
   * Scheduler state (rate limits, breakers, the retry budget) shared by every process on this
   * store, when the store can share it; Warden keeps it in-process otherwise.
   */
  coordinator?(): Coordinator;

  /**
   * A worker's heartbeat: moves the expiry of a lease `owner` still holds to `ttlMs` from now.
   * Returns false (and changes nothing) once another owner has taken the run.
   */
  renewLease(runId: string, owner: string, ttlMs: number): Promise<boolean>;

  /**
   * Leases up to `limit` runs a worker may drive (see `CLAIMABLE_STATUSES`: new, decided or
   * orphaned root runs whose lease is free or lapsed) to `worker`, oldest first, and returns
   * them. Atomic across workers: no two concurrent claims return the same run while its lease is
   * live. A lapsed lease is taken over; the new owner resumes the run from its log.
   */
  claimRuns(worker: string, options: ClaimOptions): Promise<RunRecord[]>;

  /**
   * Calls `listener` when a run may have become claimable (submitted, or a person's decision
   * queued it again): across processes where the database can tell (PostgreSQL `LISTEN/NOTIFY`),
   * else for writes through this store only. A hint, not a guarantee: workers still poll.
   * Resolves to a function that stops the calls.
   */
  watchRunnable(listener: (runId: string) => void): Promise<() => Promise<void>>;

  close(): Promise<void>;

  /**
   * Optional: appends a record to an agent's own log — facts about an agent rather than one run,
   * such as a `drift.detected` alert. A store without it keeps no such records (the alert is still
   * printed and counted in metrics).
   */
  appendAgentEvent?(event: NewAgentEvent): Promise<AgentEventRecord>;
  /** Optional: an agent log's records, newest first; default 100. */
  listAgentEvents?(filter?: AgentEventFilter): Promise<AgentEventRecord[]>;
}

/** A record on an agent's own log (not a run's). */
export interface NewAgentEvent {
  agent: string;
  /** e.g. `drift.detected`. */
  type: string;
  /** ms since the epoch. */
  at: number;
  /** Schema version of `data`. */
  v: number;
  data: Record<string, unknown>;
}

export interface AgentEventRecord extends NewAgentEvent {
  /** Position in the store's agent logs, increasing. */
  id: number;
}

export interface AgentEventFilter {
  agent?: string;
  type?: string;
  /** Only records at or after this time (ms). */
  since?: number;
  limit?: number;
}

/** Statuses a worker may claim a run in (when its lease is free or lapsed). */
export const CLAIMABLE_STATUSES = Object.freeze(['queued', 'running'] as const satisfies readonly RunStatus[]);

export interface ClaimOptions {
  /** At most this many runs, ≥ 1. */
  limit: number;
  /** Length of the leases taken, ms. */
  leaseMs: number;
  /** Only runs of these agents (by name); default any agent. */
  agents?: readonly string[];
}

export interface NewRun {
  runId: string;
  agent: string;
  tenant: string;
  input: string;
  parentRunId: string | null;
  rootRunId: string;
  /** The ceiling of the root's budget; ignored for child runs, which share their root's. */
  ceilingNano: number;
  status: RunStatus;
  createdAt: number;
  /** The `run.submitted` event. */
  submitted: AnyNewEvent;
}

/** Columns of the run's row that a commit may change (the row is a projection of the log). */
export interface RunPatch {
  status?: RunStatus;
  stopReason?: StopReason | null;
  output?: string | null;
  error?: string | null;
  costNano?: number;
  steps?: number;
  toolCalls?: number;
}

export type BudgetOp =
  | { kind: 'reserve'; rootRunId: string; amountNano: number }
  | { kind: 'settle'; rootRunId: string; reservedNano: number; actualNano: number };

export interface NewIntervention {
  id: string;
  kind: InterventionKind;
  callId: string | null;
  tool: string | null;
  args: unknown;
  argsHash: string | null;
  reason: string;
  evidence: Record<string, unknown>;
  requestedAt: number;
}

export interface CommitBatch {
  runId: string;
  expectedSeq: number;
  events: AnyNewEvent[];
  run?: RunPatch;
  /** Applied in order, in the same transaction. */
  budget?: BudgetOp[];
  interventions?: NewIntervention[];
}

export interface ExternalAppendOptions {
  run?: RunPatch;
  intervention?: { id: string; status: InterventionStatus; decidedBy: string; decisionReason: string; decidedAt: number };
}

export interface RunRecord {
  runId: string;
  agent: string;
  tenant: string;
  /** `shadow` when the run records writes and deletes instead of making them; `rehearsal` for a rehearsal's run (from `run.submitted`). */
  mode: RunMode;
  status: RunStatus;
  stopReason: StopReason | null;
  parentRunId: string | null;
  rootRunId: string;
  input: string;
  output: string | null;
  error: string | null;
  /** This run's own spend (children are counted in their own rows and in the root's budget). */
  costNano: number;
  steps: number;
  toolCalls: number;
  lastSeq: number;
  createdAt: number;
  updatedAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
}

export type LockAttempt = { acquired: true } | { acquired: false; holder: string; expiresAt: number };

/** The run's mode as its `run.submitted` event records it. */
export function runMode(run: NewRun): RunMode {
  const mode = run.submitted.type === 'run.submitted' ? run.submitted.data.mode : undefined;
  return mode === 'shadow' || mode === 'rehearsal' ? mode : 'live';
}

/** Listings (`listRuns`, `listInterventions`) return at most this many rows unless the filter sets `limit`. */
export const DEFAULT_LIST_LIMIT = 100;

export interface RunFilter {
  agent?: string;
  tenant?: string;
  status?: RunStatus | RunStatus[];
  stopReason?: StopReason;
  rootRunId?: string;
  mode?: RunMode;
  /** Newest first; default 100. */
  limit?: number;
  /** Only runs created at or after this time (ms). */
  since?: number;
}

export interface BudgetRecord {
  rootRunId: string;
  ceilingNano: number;
  spentNano: number;
  reservedNano: number;
}

export type InterventionKind = 'approval' | 'escalation';
export type InterventionStatus = 'pending' | 'approved' | 'denied' | 'decided';

/** A question waiting for (or answered by) a person: an approval or an escalation. */
export interface InterventionRecord {
  id: string;
  runId: string;
  agent: string;
  tenant: string;
  kind: InterventionKind;
  status: InterventionStatus;
  callId: string | null;
  tool: string | null;
  args: unknown;
  argsHash: string | null;
  reason: string;
  evidence: Record<string, unknown>;
  requestedAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  decisionReason: string | null;
}

export interface InterventionFilter {
  kind?: InterventionKind;
  status?: InterventionStatus;
  runId?: string;
  tenant?: string;
  /** Oldest first; default 100. */
  limit?: number;
}
