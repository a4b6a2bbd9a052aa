/**
 * The buffer between a run that streams text and a reader of `textStream`. The run never waits
 * for the reader: deltas queue up to `maxChars` unread characters, and past that they are dropped
 * and counted (`dropped`), so a slow or absent reader costs bounded memory and never holds the run.
 * The run's full answer is always in its result.
 */
export interface TextBuffer {
  push(delta: string): void;
  /** No more text: the iterator ends, or throws `error` once what was buffered has been read. */
  end(error?: unknown): void;
  readonly iterable: AsyncIterable<string>;
  /** Characters dropped because the reader fell more than `maxChars` behind. */
  readonly dropped: number;
}

/** Unread characters a `warden.stream` reader may fall behind by before deltas are dropped: 1 MiB. */
export const DEFAULT_MAX_BUFFERED_CHARS = 1 << 20;

export function textBuffer(maxChars = DEFAULT_MAX_BUFFERED_CHARS): TextBuffer {
  const queue: string[] = [];
  let queued = 0;
  let dropped = 0;
  let ended = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  async function* read(): AsyncGenerator<string> {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        queued -= next.length;
        yield next;
        continue;
      }
      if (ended) {
        if (failure) throw failure.error;
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  return {
    push(delta) {
      if (ended || delta === '') return;
      if (queued + delta.length > maxChars) {
        dropped += delta.length;
        return;
      }
      queue.push(delta);
      queued += delta.length;
      notify();
    },
    end(error) {
      if (ended) return;
      ended = true;
      if (error !== undefined) failure = { error };
      notify();
    },
    iterable: { [Symbol.asyncIterator]: read },
    get dropped() {
      return dropped;
    },
  };
}
