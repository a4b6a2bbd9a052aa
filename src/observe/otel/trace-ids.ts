import { createHash, randomBytes } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace';

function hex(text: string, chars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, chars);
}

/**
 * The trace id of a run tree: derived from the root run's id, so every session of every run in
 * the tree — on any worker, before and after a crash or an approval — lands in one trace, and
 * `warden runs show` can print the id to look up.
 *
 * @example
 * traceIdOf('run_1a2b') // '9f…' (32 hex digits, the same on every machine)
 */
export function traceIdOf(rootRunId: string): string {
  return hex(`warden.trace:${rootRunId}`, 32);
}

/** The span id of one execution session of a run (its `invoke_agent` span). */
export function agentSpanIdOf(runId: string, session: number): string {
  return hex(`warden.invoke_agent:${runId}:${session}`, 16);
}

/**
 * Random ids, except for the next span when `pin` was called: the SDK asks its id generator
 * synchronously inside `startSpan`, so pinning right before starting a span names that span.
 */
export class PinnedIdGenerator implements IdGenerator {
  private pinned: { traceId: string; spanId?: string } | null = null;

  /** Names the next span started; call `unpin` right after starting it. */
  pin(traceId: string, spanId: string): void {
    this.pinned = { traceId, spanId };
  }

  unpin(): void {
    this.pinned = null;
  }

  generateTraceId(): string {
    return this.pinned?.traceId ?? randomBytes(16).toString('hex');
  }

  generateSpanId(): string {
    const id = this.pinned?.spanId;
    if (id === undefined) return randomBytes(8).toString('hex');
    // The SDK asks for the span id first and the trace id after (root spans only): keep the latter.
    this.pinned!.spanId = undefined;
    return id;
  }
}
