import type { ContentGuard, GuardInfo, GuardVerdict } from '../agent/content-guard.ts';
import { describeError } from '../core/errors.ts';
import { type BoundedAnswer, callWithin } from './bounded-call.ts';

/** One guard's decision as the log records it: never the value it saw, only what it decided and why. */
export interface GuardDecision {
  guard: string;
  verdict: 'block' | 'redact' | 'escalate';
  reason: string;
}

/** What a list of guards made of one value. `value` is what goes on (redacted when a guard redacted it). */
export type GuardOutcome<T> =
  | { verdict: 'allow'; value: T; decisions: GuardDecision[] }
  | { verdict: 'redact'; value: T; decisions: GuardDecision[] }
  | { verdict: 'block' | 'escalate'; value: T; decisions: GuardDecision[] };

/**
 * Runs the guards in order, each on what the one before let through. A `redact` goes on with the
 * redacted value; the first `block` or `escalate` ends the list. A guard that throws, rejects,
 * answers with something that is not a verdict, redacts to a value of the wrong kind or does not
 * answer within `timeoutMs` fails closed: it blocks, and the decision says why.
 *
 * @example
 * const out = await runGuards([redactEmails()], 'mail ana@example.com', info, 5000);
 * out.value; // 'mail [email]'
 */
export async function runGuards<T>(guards: readonly ContentGuard<T>[], value: T, info: GuardInfo, timeoutMs: number): Promise<GuardOutcome<T>> {
  const decisions: GuardDecision[] = [];
  let current = value;
  for (const guard of guards) {
    const answer = await ask(guard, current, info, timeoutMs);
    if (!answer.ok) {
      decisions.push({ guard: guard.name, verdict: 'block', reason: `the guard failed closed: it ${answer.why}` });
      return { verdict: 'block', value: current, decisions };
    }
    const v = answer.value;
    if (v.action === 'allow') continue;
    if (v.action === 'redact') {
      const kind = checkRedaction(info, v.value);
      if (kind) {
        decisions.push({ guard: guard.name, verdict: 'block', reason: `the guard failed closed: it redacted to ${kind}` });
        return { verdict: 'block', value: current, decisions };
      }
      decisions.push({ guard: guard.name, verdict: 'redact', reason: v.reason });
      current = v.value;
      continue;
    }
    decisions.push({ guard: guard.name, verdict: v.action, reason: v.reason });
    return { verdict: v.action, value: current, decisions };
  }
  return { verdict: decisions.length > 0 ? 'redact' : 'allow', value: current, decisions };
}

function ask<T>(guard: ContentGuard<T>, value: T, info: GuardInfo, timeoutMs: number): Promise<BoundedAnswer<GuardVerdict<T>>> {
  return callWithin(
    () => guard.check(value, info),
    timeoutMs,
    (verdict) => {
      const why = verdictProblem(verdict);
      return why ? { ok: false, why } : { ok: true, value: verdict as GuardVerdict<T> };
    },
    describeError,
  );
}

function verdictProblem(v: unknown): string | null {
  if (!v || typeof v !== 'object') return `answered ${JSON.stringify(v) ?? String(v)}, not a verdict`;
  const { action, reason } = v as { action?: unknown; reason?: unknown };
  if (action === 'allow') return null;
  if (action !== 'block' && action !== 'redact' && action !== 'escalate')
    return `answered the action ${JSON.stringify(action)}, not allow, block, redact or escalate`;
  if (typeof reason !== 'string' || reason.trim() === '') return `answered ${action} without a reason`;
  if (action === 'redact' && !('value' in v)) return 'answered redact without the redacted value';
  return null;
}

/** A redacted request or answer must still be text; a redacted tool result must still be JSON. */
function checkRedaction(info: GuardInfo, value: unknown): string | null {
  if (info.stage !== 'toolResult') return typeof value === 'string' ? null : `a ${typeof value}, not text`;
  try {
    return JSON.stringify(value) === undefined ? 'a value that is not JSON' : null;
  } catch (e) {
    return `a value that is not JSON (${describeError(e)})`;
  }
}
