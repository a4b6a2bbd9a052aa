/**
 * Money inside Warden is an integer count of nano-dollars (1e-9 USD), in the runtime, the event
 * log and both stores, so a ceiling check is exact: no floating-point drift across thousands of
 * small charges, and the store and the fold always agree on the same figure.
 *
 * Dollars come in through `usdToNano` and go out through `nanoToUsd` or `formatUsd`; nothing else
 * converts. Conversions round *up*: a price or a ceiling is never under-counted, and a dollar
 * figure written as a decimal (`0.1`) maps to the nano-dollars it names (100 000 000), not one more
 * from binary floating-point noise.
 */

/** Nano-dollars in one US dollar. */
export const NANO_PER_USD = 1_000_000_000;

/**
 * Dollars to integer nano-dollars, rounded up.
 *
 * @example
 * usdToNano(0.1); // 100_000_000
 * usdToNano(0.0000000001); // 1 (a tenth of a nano-dollar still costs one)
 */
export function usdToNano(usd: number): number {
  return ceilNano(usd * NANO_PER_USD);
}

/**
 * The one rounding rule. A product that lands within floating-point noise of a whole nano-dollar
 * *is* that nano-dollar (`0.1 * 1e9` is 100000000.00000001, and 256.665519784 * 1e9 is off by
 * 3e-5); anything further is a real fraction and rounds up. The noise bound scales with the value,
 * so the rule holds for a cent and for a million dollars alike.
 */
function ceilNano(exact: number): number {
  const nearest = Math.round(exact);
  const noise = 8 * Number.EPSILON * Math.max(1, Math.abs(exact));
  return Math.abs(exact - nearest) <= noise ? nearest + 0 : Math.ceil(exact);
}

/** Nano-dollars to dollars, for JSON and metrics. */
export function nanoToUsd(nano: number): number {
  return nano / NANO_PER_USD;
}

/**
 * Cost of `tokens` at `perMTok` dollars per million tokens, in nano-dollars, rounded up.
 *
 * @example
 * tokensToNano(1_000, 3); // 3_000_000 ($0.003)
 */
export function tokensToNano(tokens: number, perMTok: number): number {
  // perMTok USD / 1e6 tokens = perMTok * 1000 nano-USD per token.
  return ceilNano(tokens * perMTok * 1000);
}

/**
 * Money for people: `$12.50`, `$0.0420`, `$0.000123`. With `exact`, the nano-dollar figure follows,
 * for messages someone may grep the log for: `$0.0420 (42000000 nano-USD)`.
 *
 * @example
 * formatUsd(2_500_000_000); // '$2.50'
 * formatUsd(42_000_000, { exact: true }); // '$0.0420 (42000000 nano-USD)'
 */
export function formatUsd(nano: number, options: { exact?: boolean } = {}): string {
  const value = nanoToUsd(nano);
  const dollars = `$${value < 0.01 && value > 0 ? value.toPrecision(3) : value.toFixed(value < 1 ? 4 : 2)}`;
  return options.exact ? `${dollars} (${nano} nano-USD)` : dollars;
}
