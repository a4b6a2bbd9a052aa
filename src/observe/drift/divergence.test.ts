import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chiSquareQuantile, driftThresholdBits, jsDivergenceBits } from './divergence.ts';

describe('Jensen–Shannon divergence', () => {
  it('is 0 for the same shape, 1 bit for disjoint ones, and symmetric', () => {
    assert.equal(jsDivergenceBits({ a: 3, b: 1 }, { a: 30, b: 10 }), 0);
    assert.equal(jsDivergenceBits({ a: 5 }, { b: 5 }), 1);
    const x = { a: 7, b: 3 };
    const y = { a: 2, b: 8 };
    assert.equal(jsDivergenceBits(x, y), jsDivergenceBits(y, x));
    assert.ok(Math.abs(jsDivergenceBits({ a: 7, b: 3 }, { a: 3, b: 7 }) - 0.1187) < 1e-3);
  });

  it('is defined when a category appears for the first time (where PSI is infinite)', () => {
    const js = jsDivergenceBits({ lookup: 100 }, { lookup: 90, delete_account: 10 });
    assert.ok(js > 0 && js < 0.1);
  });

  it('approximates the χ² quantile and sets a threshold that shrinks with more runs', () => {
    assert.ok(Math.abs(chiSquareQuantile(9, 3.719) - 33.72) < 1.5);
    assert.ok(driftThresholdBits(4, 300, 40) > driftThresholdBits(4, 3000, 400));
    assert.equal(driftThresholdBits(4, 1e6, 1e6), 0.05);
    assert.equal(driftThresholdBits(1, 100, 100), Infinity);
  });
});
