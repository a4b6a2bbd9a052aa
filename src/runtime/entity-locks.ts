import type { AnyTool } from '../agent/tool.ts';
import { describeError } from '../core/errors.ts';
import { activeMs } from '../guard/limits.ts';
import type { CallState } from '../core/run-state.ts';
import { holderIsGone } from './process-liveness.ts';
import type { RunContext } from './run-context.ts';

/** Extra life a lock gets beyond the tool's timeout, so it never lapses while the call runs. */
const LOCK_MARGIN_MS = 30_000;

export interface HeldLock {
  key: string;
  holder: string;
  callId: string;
}

export type LockResult = { ok: true; locks: HeldLock[] } | { ok: false; deadlock?: string; detail: string; locks: HeldLock[] };

/** The entity key a call locks, or null. A `lockKey` that throws is an error, not "no lock". */
export function lockKeyOf(tool: AnyTool, args: unknown): string | null {
  if (!tool.lockKey) return null;
  const key = tool.lockKey(args);
  return typeof key === 'string' && key.length > 0 ? `${tool.name}:${key}` : null;
}

function holderString(ctx: RunContext, callId: string): string {
  // worker first, so a holder whose process is gone can be recognised (`host:pid:…`).
  return `${ctx.worker}/${ctx.runId}/${callId}`;
}

function runOfHolder(holder: string): string | undefined {
  return holder.split('/')[1];
}

/**
 * Takes the locks of a batch of calls, in key order, so two runs that need the same two keys can
 * never each hold one and wait for the other. Waits (with backoff) while another run holds a key;
 * a holder whose process is gone is taken over; a holder that is one of this run's ancestors can
 * never let go (it waits for this run), which is reported as a deadlock instead of waiting forever.
 */
export async function acquireLocks(ctx: RunContext, wanted: { call: CallState; key: string; tool: AnyTool }[]): Promise<LockResult> {
  const held: HeldLock[] = [];
  for (const { call, key, tool } of [...wanted].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const holder = holderString(ctx, call.callId);
    const started = ctx.now();
    // Only a lock that was busy made the call wait: time spent in the store itself is no wait.
    let waited = false;
    for (let i = 0; ; i++) {
      const attempt = await ctx.store.acquireLock(key, holder, tool.timeoutMs + LOCK_MARGIN_MS);
      if (attempt.acquired) break;
      const other = attempt.holder;
      const otherRun = runOfHolder(other);
      const ancestor = ctx.state.lineage.find((a) => a.runId === otherRun);
      if (ancestor) {
        const cycle = [
          ...ctx.state.lineage.slice(ctx.state.lineage.indexOf(ancestor)).map((a) => `${a.agent} (${a.runId})`),
          `${ctx.agent.name} (${ctx.runId})`,
        ];
        return {
          ok: false,
          deadlock: key,
          detail: `Deadlock: ${cycle.join(' → ')} → back to ${ancestor.agent}: ${ancestor.agent} holds lock "${key}" while it waits for this run, which needs the same lock.`,
          locks: held,
        };
      }
      if (otherRun === ctx.runId || holderIsGone(other)) {
        // Left by this run's own earlier session, or by a process that died: take it over.
        if ((await ctx.store.acquireLock(key, holder, tool.timeoutMs + LOCK_MARGIN_MS, { force: true })).acquired) break;
      }
      if (ctx.signal.aborted) return { ok: false, detail: `cancelled while waiting for lock "${key}"`, locks: held };
      if (activeMs(ctx.state, ctx.now()) >= ctx.state.limits.maxWallMs) {
        return { ok: false, detail: `waited for lock "${key}" (held by ${other}) until the run's wall time ran out`, locks: held };
      }
      waited = true;
      await ctx.sleep(Math.min(500, 10 * 2 ** Math.min(i, 6)), ctx.signal).catch(() => {});
    }
    held.push({ key, holder, callId: call.callId });
    ctx.emit('lock.acquired', { callId: call.callId, key, waitedMs: waited ? ctx.now() - started : 0 });
  }
  return { ok: true, locks: held };
}

export async function releaseLocks(ctx: RunContext, locks: HeldLock[]): Promise<void> {
  for (const lock of locks) {
    await ctx.store.releaseLock(lock.key, lock.holder).catch((e) => {
      // A lock that cannot be released lapses at its expiry; say so rather than fail the run.
      process.emitWarning(`warden: could not release lock "${lock.key}": ${describeError(e)}`);
    });
  }
}
