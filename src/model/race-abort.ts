/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts, even when `work`
 * never settles (a provider or tool that ignores its abort signal). The listener is removed after.
 */
export function raceAbort<T>(work: PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  const settled = Promise.resolve(work);
  if (!signal) return settled;
  // The work may still reject after the race is decided (or was never run): that is not unhandled.
  settled.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([settled, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}
