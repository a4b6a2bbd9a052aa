import type { Coordinator } from '../coordination.ts';
import type { Conversations } from './conversations.ts';
import type { Ledger } from './ledger.ts';
import type { Leases } from './leases.ts';
import type { Records } from './records.ts';
import type { Retention } from './retention.ts';
import type { RunFeed } from './run-feed.ts';
import type { RunLog } from './run-log.ts';
import type { Webhooks } from './webhooks.ts';

export * from './conversations.ts';
export * from './ledger.ts';
export * from './leases.ts';
export * from './records.ts';
export * from './retention.ts';
export * from './run-feed.ts';
export * from './run-log.ts';
export * from './webhooks.ts';

/**
 * The `Store` port: the run log, the ledger, leases and locks, records, webhooks, retention and conversations (one file
 * each in this folder). The runtime writes through it and nothing else; every implementation passes the
 * same conformance suite (`test/store/conformance.ts`).
 *
 * Rules every implementation keeps:
 * - `commit` is one transaction: all of it is written or none of it is.
 * - Events of a run get consecutive `seq` numbers starting at 1; a writer that is behind
 *   (`expectedSeq` ≠ the run's last seq) gets `STALE_WRITER` and nothing is written.
 * - A budget reservation that would take `spent + reserved` above the ceiling fails the whole
 *   commit with `BUDGET_EXCEEDED`; the check and the write are atomic across processes.
 * - Money is integer nano-USD; times are ms since the epoch; lengths (`ttlMs`) are ms.
 */
export interface Store extends RunLog, Ledger, Leases, Records, Webhooks, Retention, Conversations {
  readonly kind: 'sqlite' | 'postgres';

  /**
   * Scheduler state (rate limits, breakers, the retry budget) shared by every process on this
   * store, when the store can share it; Warden keeps it in-process otherwise.
   */
  coordinator?(): Coordinator;

  /**
   * Notices of other processes' commits to a run, as they commit (see `RunFeed`), when the store
   * has a channel between processes; without it, live views poll for other processes' writes.
   */
  followRun?: RunFeed['followRun'];

  close(): Promise<void>;
}
