import { lintSource } from '@secretlint/core';
import { creator as recommendedSecretRules } from '@secretlint/secretlint-rule-preset-recommend';
import cardValidator from 'card-validator';
import validator from 'validator';
import type { ContentGuard, GuardVerdict } from '../agent/content-guard.ts';

// The guards that ship with Warden. Detection is left to libraries made for it: secretlint's
// recommended rules (cloud, VCS, chat, payment and AI providers' keys, private keys, basic auth in
// URLs), card-validator (Luhn plus the brands' prefixes and lengths) and validator's isEmail; what is
// hand-written here only finds candidates for those to judge and walks a JSON value.

/** What replaces a detected value: a marker that none of the detectors matches again. */
export const REDACTED = { secret: '[redacted:secret]', email: '[redacted:email]', card: '[redacted:card]' } as const;

/** A run of 13 to 19 digits, single spaces or dashes allowed between them: a card number's shape. */
const CARD_CANDIDATE = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
/** A word with an @ in it: a candidate for isEmail. */
const EMAIL_CANDIDATE = /[^\s@<>()[\]{}"'`,;:]+@[^\s@<>()[\]{}"'`,;:]+/g;

type Finder = (text: string) => Promise<[number, number][]> | [number, number][];

/** Replaces each found range with the marker, and counts them. */
async function replaceFound(text: string, find: Finder, marker: string): Promise<{ text: string; count: number }> {
  const ranges = (await find(text)).sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  let count = 0;
  for (const [start, end] of ranges) {
    if (start < at) continue; // overlapping findings: the earlier one covers it
    out += text.slice(at, start) + marker;
    at = end;
    count++;
  }
  return { text: out + text.slice(at), count };
}

/** Maps every string in a JSON value (keys stay as they are). */
async function mapStrings(value: unknown, f: (s: string) => Promise<string>): Promise<unknown> {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return Promise.all(value.map((v) => mapStrings(v, f)));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await mapStrings(v, f);
    return out;
  }
  return value;
}

/** A guard that replaces what `find` finds in every string of the value with `marker`. */
function detector<T>(name: string, what: string, find: Finder, marker: string, action: 'redact' | 'block'): ContentGuard<T> {
  return {
    name,
    async check(value: T): Promise<GuardVerdict<T>> {
      let count = 0;
      const redacted = await mapStrings(value, async (s) => {
        const r = await replaceFound(s, find, marker);
        count += r.count;
        return r.text;
      });
      if (count === 0) return { action: 'allow' };
      const reason = `${count} ${what}${count === 1 ? '' : 's'} found`;
      return action === 'block' ? { action: 'block', reason } : { action: 'redact', value: redacted as T, reason: `${reason} and redacted` };
    },
  };
}

const secretConfig = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommendedSecretRules }] };

async function findSecrets(text: string): Promise<[number, number][]> {
  if (text.length < 8) return [];
  const result = await lintSource({
    source: { content: text, filePath: 'value.txt', ext: '.txt', contentType: 'text' },
    options: { config: secretConfig },
  });
  return result.messages.map((m) => [m.range[0], m.range[1]]);
}

function findCards(text: string): [number, number][] {
  const found: [number, number][] = [];
  for (const m of text.matchAll(CARD_CANDIDATE)) {
    if (cardValidator.number(m[0].replace(/[ -]/g, '')).isValid) found.push([m.index, m.index + m[0].length]);
  }
  return found;
}

function findEmails(text: string): [number, number][] {
  const found: [number, number][] = [];
  for (const m of text.matchAll(EMAIL_CANDIDATE)) {
    const candidate = m[0].replace(/[.]+$/, ''); // the full stop that ends a sentence
    if (validator.isEmail(candidate)) found.push([m.index, m.index + candidate.length]);
  }
  return found;
}

/**
 * Secrets and API keys (secretlint's recommended rules): redacted by default, so they never reach
 * the model or the log; `{ action: 'block' }` stops the run instead. Put it on `toolResult`.
 *
 * @example
 * defineAgent({ …, guards: { toolResult: [secretsGuard()] } });
 */
export function secretsGuard<T = unknown>(opts: { action?: 'redact' | 'block' } = {}): ContentGuard<T> {
  return detector<T>('secrets', 'secret', findSecrets, REDACTED.secret, opts.action ?? 'redact');
}

/**
 * Email addresses (validator's isEmail on each candidate), redacted by default.
 *
 * @example
 * defineAgent({ …, guards: { output: [emailGuard()], toolResult: [emailGuard()] } });
 */
export function emailGuard<T = unknown>(opts: { action?: 'redact' | 'block' } = {}): ContentGuard<T> {
  return detector<T>('email', 'email address', findEmails, REDACTED.email, opts.action ?? 'redact');
}

/**
 * Payment card numbers (13–19 digits, spaces or dashes between, that card-validator accepts: Luhn
 * and a known brand's prefix and length), redacted by default.
 *
 * @example
 * defineAgent({ …, guards: { input: [cardNumberGuard()], output: [cardNumberGuard()] } });
 */
export function cardNumberGuard<T = unknown>(opts: { action?: 'redact' | 'block' } = {}): ContentGuard<T> {
  return detector<T>('card-number', 'card number', findCards, REDACTED.card, opts.action ?? 'redact');
}
