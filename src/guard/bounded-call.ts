/** What a bounded call of user code gave: a value the caller accepts, or why there is none. */
export type BoundedAnswer<T> = { ok: true; value: T } | { ok: false; why: string };

/**
 * Calls user code (a policy predicate, a content guard) and awaits it for at most `timeoutMs`.
 * Anything but an answer `read` accepts — a throw (of anything), a rejection, an answer `read`
 * refuses, no answer in time — is a failure with its reason, for the caller to fail closed on.
 * `describe` words what was thrown.
 */
export async function callWithin<T>(
  call: () => unknown,
  timeoutMs: number,
  read: (value: unknown) => BoundedAnswer<T>,
  describe: (thrown: unknown) => string,
): Promise<BoundedAnswer<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<BoundedAnswer<T>>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, why: `gave no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const answer = (async (): Promise<BoundedAnswer<T>> => {
    try {
      return read(await call());
    } catch (e) {
      return { ok: false, why: `threw (${describe(e)})` };
    }
  })();
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}
