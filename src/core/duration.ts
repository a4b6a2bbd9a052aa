import { WardenError } from '../core/errors.ts';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * Parses a window length as people write it on a command line: `90s`, `30m`, `24h`, `7d`, `2w`.
 *
 * @example
 * parseDuration('24h') // 86_400_000
 */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/.exec(text);
  if (!m) throw new WardenError('INVALID_ARGUMENT', `${what} must look like 30m, 24h or 7d, got ${JSON.stringify(text)}`);
  const [, amount, unit] = m;
  const ms = Number(amount) * (UNITS[unit ?? ''] ?? Number.NaN); // the regex admits only known units
  if (!(ms > 0)) throw new WardenError('INVALID_ARGUMENT', `${what} must be longer than zero, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * A length of time as a person reads it: the two largest units, e.g. `45s`, `3m 12s`, `2h 5m`, `1d 4h`.
 *
 * @example
 * formatDuration(192_000) // '3m 12s'
 */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const parts: string[] = [];
  let rest = Math.floor(ms / 1_000);
  for (const [unit, seconds] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / seconds);
    rest -= n * seconds;
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${n}${unit}`);
  }
  return parts.slice(0, 2).join(' ');
}
