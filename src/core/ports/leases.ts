import type { RunStatus } from '../events.ts';
import type { RunRecord } from './run-log.ts';

/**
 * The leases-and-locks part of the `Store` port: which worker drives a run (a lease with an
 * expiry, renewed by heartbeats) and which call holds an entity lock. Lengths are ms; expiries
 * are ms since the epoch, rounded up.
 */
export interface Leases {
  /**
   * Takes the run's lease for `owner` when it is free, expired, already `owner`'s, or when `force`
   * is set (the caller has established that the holder is gone). Returns whether it was taken.
   */
  acquireLease(runId: string, owner: string, ttlMs: number, options?: { force?: boolean }): Promise<boolean>;
  /** Gives the lease back if `owner` holds it. */
  releaseLease(runId: string, owner: string): Promise<void>;

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

  /**
   * Takes the entity lock `key` (a tool's `lockKey`) for `holder` when it is free, expired,
   * already `holder`'s, or when `force` is set (the caller has established the holder is gone).
   * Calls holding the same key never overlap, across runs and processes.
   */
  acquireLock(key: string, holder: string, ttlMs: number, options?: { force?: boolean }): Promise<LockAttempt>;
  /** Gives the lock back if `holder` holds it. */
  releaseLock(key: string, holder: string): Promise<void>;
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

/** A refused lock names its holder and when the holder's lock expires (ms since the epoch). */
export type LockAttempt = { acquired: true } | { acquired: false; holder: string; expiresAt: number };
