import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WardenError } from '../core/errors.ts';
import { endsRun, escapedErrorInfo } from './escaped-error.ts';

describe('escapedErrorInfo', () => {
  it('keeps a WardenError its own code', () => {
    assert.deepEqual(escapedErrorInfo(new WardenError('INVALID_CONFIG', 'bad agent')), { code: 'INVALID_CONFIG', message: 'bad agent' });
  });

  it('calls a thrown non-Error value a failed callback and says what it was', () => {
    const info = escapedErrorInfo(Symbol('nope'), 'at refund c1 (ready)');
    assert.equal(info.code, 'CALLBACK_FAILED');
    assert.match(info.message, /A thrown symbol escaped .*refund c1.*Symbol\(nope\)/);
  });

  it('calls an Error thrown inside Warden source internal, naming the frame', () => {
    const info = escapedErrorInfo(new TypeError('oops'));
    assert.equal(info.code, 'INTERNAL'); // this test file lives in src/
    assert.match(info.message, /TypeError escaped .*escaped-error\.test\.ts.*oops/);
  });

  it('leaves store and lease errors to the next session', () => {
    assert.equal(endsRun(new WardenError('STORE_UNAVAILABLE', 'down')), false);
    assert.equal(endsRun(new WardenError('STALE_WRITER', 'taken')), false);
    assert.equal(endsRun('boom'), true);
  });
});
