/**
 * The text side channel: what a model call streams, handed to listeners as it arrives. Deltas are
 * never events in the run's log (they would bloat it); the committed `model.called` event stays
 * the truth, and a run's log is the same whether anyone listened or not.
 */

/** One piece of text a model call streamed. */
export interface TextDelta {
  runId: string;
  /** The step (model call) it belongs to, as in `model.called`. */
  step: number;
  /** Which attempt at that step; a retried call streams its text again under the next attempt. */
  attempt: number;
  delta: string;
}

/**
 * Hears text as it streams. Called synchronously, so it must not block; a listener that throws
 * is detached for the rest of that run's session, and the run goes on as if nobody listened.
 */
export type TextListener = (delta: TextDelta) => void;

/** The channel of one session: whether anyone listens (then the call streams), and where deltas go. */
export interface TextChannel {
  listening(): boolean;
  push(delta: TextDelta): void;
}

/**
 * A channel over one session's own listener (`onText` of `run`/`execute`) and the Warden's
 * subscribers (`subscribeText`, the server's relay); `always` streams even with none. Each is called in its own try: one that
 * throws is detached (the session's own) or skipped (a subscriber), never the run's problem.
 */
export function textChannel(own: TextListener | undefined, subscribers: ReadonlySet<TextListener>, always = false): TextChannel {
  let listener = own;
  return {
    listening: () => always || listener !== undefined || subscribers.size > 0,
    push(delta) {
      if (listener) {
        try {
          listener(delta);
        } catch {
          listener = undefined;
        }
      }
      for (const subscriber of subscribers) {
        try {
          subscriber(delta);
        } catch {
          // A subscriber's failure is its own; the run and the other subscribers go on.
        }
      }
    },
  };
}
