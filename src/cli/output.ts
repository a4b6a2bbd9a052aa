import { formatUsd, usdToNano } from '../core/money.ts';
import { traceEntries } from '../observe/explain.ts';
import type { AnyRunEvent } from '../core/events.ts';
import type { RunResult } from '../runtime/run-result.ts';
import { figuresLine, UNDO_PHASE_WORDS } from '../core/projection.ts';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One line per event that carries a decision, numbered by its place in the log; bookkeeping between them is named, never skipped. */
export function traceLines(events: readonly AnyRunEvent[]): string[] {
  return traceEntries(events).map((l) => `${l.seq.padStart(4)}  ${l.text}`);
}

export function summaryLines(result: RunResult): string[] {
  const lines = [
    `run      ${result.runId}  (agent ${result.agent})`,
    `status   ${result.status}${result.stopReason ? ` — ${result.stopReason}: ${result.stopDetail}` : ''}${result.mode === 'shadow' ? `  [shadow mode: nothing was changed; ${result.summary.shadowed} call(s) recorded, not made]` : ''}${result.summary.undo.phase !== 'none' ? `  [${UNDO_PHASE_WORDS[result.summary.undo.phase]}]` : ''}`,
    `cost     ${formatUsd(usdToNano(result.costUsd))} of ${formatUsd(usdToNano(result.ceilingUsd))} ceiling`,
    `figures  ${figuresLine(result.summary)}`,
    ...(result.requestCostUsd !== undefined && Math.abs(result.requestCostUsd - result.costUsd) > 1e-12
      ? [`request  ${formatUsd(usdToNano(result.requestCostUsd))} with its child runs (one ceiling for the whole tree)`]
      : []),
  ];
  if (result.output !== null) lines.push(`output   ${typeof result.output === 'string' ? result.output : JSON.stringify(result.output)}`);
  if (result.error) lines.push(`error    ${result.error.code}: ${result.error.message}`);
  if (result.pending) {
    const verb = result.pending.kind === 'approval' ? 'approvals approve' : 'escalations approve';
    lines.push(`waiting  ${result.pending.kind} ${result.pending.id}: ${result.pending.reason}`);
    lines.push(`         decide with: warden ${verb} ${result.pending.id} --by YOUR_NAME`);
  }
  return lines;
}

export function printRun(result: RunResult, events: readonly AnyRunEvent[]): void {
  process.stdout.write(`${[...traceLines(events), '', ...summaryLines(result), ...overrunLines(events)].join('\n')}\n`);
}

/** The calls that cost more than was reserved for them (a provider reporting more than asked), as recorded. */
export function overrunsOf(events: readonly AnyRunEvent[]): { reservationId: string; reservedNano: number; actualNano: number }[] {
  return events.flatMap((e) =>
    e.type === 'budget.overrun' ? [{ reservationId: e.data.reservationId, reservedNano: e.data.reservedNano, actualNano: e.data.actualNano }] : [],
  );
}

/** A summary line per overrun, so `warden runs show` never leaves one unsaid. */
export function overrunLines(events: readonly AnyRunEvent[]): string[] {
  return overrunsOf(events).map(
    (o) =>
      `overrun  ${o.reservationId}: billed ${formatUsd(o.actualNano)}, ${formatUsd(o.reservedNano)} reserved (+${formatUsd(o.actualNano - o.reservedNano)})`,
  );
}
