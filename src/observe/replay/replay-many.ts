import type { Agent } from '../../agent/agent.ts';
import { describeError } from '../../core/errors.ts';
import { TERMINAL_STATUSES, PARKED_STATUSES } from '../../core/events.ts';
import type { RunRecord, Store } from '../../core/ports/store.ts';
import { replayRun, type DivergenceKind, type ReplayReport } from './replay-run.ts';

export interface ReplaySummary {
  mode: 'replay' | 'what-if';
  agent: string;
  /** Runs looked at (finished or parked ones; running ones are skipped). */
  runs: number;
  identical: number;
  differing: number;
  /** Runs that could not be replayed (a log this Warden cannot read, an agent that does not load). */
  errors: { runId: string; message: string }[];
  /** How many runs went another way, by what changed first. */
  byKind: Partial<Record<DivergenceKind, number>>;
  /** How many runs end differently (status or stop reason). */
  outcomeChanged: number;
  reports: ReplayReport[];
}

export interface ReplayManyOptions {
  store: Store;
  /** Agent to replay under (what-if), or a function giving each run's own agent (replay). */
  agentFor: (run: RunRecord) => Promise<Agent>;
  mode: 'replay' | 'what-if';
  agentName?: string;
  since?: number;
  limit?: number;
}

/**
 * Replays many recorded runs and sums up where they went another way: how a team checks a
 * policy change against last week's traffic before shipping it.
 *
 * @example
 * const summary = await replayMany({ store, agentFor: async () => newAgent, mode: 'what-if', agentName: 'support-desk', since: Date.now() - 86_400_000 });
 * console.log(`${summary.differing} of ${summary.runs} runs would have gone differently`);
 */
export async function replayMany(options: ReplayManyOptions): Promise<ReplaySummary> {
  const rows = await options.store.listRuns({ agent: options.agentName, since: options.since, limit: options.limit ?? 1000 });
  const summary: ReplaySummary = {
    mode: options.mode,
    agent: options.agentName ?? '(all)',
    runs: 0,
    identical: 0,
    differing: 0,
    errors: [],
    byKind: {},
    outcomeChanged: 0,
    reports: [],
  };
  for (const row of rows.reverse()) {
    if (!TERMINAL_STATUSES.has(row.status) && !PARKED_STATUSES.has(row.status)) continue;
    summary.runs++;
    try {
      const report = await replayRun(await options.store.loadEvents(row.runId), { agent: await options.agentFor(row), mode: options.mode });
      summary.reports.push(report);
      if (report.identical) summary.identical++;
      else {
        summary.differing++;
        const kind = report.divergence!.kind;
        summary.byKind[kind] = (summary.byKind[kind] ?? 0) + 1;
      }
      if (report.recorded.status !== report.replayed.status || report.recorded.stopReason !== report.replayed.stopReason) summary.outcomeChanged++;
    } catch (e) {
      summary.errors.push({ runId: row.runId, message: describeError(e) });
    }
  }
  return summary;
}
