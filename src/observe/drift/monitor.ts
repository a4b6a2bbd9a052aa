import { PARKED_STATUSES, TERMINAL_STATUSES } from '../../core/events.ts';
import type { Store } from '../../core/ports/store.ts';
import type { WardenMetrics } from '../metrics.ts';
import { compareProfiles, type CompareOptions, type DimensionDrift } from './compare.ts';
import { profileRun, type RunProfile } from './profile.ts';

/** Type of the record a drift alert leaves on the agent's log. */
export const DRIFT_EVENT = 'drift.detected';
/** Schema version of a `drift.detected` record's data. */
export const DRIFT_EVENT_VERSION = 1;

export interface DriftOptions extends CompareOptions {
  /** Only this agent (default: every agent with runs in the windows). */
  agent?: string;
  now?: number;
  /** Length of the baseline window, which ends where the recent one starts. Default 7 days. */
  baselineMs?: number;
  /** Length of the recent window, ending now. Default 24 hours. */
  recentMs?: number;
  /** Fewer runs than this in either window: no verdict. Default 30. */
  minRuns?: number;
}

export interface DriftReport {
  agent: string;
  status: 'ok' | 'drift' | 'insufficient_data';
  baseline: { from: number; to: number; runs: number };
  recent: { from: number; to: number; runs: number };
  dimensions: DimensionDrift[];
}

const DAY = 86_400_000;

/**
 * Builds each agent's behaviour profile over the baseline and the recent window and compares
 * them. Finished and parked runs count; runs still going do not.
 *
 * @example
 * for (const r of await checkDrift(store, { agent: 'support-desk' })) if (r.status === 'drift') page(r);
 */
export async function checkDrift(store: Store, options: DriftOptions = {}): Promise<DriftReport[]> {
  const now = options.now ?? Date.now();
  const recentMs = options.recentMs ?? DAY;
  const baselineMs = options.baselineMs ?? 7 * DAY;
  const minRuns = options.minRuns ?? 30;
  const split = now - recentMs;
  const start = split - baselineMs;
  const rows = await store.listRuns({ agent: options.agent, since: start, limit: 1_000_000 });
  const byAgent = new Map<string, { baseline: RunProfile[]; recent: RunProfile[] }>();
  if (options.agent) byAgent.set(options.agent, { baseline: [], recent: [] });
  for (const row of rows) {
    if (row.createdAt >= now || row.parentRunId !== null) continue;
    if (!TERMINAL_STATUSES.has(row.status) && !PARKED_STATUSES.has(row.status)) continue;
    let windows = byAgent.get(row.agent);
    if (!windows) {
      windows = { baseline: [], recent: [] };
      byAgent.set(row.agent, windows);
    }
    const profile = profileRun(row, await store.loadEvents(row.runId));
    (row.createdAt >= split ? windows.recent : windows.baseline).push(profile);
  }
  return [...byAgent.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([agent, w]) => {
      const enough = w.baseline.length >= minRuns && w.recent.length >= minRuns;
      const dimensions = enough ? compareProfiles(w.baseline, w.recent, options) : [];
      return {
        agent,
        status: !enough ? 'insufficient_data' : dimensions.some((d) => d.drifted) ? 'drift' : 'ok',
        baseline: { from: start, to: split, runs: w.baseline.length },
        recent: { from: split, to: now, runs: w.recent.length },
        dimensions,
      };
    });
}

/**
 * Raises the alerts: sets the drift gauges, and for each agent that drifted writes a
 * `drift.detected` record on its log (when the store keeps agent logs) and counts it — once per
 * recent window, so a monitor that checks every hour does not repeat itself. Returns the
 * reports that raised a new alert.
 */
export async function raiseDriftAlerts(store: Store, reports: readonly DriftReport[], metrics?: WardenMetrics): Promise<DriftReport[]> {
  const raised: DriftReport[] = [];
  for (const r of reports) {
    for (const d of r.dimensions) metrics?.driftScore.set({ agent: r.agent, dimension: d.dimension }, d.divergenceBits);
    if (r.status !== 'drift') continue;
    const drifted = r.dimensions.filter((d) => d.drifted);
    const previous = (await store.listAgentEvents?.({ agent: r.agent, type: DRIFT_EVENT, since: r.recent.from, limit: 1 })) ?? [];
    if (previous.length > 0) continue;
    const data = { baseline: r.baseline, recent: r.recent, dimensions: drifted };
    if (store.appendAgentEvent) {
      const record = await store.appendAgentEvent({ agent: r.agent, type: DRIFT_EVENT, at: r.recent.to, v: DRIFT_EVENT_VERSION, data });
      // Only where the alert is recorded once per window, so a person is told once per window too.
      const payload = { type: DRIFT_EVENT, timestamp: new Date(r.recent.to).toISOString(), data: { agent: r.agent, ...data } };
      await store.enqueueWebhook(DRIFT_EVENT, `msg_drift_${record.id}`, payload);
    }
    for (const d of drifted) metrics?.driftAlerts.inc({ agent: r.agent, dimension: d.dimension });
    raised.push(r);
  }
  return raised;
}
