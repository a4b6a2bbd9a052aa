/**
 * The deadline of one model or tool call. Its timer is ref'd on purpose: a call that never answers
 * must still end with its timeout recorded, and an unref'd timer (`AbortSignal.timeout`) lets Node
 * exit first when nothing else keeps the process alive (exit 13, the run left `running`). `clear()`
 * it as soon as the call returns, so a finished call keeps nothing alive.
 *
 * @example
 * const deadline = callDeadline(tool.timeoutMs, ctx.signal);
 * try { await tool.execute(args, { signal: deadline.signal }) } finally { deadline.clear() }
 */
export interface CallDeadline {
  /** Aborts with a `TimeoutError` after the time, or with the outer signal's reason. */
  readonly signal: AbortSignal;
  clear(): void;
}

export function callDeadline(ms: number, outer: AbortSignal): CallDeadline {
  const controller = new AbortController();
  // One listener on the outer signal, removed in `clear()`: `AbortSignal.any` would do the same
  // with weak references and a composite signal per call (measurably dearer on the hot path).
  const follow = (): void => controller.abort(outer.reason);
  if (outer.aborted) follow();
  else outer.addEventListener('abort', follow, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException(`The call did not finish within ${ms} ms`, 'TimeoutError')), ms);
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      outer.removeEventListener('abort', follow);
    },
  };
}
