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

  it('leaves no abort listener behind once the work settles', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 3; i++) assert.equal(await raceAbort(Promise.resolve(i), controller.signal), i);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});
