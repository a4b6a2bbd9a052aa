import type pg from 'pg';

/** How long to wait before listening again after the connection dropped, ms. */
const RECONNECT_MS = 1_000;

/** The channel a schema's "a run may be claimable" notices go on (a Postgres name: ≤ 63 bytes). */
export function runnableChannel(schema: string): string {
  return `warden_runnable_${schema}`.slice(0, 63);
}

/**
 * Holds one connection in `LISTEN` for the store's watchers, opened when the first watcher comes
 * and closed when the last leaves. If the connection drops it listens again a second later and
 * then calls every watcher once (with `''`), since notices sent in between are lost: the watcher
 * treats that as "look now". Notices are hints; workers poll as well.
 */
export class RunnableNotifier {
  readonly #pool: pg.Pool;
  readonly #channel: string;
  readonly #listeners = new Set<(runId: string) => void>();
  #client: pg.PoolClient | null = null;
  #connecting: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(pool: pg.Pool, channel: string) {
    this.#pool = pool;
    this.#channel = channel;
  }

  /** Adds a watcher; resolves once the connection listens (rejects if it cannot connect). */
  async add(listener: (runId: string) => void): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    try {
      await this.#listen();
    } catch (e) {
      this.#listeners.delete(listener);
      throw e;
    }
    return async () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#drop();
    };
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#drop();
  }

  #listen(): Promise<void> {
    if (this.#client || this.#closed) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = await this.#pool.connect();
    client.on('notification', (msg) => {
      if (msg.channel === this.#channel) this.#tell(msg.payload ?? '');
    });
    client.on('error', (e) => this.#lost(client, e));
    try {
      await client.query(`LISTEN "${this.#channel}"`);
    } catch (e) {
      client.release(e as Error);
      throw e;
    }
    if (this.#closed || this.#listeners.size === 0) {
      client.release();
      return;
    }
    this.#client = client;
  }

  #lost(client: pg.PoolClient, e: Error): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.release(e);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#listeners.size === 0 || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#listen().then(
        () => this.#tell(''),
        () => this.#schedule(),
      );
    }, RECONNECT_MS);
    this.#retry.unref();
  }

  #drop(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    const client = this.#client;
    this.#client = null;
    // Releasing with an error destroys the connection, which ends the LISTEN with it.
    client?.release(true);
  }

  #tell(runId: string): void {
    for (const listener of this.#listeners) {
      try {
        listener(runId);
      } catch {
        // A watcher's failure is its own.
      }
    }
  }
}
