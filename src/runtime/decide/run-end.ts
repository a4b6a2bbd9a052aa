import type { LimitHit } from '../../guard/limits.ts';
import type { ErrorInfo } from '../../core/events.ts';
import type { Decisions } from './decisions.ts';

/** Ends the run with a named stop reason, recording the limit that was hit and why. */
export function stopRun(d: Decisions, hit: LimitHit): void {
  d.emit('limit.hit', { limit: hit.limit, detail: hit.detail });
  d.emit('run.stopped', { reason: hit.limit, detail: hit.detail });
}

/** Ends the run as failed, with the typed error that ended it. */
export function failRun(d: Decisions, error: ErrorInfo): void {
  d.emit('run.failed', { error });
}

/** Ends the run as cancelled, saying who asked and why. */
export function cancelRun(d: Decisions, by: string, reason: string): void {
  d.emit('run.cancelled', { by, reason });
}
