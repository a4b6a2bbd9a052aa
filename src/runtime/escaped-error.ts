import { describeError, isWardenError, mustExist } from '../core/errors.ts';
import { type ErrorInfo, PARKED_STATUSES, TERMINAL_STATUSES } from '../core/events.ts';
import { isResolved } from '../core/fold.ts';
import type { RunState } from '../core/run-state.ts';
import type { RunContext } from './run-context.ts';
import { failRun } from './decide/run-end.ts';
import { chargeOpenReservations } from './decide/session-start.ts';

/** Warden's own source folder: a thrown Error whose top frame is in it is Warden's bug, not a callback's. */
const WARDEN_SRC = new URL('..', import.meta.url).href;

/** Codes that mean the store or another writer is in the way: nothing can be recorded, or someone else records. */
const NOT_RECORDABLE = new Set(['STALE_WRITER', 'LEASE_HELD', 'STORE_UNAVAILABLE', 'STORE_CORRUPT']);

/**
 * True when an exception that escaped a session should end the run there (`run.failed`), false
 * when the store or another writer is the problem: then the run is left to the next session.
 */
export function endsRun(e: unknown): boolean {
  return !(isWardenError(e) && NOT_RECORDABLE.has(e.code));
}

/**
 * What to record for an exception that escaped driving a run: its typed code (a WardenError keeps
 * its own), and words that say what threw and where. Anything that is not an Error, and any Error
 * thrown outside Warden's source, is `CALLBACK_FAILED` (the agent's or a tool's code threw);
 * an Error thrown inside Warden's source is `INTERNAL`.
 *
 * @example
 * escapedErrorInfo('boom'); // { code: 'CALLBACK_FAILED', message: 'A thrown string escaped …: boom' }
 */
export function escapedErrorInfo(e: unknown, doing?: string): ErrorInfo {
  const words = describeError(e);
  if (isWardenError(e)) return { code: e.code, message: words };
  const { kind, frame } = inspect(e);
  const code = frame?.includes(WARDEN_SRC) ? 'INTERNAL' : 'CALLBACK_FAILED';
  const where = frame ? ` (thrown at ${frame})` : '';
  return {
    code,
    message:
      `${kind} escaped while the run was being driven${doing ? ` (${doing})` : ''}${where}: ${words}. ` +
      'The run ends here rather than stay running; fix the callback (or report the bug) and submit it again.',
  };
}

/** What the session was working on, in words: the open calls of the latest turn, or the model step. */
function activity(s: RunState): string {
  const last = s.turns.at(-1);
  const open = last ? last.callIds.map((id) => mustExist(s.calls.get(id), 'the call in the run state')).filter((c) => !isResolved(c.status)) : [];
  if (open.length === 0) return 'at the model step';
  return `at ${open.map((c) => `${c.tool} ${c.callId} (${c.status})`).join(', ')}: its schema, lockKey, costUsd, approval, policy rules or execute`;
}

function inspect(e: unknown): { kind: string; frame?: string } {
  try {
    if (e instanceof Error) {
      const name: unknown = e.name;
      const stack: unknown = e.stack;
      const frame =
        typeof stack === 'string'
          ? stack
              .split('\n')
              .find((l) => /^\s+at /.test(l))
              ?.trim()
              .replace(/^at /, '')
          : undefined;
      return { kind: `${typeof name === 'string' && name ? name : 'Error'}`, ...(frame ? { frame } : {}) };
    }
    return { kind: e === null ? 'A thrown null' : `A thrown ${typeof e}` };
  } catch {
    return { kind: `A thrown ${typeof e}` };
  }
}

/**
 * The safety net under every session: an exception that escaped driving the run (a callback that
 * threw anything, or a bug) ends the run with `run.failed` and a typed code, so the caller never
 * gets an exception while the run stays `running`. What was decided but not committed is
 * dropped; open reservations are charged in full (as after a crash). Rethrows `e` when nothing
 * can be recorded (the store is down, another writer took over) or the run had already ended or
 * parked (an undo step that threw: the run keeps the reason it has).
 */
export async function endAfterEscape(ctx: RunContext, e: unknown): Promise<void> {
  if (!endsRun(e)) throw e;
  const doing = activity(ctx.state);
  try {
    await ctx.flushSealed().catch(() => {}); // a sealed tool outcome is kept, as if it had been flushed
    await ctx.reload();
  } catch {
    throw e;
  }
  const s = ctx.state;
  if (TERMINAL_STATUSES.has(s.status) || PARKED_STATUSES.has(s.status)) throw e;
  chargeOpenReservations(ctx);
  failRun(ctx, escapedErrorInfo(e, doing));
  try {
    await ctx.flush();
  } catch {
    throw e;
  }
  if (!TERMINAL_STATUSES.has(ctx.state.status)) throw e; // the store refused the batch: nothing was recorded
}
