import { nanoToUsd } from '../core/money.ts';
import type { BehaviourFigures } from './learned-model.ts';
import type { RunSummary } from './run-summary.ts';
import { round, spread } from './stats.ts';

/**
 * The figures a learned model must reproduce, read the same way from recorded runs and from a
 * rehearsal's runs (both through `summarizeRun`), so the side-by-side compares like with like.
 */
export function behaviourFigures(runs: readonly RunSummary[]): BehaviourFigures {
  const n = runs.length;
  let modelCalls = 0;
  let modelErrors = 0;
  let input = 0;
  let outputTokens = 0;
  let approvals = 0;
  let escalations = 0;
  let approved = 0;
  let denied = 0;
  let toolAttempts = 0;
  let toolFailures = 0;
  let confidenceSum = 0;
  let confidenceCount = 0;
  const status: Record<string, number> = {};
  const stopReasons: Record<string, number> = {};
  const byTool: Record<string, number> = {};
  for (const r of runs) {
    modelCalls += r.modelCalls;
    modelErrors += r.modelFailures.rateLimited + r.modelFailures.serverError + r.modelFailures.other;
    input += r.inputTokens;
    outputTokens += r.outputTokens;
    approvals += r.approvalsRequested;
    escalations += r.escalations;
    approved += r.approvalsApproved;
    denied += r.approvalsDenied;
    toolAttempts += r.toolCalls.read + r.toolCalls.write + r.toolCalls.delete + r.retries.tool;
    toolFailures += r.toolFailures + r.toolTimeouts;
    confidenceSum += r.confidence.sum;
    confidenceCount += r.confidence.count;
    status[r.status] = (status[r.status] ?? 0) + 1;
    if (r.stopReason) stopReasons[r.stopReason] = (stopReasons[r.stopReason] ?? 0) + 1;
    for (const [tool, count] of Object.entries(r.toolCallsByName)) byTool[tool] = (byTool[tool] ?? 0) + count;
  }
  const share = (table: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(table)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([k, v]) => [k, round(v / Math.max(1, n), 4)]),
    );
  const stepSpread = spread(runs.map((r) => r.steps));
  const cost = spread(runs.map((r) => nanoToUsd(r.spentNano)));
  const active = spread(runs.map((r) => r.activeMs));
  return {
    runs: n,
    status: share(status),
    stopReasons: share(stopReasons),
    stepsPerRun: { mean: round(stepSpread.mean, 3), p50: stepSpread.p50, p99: stepSpread.p99 },
    inputTokensPerStep: round(input / Math.max(1, modelCalls), 1),
    outputTokensPerStep: round(outputTokens / Math.max(1, modelCalls), 1),
    costUsd: { mean: round(cost.mean, 9), p50: round(cost.p50, 9), p99: round(cost.p99, 9) },
    activeMs: { p50: Math.round(active.p50), p99: Math.round(active.p99) },
    approvalsPer1000: round((approvals / Math.max(1, n)) * 1000, 1),
    escalationsPer1000: round((escalations / Math.max(1, n)) * 1000, 1),
    approvedShare: round(approved / Math.max(1, approved + denied), 4),
    modelErrorsPer1000: round((modelErrors / Math.max(1, modelCalls + modelErrors)) * 1000, 1),
    toolFailuresPer1000: round((toolFailures / Math.max(1, toolAttempts)) * 1000, 1),
    toolCallsPerRun: Object.fromEntries(
      Object.entries(byTool)
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([k, v]) => [k, round(v / Math.max(1, n), 4)]),
    ),
    meanConfidence: round(confidenceSum / Math.max(1, confidenceCount), 4),
  };
}
