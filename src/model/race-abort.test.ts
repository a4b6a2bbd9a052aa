import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getEventListeners } from 'node:events';
import { raceAbort } from './race-abort.ts';

describe('raceAbort', () => {
  it('rejects with the abort reason when the work never settles', async () => {
    const controller = new AbortController();
    const raced = raceAbort(new Promise(() => {}), controller.signal);
    controller.abort(new DOMException('late', 'TimeoutError'));
    await assert.rejects(raced, { name: 'TimeoutError' });
  });

  it('leaves no unhandled rejection when the signal was aborted before the work rejects', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await assert.rejects(raceAbort(Promise.reject(new Error('late')), controller.signal), /cancelled/);
      // Node reports unhandled rejections once the microtasks drain, before the next macrotask runs.
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('leaves no abort listener behind once the work settles', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 3; i++) assert.equal(await raceAbort(Promise.resolve(i), controller.signal), i);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});
