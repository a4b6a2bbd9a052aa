import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { callDeadline } from './call-timer.ts';

describe('callDeadline', () => {
  it('aborts with a TimeoutError when the time is up', async () => {
    const deadline = callDeadline(5, new AbortController().signal);
    await new Promise((r) => deadline.signal.addEventListener('abort', r, { once: true }));
    assert.equal((deadline.signal.reason as DOMException).name, 'TimeoutError');
    deadline.clear();
  });

  it("follows the run's signal, already aborted or aborted later, with its reason", () => {
    const early = new AbortController();
    early.abort(new Error('cancelled first'));
    const a = callDeadline(60_000, early.signal);
    assert.equal((a.signal.reason as Error).message, 'cancelled first');
    a.clear();

    const late = new AbortController();
    const b = callDeadline(60_000, late.signal);
    assert.equal(b.signal.aborted, false);
    late.abort(new Error('cancelled later'));
    assert.equal((b.signal.reason as Error).message, 'cancelled later');
    b.clear();
  });

  it("leaves nothing on the run's signal once cleared, however many calls came and went", () => {
    const run = new AbortController();
    const calls = Array.from({ length: 50 }, () => callDeadline(60_000, run.signal));
    assert.equal(getEventListeners(run.signal, 'abort').length, 50);
    for (const call of calls) call.clear();
    assert.equal(getEventListeners(run.signal, 'abort').length, 0);
    run.abort();
    assert.ok(
      calls.every((c) => !c.signal.aborted),
      'a cleared call no longer follows the run',
    );
  });
});
