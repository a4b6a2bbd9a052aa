import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { WardenError } from '../core/errors.ts';
import { explainEvent } from '../observe/explain.ts';
import { TERMINAL_STATUSES, type AnyRunEvent } from '../core/events.ts';
import type { TextDelta } from '../runtime/text-stream.ts';
import type { RunRecord, Store } from '../core/ports/store.ts';
import { coversTenant, getApiKey } from './api-keys.ts';
import type { Env, ServerDeps } from './context.ts';
import { allows } from './permissions.ts';

/** How often a live stream re-reads its key: a revoked key stops receiving within about this long. */
export const KEY_RECHECK_MS = 1_000;

/**
 * Unsent streamed text one connection may hold before further deltas are dropped (a slow client
 * must not grow the server's memory); a `text.dropped` message says how much was skipped.
 */
export const MAX_PENDING_TEXT_CHARS = 256 * 1024;

/** Why a live stream was closed before its run ended; sent as the data of a last `stream.end` event. */
export interface StreamEnd {
  reason: 'key_revoked' | 'role_lost' | 'tenant_lost';
  message: string;
}

/**
 * The sequence number a client last received, from its `Last-Event-ID` header (0 when absent).
 *
 * @example
 * lastEventId('41'); // 41: the stream resumes at seq 42
 */
export function lastEventId(header: string | undefined): number {
  if (header === undefined || header.trim() === '') return 0;
  if (!/^\d{1,15}$/.test(header.trim())) {
    throw new WardenError(
      'INVALID_ARGUMENT',
      `Last-Event-ID must be the seq of an event this stream sent (a whole number), got ${JSON.stringify(header.slice(0, 40))}`,
    );
  }
  return Number(header.trim());
}

/** Null while the key with `keyId` may still read runs of `tenant`; otherwise why not. */
export async function streamRefusal(store: Store, keyId: string, tenant: string): Promise<StreamEnd | null> {
  const key = await getApiKey(store, keyId);
  if (!key || key.revokedAt) return { reason: 'key_revoked', message: `API key ${keyId} was revoked; this stream is closed. Reconnect with a live key.` };
  if (!allows(key.role, 'runs:read'))
    return { reason: 'role_lost', message: `API key ${keyId} is now a ${key.role} key, which may not read runs; this stream is closed.` };
  if (!coversTenant(key, tenant)) return { reason: 'tenant_lost', message: `API key ${keyId} no longer covers tenant "${tenant}"; this stream is closed.` };
  return null;
}

/**
 * Streams a run's events over Server-Sent Events: the log after `afterSeq`, then each commit as it
 * lands, in seq order with no gaps, each with `id: seq`. Ends when the run ends, or, with a last
 * `stream.end` event and no id, when the key may no longer read the run (checked every
 * KEY_RECHECK_MS).
 *
 * While a model call of the run streams in this process, its text goes out as `text.delta`
 * messages (`{ runId, step, attempt, delta }`) with no id, so `Last-Event-ID` still counts only
 * committed events. They are a live preview: text streamed before the client connected, or by a
 * call in another process (a `warden worker`), is not relayed; the committed text always arrives
 * in the `model.called` event.
 */
export function streamRun(c: Context<Env>, deps: ServerDeps, run: RunRecord, afterSeq: number): Response {
  const { runId, tenant } = run;
  const keyId = c.get('key').id;
  return streamSSE(c, async (stream) => {
    const pending: (AnyRunEvent | TextDelta)[] = [];
    let pendingText = 0;
    let droppedText = 0;
    let wake: (() => void) | null = null;
    const unsubscribeEvents = deps.warden.subscribe(({ runId: id, events }) => {
      if (id !== runId) return;
      pending.push(...events);
      wake?.();
    });
    const unsubscribeText = deps.warden.subscribeText((d) => {
      if (d.runId !== runId) return;
      if (pendingText + d.delta.length > MAX_PENDING_TEXT_CHARS) {
        droppedText += d.delta.length;
        return;
      }
      pendingText += d.delta.length;
      pending.push(d);
      wake?.();
    });
    const unsubscribe = () => {
      unsubscribeEvents();
      unsubscribeText();
    };
    stream.onAbort(() => {
      unsubscribe();
      wake?.();
    });
    const sendText = async (d: TextDelta) => {
      pendingText -= d.delta.length;
      if (droppedText > 0) {
        await stream.writeSSE({ event: 'text.dropped', data: JSON.stringify({ runId, chars: droppedText }) });
        droppedText = 0;
      }
      await stream.writeSSE({ event: 'text.delta', data: JSON.stringify({ runId: d.runId, step: d.step, attempt: d.attempt, delta: d.delta }) });
    };
    try {
      let last = afterSeq;
      const write = async (e: AnyRunEvent) => {
        last = e.seq;
        await stream.writeSSE({ id: String(e.seq), event: e.type, data: JSON.stringify({ ...e, explain: explainEvent(e) }) });
      };
      // Pushed events can skip some (a decision taken by another process is only in the store): fill the gap first.
      const send = async (e: AnyRunEvent) => {
        if (e.seq <= last) return;
        if (e.seq > last + 1) for (const missed of await deps.store.loadEvents(runId, last)) if (missed.seq < e.seq) await write(missed);
        if (e.seq > last) await write(e);
      };
      const catchUp = async () => {
        for (const e of await deps.store.loadEvents(runId, last)) await send(e);
      };
      await catchUp();
      let checkedAt = Date.now();
      while (!stream.aborted) {
        if (Date.now() - checkedAt >= KEY_RECHECK_MS) {
          checkedAt = Date.now();
          const refusal = await streamRefusal(deps.store, keyId, tenant);
          if (refusal) {
            await stream.writeSSE({ event: 'stream.end', data: JSON.stringify(refusal) });
            break;
          }
        }
        while (pending.length) {
          const next = pending.shift()!;
          await ('seq' in next ? send(next) : sendText(next));
        }
        const now = await deps.store.getRun(runId);
        if (now && TERMINAL_STATUSES.has(now.status) && pending.length === 0) {
          await catchUp();
          break;
        }
        // Runs driven by other processes (workers) are polled; this process's are pushed.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((r) => {
          wake = r;
          timer = setTimeout(r, Math.max(1, checkedAt + KEY_RECHECK_MS - Date.now()));
        });
        clearTimeout(timer);
        wake = null;
        await catchUp();
      }
    } finally {
      unsubscribe();
    }
  });
}
