import type pg from 'pg';

/** First wait before listening again after the connection dropped, ms; doubled per failure up to `MAX_RECONNECT_MS`. */
export const FIRST_RECONNECT_MS = 100;
export const MAX_RECONNECT_MS = 5_000;
/** How often the listening connection is pinged, ms: a connection that died silently is noticed within about this long. */
const PING_MS = 15_000;

/** The channel a schema's "a run may be claimable" notices go on (a Postgres name: ≤ 63 bytes). */
export function runnableChannel(schema: string): string {
  return `warden_runnable_${schema}`.slice(0, 63);
}

/** The channel a schema's "a run has new events" notices go on (`<seq> <runId>`). */
export function commitsChannel(schema: string): string {
  return `warden_commits_${schema}`.slice(0, 63);
}

/** One party interested in a channel: its notices, and the connection's ups and downs. */
export interface Subscription {
  channel: string;
  notice(payload: string): void;
  /** The connection listens again (true: notices sent while it was down are lost) or dropped (false). */
  state?(live: boolean): void;
}

/**
 * Holds one pooled connection in `LISTEN` on every channel a subscriber wants, opened when the
 * first subscriber comes and closed when the last leaves. If the connection drops (or stops
 * answering a ping), subscribers hear `state(false)`; it listens again after a backoff (100 ms
 * doubling to 5 s), then they hear `state(true)`. Notices sent in between are lost, so a
 * subscriber treats `state(true)` as "look now".
 */
export class PgListener {
  readonly #pool: pg.Pool;
  readonly #channels: readonly string[];
  readonly #subs = new Set<Subscription>();
  #client: pg.PoolClient | null = null;
  #connecting: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;
  #ping: NodeJS.Timeout | null = null;
  #backoff = FIRST_RECONNECT_MS;
  #closed = false;

  /** `channels`: every channel this listener may serve (all are listened to on one connection). */
  constructor(pool: pg.Pool, channels: readonly string[]) {
    this.#pool = pool;
    this.#channels = channels;
  }

  /** Whether the connection listens now. */
  get live(): boolean {
    return this.#client !== null;
  }

  /** The backend pid of the listening connection (for tests that cut it), or null. */
  get pid(): number | null {
    return (this.#client as unknown as { processID?: number } | null)?.processID ?? null;
  }

  /**
   * Adds a subscriber and waits for the connection to listen. With `retry` false (the default) a
   * connection that cannot be made rejects and the subscriber is removed; with `retry` true it is
   * kept, resolves false, and hears `state(true)` once a later attempt listens.
   */
  async add(sub: Subscription, retry = false): Promise<boolean> {
    this.#subs.add(sub);
    try {
      await this.#listen();
      return this.live;
    } catch (e) {
      if (!retry) {
        this.#subs.delete(sub);
        throw e;
      }
      this.#schedule();
      return false;
    }
  }

  remove(sub: Subscription): void {
    this.#subs.delete(sub);
    if (this.#subs.size === 0) this.#drop();
  }

  close(): void {
    this.#closed = true;
    this.#subs.clear();
    this.#drop();
  }

  #listen(): Promise<void> {
    if (this.#client || this.#closed) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = await this.#pool.connect();
    client.on('notification', (msg) => this.#tell(msg.channel, msg.payload ?? ''));
    client.on('error', (e) => this.#lost(client, e));
    client.on('end', () => this.#lost(client, new Error('the listening connection ended')));
    try {
      for (const channel of this.#channels) await client.query(`LISTEN "${channel}"`);
    } catch (e) {
      client.release(e as Error);
      throw e;
    }
    if (this.#closed || this.#subs.size === 0) {
      client.release(true);
      return;
    }
    this.#client = client;
    this.#backoff = FIRST_RECONNECT_MS;
    this.#ping = setInterval(() => {
      const timeout = setTimeout(() => this.#lost(client, new Error('the listening connection stopped answering')), PING_MS);
      client.query('SELECT 1').then(
        () => clearTimeout(timeout),
        (e: Error) => {
          clearTimeout(timeout);
          this.#lost(client, e);
        },
      );
    }, PING_MS);
    this.#ping.unref();
  }

  #lost(client: pg.PoolClient, e: Error): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#stopPing();
    client.release(e);
    this.#state(false);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#subs.size === 0 || this.#retry) return;
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, MAX_RECONNECT_MS);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#listen().then(
        () => this.live && this.#state(true),
        () => this.#schedule(),
      );
    }, wait);
    this.#retry.unref();
  }

  #stopPing(): void {
    if (this.#ping) clearInterval(this.#ping);
    this.#ping = null;
  }

  #drop(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#stopPing();
    const client = this.#client;
    this.#client = null;
    // Releasing with an error destroys the connection, which ends the LISTEN with it.
    client?.release(true);
  }

  #tell(channel: string, payload: string): void {
    for (const sub of this.#subs) {
      if (sub.channel !== channel) continue;
      try {
        sub.notice(payload);
      } catch {
        // A subscriber's failure is its own.
      }
    }
  }

  #state(live: boolean): void {
    for (const sub of this.#subs) {
      try {
        sub.state?.(live);
      } catch {
        // A subscriber's failure is its own.
      }
    }
  }
}

/**
 * `watchRunnable` over a `PgListener`: each watcher hears the run id of every "may be claimable"
 * notice, and `''` once after a reconnect (notices sent in between are lost: "look now").
 * Notices are hints; workers poll as well.
 */
export async function watchRunnable(listener: PgListener, channel: string, watcher: (runId: string) => void): Promise<() => Promise<void>> {
  const sub: Subscription = { channel, notice: watcher, state: (live) => live && watcher('') };
  await listener.add(sub);
  return async () => listener.remove(sub);
}
