import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { mustExist, WardenError } from '../core/errors.ts';
import { explainEvent } from '../observe/explain.ts';
import { TERMINAL_STATUSES, type AnyRunEvent } from '../core/events.ts';
import type { TextDelta } from '../runtime/text-stream.ts';
import type { RunRecord, Store } from '../core/ports/store.ts';
import { coversTenant, getApiKey } from './api-keys.ts';
import type { Env, ServerDeps } from './context.ts';
import { allows } from './permissions.ts';

/** How often a live stream re-reads its key: a revoked key stops receiving within about this long. */
export const KEY_RECHECK_MS = 1_000;

/** How often a stream reads the log for other processes' commits while the store's feed is down (or absent), ms. */
export const STREAM_POLL_MS = 1_000;

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

/** Run events after which a run's log is complete. */
const ENDING_EVENTS: ReadonlySet<string> = new Set(['run.completed', 'run.failed', 'run.stopped', 'run.cancelled']);

/**
 * Streams a run's events over Server-Sent Events: the log after `afterSeq`, then each commit as it
 * lands, in seq order with no gaps, each with `id: seq`. Ends when the run ends, or, with a last
 * `stream.end` event and no id, when the key may no longer read the run (checked every
 * KEY_RECHECK_MS).
 *
 * How commits arrive: this process's are pushed (`Warden.subscribe`); other processes' arrive as
 * notices from the store's feed (`followRun`: PostgreSQL `LISTEN/NOTIFY`), after which the stream
 * reads the log past the last seq it sent. Only while the store has no feed, or the feed is down,
 * does the stream read the log every `pollMs` (`ServerDeps.streamPollMs`, default 1 s); when the
 * feed comes back it reads once more, so nothing sent meanwhile is missed.
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
  const pollMs = deps.streamPollMs ?? STREAM_POLL_MS;
  return streamSSE(c, async (stream) => {
    const pending: (AnyRunEvent | TextDelta)[] = [];
    let pendingText = 0;
    let droppedText = 0;
    let wake: (() => void) | null = null;
    let last = afterSeq;
    // What the feed said: a seq committed elsewhere, or "read the log" (after a reconnect).
    let noticed = 0;
    let reread = false;
    let live = false;
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
    // Follow before the first read: a commit after this is noticed, one before it is in the read.
    const follow = await deps.store
      .followRun?.(runId, {
        commit: (seq) => {
          if (seq !== 0 && seq <= last) return; // already sent (usually pushed by this process)
          if (seq === 0) reread = true;
          noticed = Math.max(noticed, seq);
          wake?.();
        },
        live: (now) => {
          live = now;
          reread ||= now;
          wake?.();
        },
      })
      .catch(() => null); // no feed: poll
    live = follow?.live ?? false;
    const unsubscribe = () => {
      unsubscribeEvents();
      unsubscribeText();
      follow?.stop().catch(() => {});
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
      let ended = false;
      const write = async (e: AnyRunEvent) => {
        last = e.seq;
        ended ||= ENDING_EVENTS.has(e.type);
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
      const isOver = async () => {
        const now = await deps.store.getRun(runId);
        return now !== undefined && TERMINAL_STATUSES.has(now.status);
      };
      await catchUp();
      let checkedAt = Date.now();
      let polledAt = Date.now();
      if (!ended && (await isOver())) ended = true;
      while (!stream.aborted && !ended) {
        if (Date.now() - checkedAt >= KEY_RECHECK_MS) {
          checkedAt = Date.now();
          const refusal = await streamRefusal(deps.store, keyId, tenant);
          if (refusal) {
            await stream.writeSSE({ event: 'stream.end', data: JSON.stringify(refusal) });
            break;
          }
        }
        while (pending.length) {
          const next = mustExist(pending.shift(), 'a pending message');
          await ('seq' in next ? send(next) : sendText(next));
        }
        const polling = !live && Date.now() - polledAt >= pollMs;
        if (reread || noticed > last || polling) {
          reread = false;
          if (polling) polledAt = Date.now();
          await catchUp();
          if (polling && !ended && (await isOver())) ended = true;
        }
        if (ended || pending.length > 0 || reread || noticed > last) continue;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((r) => {
          wake = r;
          const nextCheck = checkedAt + KEY_RECHECK_MS;
          const due = live ? nextCheck : Math.min(nextCheck, polledAt + pollMs);
          timer = setTimeout(r, Math.max(1, due - Date.now()));
        });
        clearTimeout(timer);
        wake = null;
      }
      // The run ended: anything committed with its last event (same commit) is already in the log.
      if (ended && !stream.aborted) await catchUp();
    } finally {
      unsubscribe();
    }
  });
}
