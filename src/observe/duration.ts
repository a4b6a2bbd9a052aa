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
