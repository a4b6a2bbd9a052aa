import { nanoToUsd } from '../core/money.ts';
import { type RehearsalOutcome, rehearsalRunId } from './rehearsal.ts';
import type { RunSummary } from './run-summary.ts';
import { round } from './stats.ts';

/**
 * The agent's models in the rehearsal: who answered, the runs that fell back and why, and what
 * falling back cost. Null for an agent with one model and no outage (nothing to say).
 */
export interface ModelsReport {
  /** The agent's models, primary first: its price, its answers, and the runs it gave at least one. */
  list: { key: string; role: 'primary' | 'fallback'; inputPerMTok: number; outputPerMTok: number; answers: number; runs: number }[];
  /** The profile's outage: the requests during which the primary was down, and how those runs ended. */
  outage: { share: number; firstRequest: number; lastRequest: number; runs: number; completed: number; fellBack: number } | null;
  /** Runs that went on to a fallback at least once, and the fallbacks by reason. */
  runsFellBack: number;
  fallbacksByReason: Record<string, number>;
  /**
   * Mean cost per request of the runs the primary alone answered and of the runs that fell back,
   * and the difference (what a fallback adds to a request, or saves); null where a side is empty.
   */
  meanCostUsd: { primaryOnly: number | null; fellBack: number | null; difference: number | null };
  /** What the runs that fell back cost in all, less what as many runs the primary alone answered cost on average. */
  extraCostUsd: number | null;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** The models part of the rehearsal report, from the runs' projections. */
export function modelsReport(outcome: RehearsalOutcome, runs: readonly RunSummary[]): ModelsReport | null {
  const models = outcome.agent.models;
  if (models.length === 1 && !outcome.outage) return null;
  const keys = outcome.modelKeys;
  const list = models.map((m, i) => {
    const key = keys[i] ?? m.key;
    return {
      key: m.key,
      role: i === 0 ? ('primary' as const) : ('fallback' as const),
      inputPerMTok: m.price.pricing.inputPerMTok,
      outputPerMTok: m.price.pricing.outputPerMTok,
      answers: runs.reduce((n, r) => n + (r.projection.models.answeredBy[key] ?? 0), 0),
      runs: runs.filter((r) => (r.projection.models.answeredBy[key] ?? 0) > 0).length,
    };
  });
  const fellBack = runs.filter((r) => r.projection.models.fallbacks > 0);
  const primaryOnly = runs.filter((r) => r.projection.models.fallbacks === 0 && r.projection.modelCalls.answered > 0);
  const byReason: Record<string, number> = {};
  for (const r of fellBack) for (const [reason, n] of Object.entries(r.projection.models.fallbacksByReason)) byReason[reason] = (byReason[reason] ?? 0) + n;
  const cost = (rs: RunSummary[]) => mean(rs.map((r) => nanoToUsd(r.spentNano)));
  const a = cost(primaryOnly);
  const b = cost(fellBack);
  const w = outcome.outage;
  const inWindow = w ? new Set(Array.from({ length: w.last - w.first + 1 }, (_, i) => rehearsalRunId(outcome.seed, w.first + i))) : null;
  const outageRuns = inWindow ? runs.filter((r) => inWindow.has(r.runId)) : [];
  return {
    list,
    outage: w
      ? {
          share: outcome.profile.outage,
          firstRequest: w.first + 1,
          lastRequest: w.last + 1,
          runs: outageRuns.length,
          completed: outageRuns.filter((r) => r.status === 'completed').length,
          fellBack: outageRuns.filter((r) => r.projection.models.fallbacks > 0).length,
        }
      : null,
    runsFellBack: fellBack.length,
    fallbacksByReason: Object.fromEntries(Object.entries(byReason).sort((x, y) => y[1] - x[1])),
    meanCostUsd: {
      primaryOnly: a === null ? null : round(a, 9),
      fellBack: b === null ? null : round(b, 9),
      difference: a === null || b === null ? null : round(b - a, 9),
    },
    extraCostUsd: a === null || b === null ? null : round(fellBack.reduce((n, r) => n + nanoToUsd(r.spentNano), 0) - a * fellBack.length, 6),
  };
}
