/**
 * The run-feed part of the `Store` port (optional): tells a process, as they commit, about the
 * writes other processes make to a run it follows, so a live view need not poll. Only a store
 * with a channel between processes offers it (PostgreSQL `LISTEN/NOTIFY`); without one, readers
 * of another process's writes poll, and this process's own commits reach them in-process
 * (`Warden.subscribe`).
 *
 * A notice is a hint carrying the run's seq after the commit, never the events: the reader reads
 * the log after the last seq it has. Notices are delivered only for commits that committed, may
 * come twice or late, and are lost while the feed is down; `live(false)` says so (poll meanwhile),
 * and `live(true)` after a reconnect says "read the log now: notices sent meanwhile are gone".
 */
export interface RunFeed {
  /**
   * Follows `runId`: `watcher.commit(seq)` after each commit to it by any process that made its
   * last seq `seq`. Resolves once commits from now on will be told (or, when the feed is down,
   * with `live` false: then poll until `watcher.live(true)`). So a reader follows first, then reads
   * the log, then waits for notices, and misses nothing.
   */
  followRun(runId: string, watcher: RunWatcher, options?: FollowOptions): Promise<RunFollow>;
}

export interface FollowOptions {
  /**
   * Hear only writes from outside the run's worker (`appendExternal`: a decision, a cancel), which
   * are always announced, without asking the run's commits to announce themselves: what the
   * worker driving the run needs, at no cost to its commits. Notices of commits still come while
   * someone else follows the run fully.
   */
  externalOnly?: boolean;
}

export interface RunWatcher {
  /** Someone committed to the run; its last seq is now `seq` (0: unknown, read the log). */
  commit(seq: number): void;
  /** Notices stopped (`false`: poll) or flow again (`true`: read the log once, then stop polling). */
  live(live: boolean): void;
}

export interface RunFollow {
  /** Whether notices flow now (false: poll until `watcher.live(true)`). */
  readonly live: boolean;
  /** Stops following; no call to the watcher after it resolves. */
  stop(): Promise<void>;
}
