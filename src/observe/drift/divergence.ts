/**
 * Jensen–Shannon divergence and the threshold it is judged by.
 *
 * Why JS and not PSI: PSI is a symmetrised KL divergence, infinite when a bin is empty on one
 * side, so it needs an arbitrary epsilon, and a tool that appears for the first time (exactly the
 * drift worth seeing) makes it explode or depend on that epsilon. JS divergence is bounded
 * (0 to 1 bit), symmetric, defined with empty bins, and its sampling noise has a known law:
 * for two samples of one distribution, 2·n·JS (nats, n the effective sample size) is
 * approximately χ² with k−1 degrees of freedom (it is the G-test statistic for homogeneity).
 */

export type Counts = Record<string, number>;

/** JS divergence of two count tables, in bits (0 = same shape, 1 = disjoint). */
export function jsDivergenceBits(a: Counts, b: Counts): number {
  const na = total(a);
  const nb = total(b);
  if (na === 0 || nb === 0) return 0;
  let js = 0;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const p = (a[key] ?? 0) / na;
    const q = (b[key] ?? 0) / nb;
    const m = (p + q) / 2;
    if (p > 0) js += 0.5 * p * Math.log2(p / m);
    if (q > 0) js += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, js);
}

export function total(c: Counts): number {
  let n = 0;
  for (const v of Object.values(c)) n += v;
  return n;
}

/** Categories seen on either side. */
export function categories(a: Counts, b: Counts): number {
  return new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => (a[k] ?? 0) + (b[k] ?? 0) > 0)).size;
}

/** Upper quantile of χ² with `dof` degrees of freedom at normal deviate `z` (Wilson–Hilferty). */
export function chiSquareQuantile(dof: number, z: number): number {
  if (dof <= 0) return 0;
  const c = 2 / (9 * dof);
  return dof * (1 - c + z * Math.sqrt(c)) ** 3;
}

/** Normal deviate for a one-sided p of 1e-4: a stable agent checked daily alerts about once in 30 years per dimension. */
export const DEFAULT_Z = 3.719;

/** Below this many bits a shift is too small to act on, however sure we are of it. */
export const DEFAULT_MIN_BITS = 0.05;

/**
 * The JS divergence (bits) above which a difference between samples of `n1` and `n2` runs over
 * `k` categories is both real (beyond sampling noise at deviate `z`) and large enough to matter.
 *
 * @example
 * driftThresholdBits(3, 300, 40) // ≈ 0.20: with 40 recent runs, only a big shift counts
 */
export function driftThresholdBits(k: number, n1: number, n2: number, z = DEFAULT_Z, minBits = DEFAULT_MIN_BITS): number {
  if (k <= 1 || n1 === 0 || n2 === 0) return Infinity;
  const nEff = (2 * n1 * n2) / (n1 + n2);
  const noiseNats = chiSquareQuantile(k - 1, z) / (2 * nEff);
  return Math.max(minBits, noiseNats / Math.LN2);
}
