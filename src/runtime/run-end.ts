import type { LimitHit } from '../guard/limits.ts';
import type { ErrorInfo } from '../core/events.ts';
import type { RunContext } from './run-context.ts';

/** Ends the run with a named stop reason, recording the limit that was hit and why. */
export function stopRun(ctx: RunContext, hit: LimitHit): void {
  ctx.emit('limit.hit', { limit: hit.limit, detail: hit.detail });
  ctx.emit('run.stopped', { reason: hit.limit, detail: hit.detail });
}

export function failRun(ctx: RunContext, error: ErrorInfo): void {
  ctx.emit('run.failed', { error });
}

export function cancelRun(ctx: RunContext, by: string, reason: string): void {
  ctx.emit('run.cancelled', { by, reason });
}
