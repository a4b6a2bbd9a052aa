import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { FollowOptions, RunFollow, RunWatcher } from '../../core/ports/store.ts';
import type { PgListener, Subscription } from './notifier.ts';

/** How long a follow row stays good without renewal, s; renewed every third of it. */
export const FOLLOW_TTL_S = 30;

/**
 * `followRun` on PostgreSQL. A commit sends `pg_notify` (inside its own statement, so only a
 * commit that commits is told) only while someone follows the run: a row in `followed_runs`
 * whose `until` is in the future. That keeps most commits off NOTIFY, which serializes the
 * commits that use it (each holds a database-wide lock from its notify to its WAL flush), so
 * unwatched runs keep PostgreSQL's group commit.
 *
 * Order makes it gap-free: the follower listens, writes its row, and only then reads the log;
 * every commit that reads the row after that notifies, and every commit before it is in the
 * log it reads. The row is renewed every 10 s (`FOLLOW_TTL_S` / 3); while renewal or the
 * listening connection fails, followers hear `live(false)` and poll.
 */
export class PgRunFeed {
  readonly #pool: pg.Pool;
  readonly #listener: PgListener;
  readonly #table: string;
  readonly #id = `f_${randomBytes(6).toString('hex')}`;
  readonly #runs = new Map<string, Set<RunWatcher>>();
  /** Full followers per run: the runs whose commits must announce themselves (a row each). */
  readonly #rowed = new Map<string, number>();
  readonly #sub: Subscription;
  /** The feed's writes to `followed_runs`, one after another, so a stop's delete never overtakes a follow's insert. */
  #writes: Promise<boolean> = Promise.resolve(true);
  #renew: NodeJS.Timeout | null = null;
  #rowsOk = true;
  #live = false;

  constructor(pool: pg.Pool, listener: PgListener, schema: string, channel: string) {
    this.#pool = pool;
    this.#listener = listener;
    this.#table = `${schema}.followed_runs`;
    this.#sub = {
      channel,
      notice: (payload) => this.#notice(payload),
      state: (live) => {
        if (!live) return this.#setLive();
        // The rows may have lapsed while the connection was down: renew before saying "live".
        this.#renewAll().finally(() => this.#setLive());
      },
    };
  }

  async follow(runId: string, watcher: RunWatcher, options: FollowOptions = {}): Promise<RunFollow> {
    const rowed = options.externalOnly !== true;
    const first = this.#runs.size === 0;
    const watchers = this.#runs.get(runId) ?? new Set<RunWatcher>();
    this.#runs.set(runId, watchers);
    watchers.add(watcher);
    if (first) {
      await this.#listener.add(this.#sub, true);
      this.#renew ??= setInterval(() => void this.#renewAll().then(() => this.#setLive()), (FOLLOW_TTL_S * 1000) / 3);
      this.#renew.unref();
    }
    if (rowed) {
      this.#rowed.set(runId, (this.#rowed.get(runId) ?? 0) + 1);
      const written = await this.#write(
        `INSERT INTO ${this.#table} (run_id, follower, until) VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (run_id, follower) DO UPDATE SET until = EXCLUDED.until`,
        [runId, this.#id, FOLLOW_TTL_S],
      );
      if (!written) this.#rowsOk = false;
    }
    this.#setLive();
    let stopped = false;
    const feed = this;
    return {
      get live() {
        return !stopped && feed.#live;
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await this.#unfollow(runId, watcher, rowed);
      },
    };
  }

  close(): void {
    if (this.#renew) clearInterval(this.#renew);
    this.#renew = null;
    this.#runs.clear();
    this.#rowed.clear();
    this.#live = false;
    this.#listener.remove(this.#sub);
  }

  async #unfollow(runId: string, watcher: RunWatcher, rowed: boolean): Promise<void> {
    const watchers = this.#runs.get(runId);
    if (!watchers?.delete(watcher)) return;
    if (watchers.size === 0) this.#runs.delete(runId);
    if (this.#runs.size === 0) this.close();
    if (!rowed) return;
    const left = (this.#rowed.get(runId) ?? 1) - 1;
    if (left > 0) return void this.#rowed.set(runId, left);
    this.#rowed.delete(runId);
    await this.#write(`DELETE FROM ${this.#table} WHERE run_id = $1 AND follower = $2`, [runId, this.#id]);
  }

  /** Renews this feed's rows and clears others' long-lapsed ones; false when the database refused. */
  async #renewAll(): Promise<void> {
    const runs = [...this.#rowed.keys()];
    if (runs.length === 0) return;
    this.#rowsOk = await this.#write(
      `WITH gone AS (DELETE FROM ${this.#table} WHERE until < now() - make_interval(secs => $3 * 2))
       INSERT INTO ${this.#table} (run_id, follower, until) SELECT r, $2, now() + make_interval(secs => $3) FROM unnest($1::text[]) AS r
       ON CONFLICT (run_id, follower) DO UPDATE SET until = EXCLUDED.until`,
      [runs, this.#id, FOLLOW_TTL_S],
    );
  }

  /** Queues a write after the feed's others; resolves whether it succeeded. */
  #write(text: string, values: unknown[]): Promise<boolean> {
    const done = this.#writes.then(() =>
      this.#pool.query(text, values).then(
        () => true,
        () => false,
      ),
    );
    this.#writes = done;
    return done;
  }

  /** Tells every watcher when notices start or stop flowing (after a change only). */
  #setLive(): void {
    const live = this.#listener.live && this.#rowsOk && this.#runs.size > 0;
    if (live === this.#live) return;
    this.#live = live;
    for (const watchers of this.#runs.values()) {
      for (const w of watchers) {
        try {
          w.live(live);
        } catch {
          // A watcher's failure is its own.
        }
      }
    }
  }

  /** `<seq> <runId>`; a bare `<seq>` (a run id too long for a notice) wakes every watcher. */
  #notice(payload: string): void {
    const space = payload.indexOf(' ');
    const seq = Number(space < 0 ? payload : payload.slice(0, space));
    const targets = space < 0 ? [...this.#runs.values()] : [this.#runs.get(payload.slice(space + 1))];
    for (const watchers of targets) {
      for (const w of watchers ?? []) {
        try {
          w.commit(space < 0 ? 0 : seq);
        } catch {
          // A watcher's failure is its own.
        }
      }
    }
  }
}
