import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shouldStream, textPrinter } from './stream-text.ts';

describe('warden run text streaming', () => {
  it('streams by default in a terminal, never with --json, and as --stream / --no-stream say otherwise', () => {
    assert.equal(shouldStream({}, true), true);
    assert.equal(shouldStream({}, false), false);
    assert.equal(shouldStream({}, undefined), false);
    assert.equal(shouldStream({ json: true }, true), false);
    assert.equal(shouldStream({ json: true, stream: true }, true), false);
    assert.equal(shouldStream({ stream: false }, true), false);
    assert.equal(shouldStream({ stream: true }, false), true);
  });

  it('puts each model call on its own line, marks a retried call, and ends with a blank line', () => {
    let out = '';
    const printer = textPrinter({ write: (t: string) => (out += t) });
    const d = (step: number, attempt: number, delta: string) => printer.onText({ runId: 'r', step, attempt, delta });
    d(1, 1, 'Look');
    d(1, 1, 'ing.');
    d(1, 2, 'Looking.');
    d(2, 1, 'Done.');
    printer.end();
    assert.equal(out, 'Looking.\n(retry) Looking.\nDone.\n\n');
  });
});
