import { statSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';

/**
 * Keeps a store's WAL small without stalling the event loop. SQLite's automatic checkpoint runs
 * inside the commit that crosses its threshold, on the writing connection: copying the WAL back
 * into the database file (and syncing it) took 2–18 ms on the thread that drives every run. The
 * store turns it off (`wal_autocheckpoint = 0`) and this moves the copy to a worker thread with a
 * connection of its own, running `PASSIVE` checkpoints, which never take the write lock: the writer
 * never waits for them. Once a checkpoint has copied every frame, the writer's next transaction
 * starts the WAL over from the top, and `journal_size_limit` truncates the file back.
 *
 * The thread starts only once the WAL has grown past `thresholdBytes` (a short-lived store, a CLI
 * command, most tests, never need one). The WAL starts over only when a write begins after a
 * checkpoint copied every frame; a writer that never pauses, or a disk whose syncs are slower than
 * the writes, can keep the thread from ever catching up. So the writer checkpoints inline once the
 * WAL passes sixteen thresholds (64 MiB by default): the WAL never grows without bound, and that
 * stall is the price only of a disk that cannot keep up. Only a reader that holds one snapshot open
 * for ever (SQLite cannot copy frames a reader may still need) can keep it from shrinking.
 */

/** Default WAL size past which the background thread starts checkpointing (SQLite's own default is 1,000 pages, ~4 MiB). */
export const DEFAULT_CHECKPOINT_BYTES = 4 * 1024 * 1024;

/** How often the thread checkpoints, ms. */
const INTERVAL_MS = 100;

/** Writes between two looks at the WAL's size (a stat is a system call; a commit is tens of µs). */
const CHECK_EVERY = 16;

/**
 * The worker thread's code, as a script: the package ships compiled JavaScript and the sources run
 * as TypeScript, and an inline script needs neither a file path nor a loader.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 0');
db.exec('PRAGMA synchronous = ' + workerData.synchronous);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let runs = 0;
// The writer starts the WAL over only if, when its transaction begins, every frame has been copied.
// Frames written during a pass are left for the next one; passes shrink until one catches up.
const timer = setInterval(() => {
  try {
    for (let pass = 0; pass < 20; pass++) {
      const r = checkpoint.get();
      runs++;
      if (!r || r.busy || r.checkpointed >= r.log) break;
    }
  } catch {
    // Busy or a transient failure: the next tick tries again; the writer's hard limit bounds the WAL.
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.postMessage({ stopped: true, runs });
  parentPort.close();
});
`;

export interface CheckpointerOptions {
  /** The database file (its WAL is `${path}-wal`). */
  path: string;
  /** `NORMAL` or `FULL`: the thread syncs the database file as the store does. */
  synchronous: 'NORMAL' | 'FULL';
  thresholdBytes: number;
}

export class WalCheckpointer {
  readonly #walPath: string;
  readonly #options: CheckpointerOptions;
  readonly #hardLimitBytes: number;
  #writes = 0;
  #thread: Worker | null = null;
  #closed = false;

  constructor(db: DatabaseSync, options: CheckpointerOptions) {
    this.#options = options;
    this.#walPath = `${options.path}-wal`;
    this.#hardLimitBytes = Math.max(1024 * 1024, options.thresholdBytes * 16);
    // The thread checkpoints; the writer never does (but see `afterWrite`). On a reset, the WAL file
    // is truncated back to four thresholds instead of keeping its largest size for ever.
    db.exec('PRAGMA wal_autocheckpoint = 0');
    db.exec(`PRAGMA journal_size_limit = ${Math.floor(options.thresholdBytes * 4)}`);
  }

  /** Whether the background thread is running (tests, diagnostics). */
  get running(): boolean {
    return this.#thread !== null;
  }

  /** Called after each write transaction on the writing connection `db`. */
  afterWrite(db: DatabaseSync): void {
    if (++this.#writes % CHECK_EVERY !== 0 || this.#closed) return;
    const size = statSync(this.#walPath, { throwIfNoEntry: false })?.size ?? 0;
    if (size > this.#options.thresholdBytes && !this.#thread) this.#start();
    if (size > this.#hardLimitBytes) {
      // The thread has fallen this far behind (or cannot run): bound the WAL here, stall and all.
      try {
        db.exec('PRAGMA wal_checkpoint(PASSIVE)');
      } catch {
        // Busy: another connection is checkpointing; the next look tries again.
      }
    }
  }

  #start(): void {
    const thread = new Worker(THREAD, {
      eval: true,
      workerData: { path: this.#options.path, synchronous: this.#options.synchronous, intervalMs: INTERVAL_MS },
    });
    // Never what keeps a process alive: a store left open must not hang its process on exit.
    thread.unref();
    thread.on('error', () => {
      // A thread that fails to open the file leaves the checkpoints to the writer's hard limit.
      if (this.#thread === thread) this.#thread = null;
    });
    this.#thread = thread;
  }

  /** Stops the thread and waits for it to close its connection (at most a second, then it is terminated). */
  async close(): Promise<void> {
    this.#closed = true;
    const thread = this.#thread;
    this.#thread = null;
    if (!thread) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        thread.terminate().then(
          () => resolve(),
          () => resolve(),
        );
      }, 1_000);
      thread.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      thread.postMessage('stop');
    });
  }
}
