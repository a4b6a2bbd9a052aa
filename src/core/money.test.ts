import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatUsd, NANO_PER_USD, nanoToUsd, tokensToNano, usdToNano } from './money.ts';

describe('money in integer nano-USD', () => {
  it('maps a decimal dollar figure to exactly the nano-dollars it names', () => {
    assert.equal(usdToNano(0.1), 100_000_000);
    assert.equal(usdToNano(0.3), 300_000_000);
    assert.equal(usdToNano(1), NANO_PER_USD);
    assert.equal(usdToNano(0.000000001), 1);
    // Any figure written with at most nine decimals converts exactly, whatever its float noise.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 * NANO_PER_USD }), (nano) => usdToNano(Number((nano / NANO_PER_USD).toFixed(9))) === nano),
      { seed: 15, numRuns: 2_000 },
    );
  });

  it('rounds a fraction of a nano-dollar up, never down', () => {
    assert.equal(usdToNano(0.0000000001), 1);
    assert.equal(usdToNano(1.0000000005), 1_000_000_001);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1_000, noNaN: true }), (usd) => usdToNano(usd) * 1.000_000_001 + 1e-6 >= usd * NANO_PER_USD),
      { seed: 15 },
    );
  });

  it('round-trips nano-dollars through dollars', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (nano) => usdToNano(nanoToUsd(nano)) === nano),
      { seed: 15, numRuns: 2_000 },
    );
  });

  it('prices tokens per million, rounded up', () => {
    assert.equal(tokensToNano(1_000, 3), 3_000_000);
    assert.equal(tokensToNano(1, 0.15), 150);
    assert.equal(tokensToNano(1, 0.0001), 1, 'a tenth of a nano-dollar is charged as one');
    assert.equal(tokensToNano(0, 15), 0);
  });

  it('formats money for people, and exactly for logs', () => {
    assert.equal(formatUsd(2_500_000_000), '$2.50');
    assert.equal(formatUsd(42_000_000), '$0.0420');
    assert.equal(formatUsd(123_000), '$0.000123');
    assert.equal(formatUsd(0), '$0.0000');
    assert.equal(formatUsd(42_000_000, { exact: true }), '$0.0420 (42000000 nano-USD)');
  });
});
