import type { Tier } from '../core/tiers.ts';
import { formatUsd, nanoToUsd, usdToNano } from '../core/money.ts';
import type { FaultRates, ReviewerProfile } from './fault-profile.ts';
import type { RehearsalOutcome } from './rehearsal.ts';
import { behaviourFigures } from './learned-figures.ts';
import type { BehaviourFigures, LearnedModel } from './learned-model.ts';
import { queueRuns, reviewerReport, type ReviewerOptions, type ReviewerReport } from './reviewers.ts';
import type { RunSummary } from './run-summary.ts';
import { type ModelsReport, modelsReport } from './report-models.ts';
import { type ConversationsReport, conversationsReport } from './report-conversations.ts';
import { histogram, round, spread, tally, type Bin, type Spread } from './stats.ts';
import type { ResolvedFleetBudget } from '../guard/fleet-budgets.ts';
import { type BudgetForecast, forecastBudgets } from './budget-forecast.ts';

/**
 * The rehearsal report: the four sign-off questions answered from what the runs' event logs say.
 * Everything outside `timing` follows from the agent, the profile and the seed alone, so the same
 * seed gives the same report; `timing` holds what the machine measured (speed, CPU, queueing).
 */
export interface RehearsalReport {
  agent: string;
  seed: number;
  requests: number;
  concurrency: number;
  /**
   * Set when the rehearsal was interrupted (Ctrl-C, SIGTERM): `finished` of `requests` finished and
   * every figure below is computed on those; `interrupted` never started or were cut.
   */
  interrupted: { finished: number; interrupted: number } | null;
  profile: { name: string; rates: FaultRates; reviewer: ReviewerProfile; outage: number };
  /** One-paragraph answers to the four questions, for the top of the report. */
  answers: { stopConditions: string; permissions: string; observability: string; cost: string };
  /** The invariants a rehearsal must show; any false one fails `warden rehearse`. */
  checks: {
    everyRunEnded: boolean;
    noUnapprovedDestructive: boolean;
    completeTraces: boolean;
    noCeilingBreach: boolean;
    /** No reservation left open at the end of any run's log. */
    noOpenReservations: boolean;
  };
  stopConditions: {
    byStatus: Record<string, number>;
    byStopReason: Record<string, number>;
    loopsCaught: number;
    /** Step at which each loop was caught → how many. */
    loopCaughtAtStep: Record<string, number>;
    runsWithoutNamedEnd: number;
  };
  permissions: {
    toolCallsByTier: Record<Tier, number>;
    destructiveProposed: number;
    destructiveRanWithoutApproval: number;
    unapprovedExamples: { runId: string; callId: string; tool: string }[];
    approvalsPer1000: number;
    escalationsPer1000: number;
    approvals: { requested: number; approved: number; denied: number; leftWaiting: number };
    escalations: { total: number; byReason: Record<string, number>; leftWaiting: number };
    rejectedProposals: { unknownTool: number; invalidArgs: number };
    deniedByPolicy: number;
    reviewer: ReviewerProfile & { note: string };
    /** Write or delete calls that ran with no compensation declared, per 1,000 requests. */
    irreversiblePer1000: number;
  };
  observability: { steps: number; completeSteps: number; completeShare: number; runsWithProblems: number; examples: string[] };
  cost: {
    perRequestUsd: Spread;
    totalUsd: number;
    ceilingUsd: number;
    /** Runs whose spend went above the ceiling with no overrun recorded: a silent breach (must be 0). */
    ceilingBreaches: number;
    /**
     * Calls that cost more than was reserved (a provider reporting more than asked), each recorded
     * as `budget.overrun` and followed by a `cost_ceiling` stop. Counted apart from breaches.
     */
    overruns: number;
    /** Runs that ended or parked with a reservation still open (must be 0). */
    openReservationsAtEnd: number;
    mostExpensive: { runId: string; costUsd: number; why: string } | null;
    tokens: { input: number; output: number; maxOutputOneCall: number };
    projection: { volumePerDay: number; typicalUsd: number; badDayUsd: number; boundUsd: number };
  };
  /** The agent's models: who answered, the runs that fell back and what that cost (null: one model, no outage). */
  models: ModelsReport | null;
  /** The conversations, when the rehearsal drew follow-up messages (null: single requests). */
  conversations: ConversationsReport | null;
  coordination: {
    retries: { model: number; tool: number; total: number };
    retryBudgetRefusals: number;
    /** The global retry budget and circuit breakers belong to the scheduler; null until it exists. */
    globalRetryBudgetRefusals: number | null;
    breakerOpenings: number | null;
    modelErrors: { rateLimited: number; serverError: number; other: number };
    toolFailures: number;
    toolTimeouts: number;
    /** Model answers that reported a confidence below the threshold themselves. */
    lowConfidenceSteps: number;
    /** Calls and final answers the confidence gate scored below the threshold (each is a `low_confidence` escalation). */
    gateBelowThreshold: number;
    planErrors: number;
    plansRejected: number;
  };
  /**
   * Set when the rehearsal played a learned model: the recorded runs' figures, the rehearsal's
   * over its first `observed.runs` requests (the recorded volume), and over all of them.
   */
  learned: {
    source: LearnedModel['source'];
    fittedAt: string;
    observed: BehaviourFigures;
    atRecordedVolume: BehaviourFigures;
    projected: BehaviourFigures;
  } | null;
  /** The approvals and escalations as a queue served by people (see reviewers.ts). */
  reviewers: ReviewerReport | null;
  /**
   * Each fleet budget given to the rehearsal (`--budget`, the agent module's `budgets`): whether
   * the rehearsed volume exhausts it, and when in its window (see budget-forecast.ts). Empty when none.
   */
  budgets: { tenant: string; forecasts: BudgetForecast[] };
  /** Active time per request on the run's own clock (simulated model and tool latency, backoff). */
  latencyMs: Spread;
  charts: { costHistogramUsd: Bin[]; latencyHistogramMs: Bin[] };
  timing: {
    elapsedMs: number;
    requestsPerSecond: number;
    modelCallsPerSecond: number;
    /** CPU ms of the runtime per model step: the process's CPU less the simulation's and the analysis's. */
    overheadCpuMsPerStep: number;
    queueDelayMs: { p50: number; p99: number };
    /** Requests finished in each consecutive bin of `binSeconds` of the rehearsal. */
    throughput: { binSeconds: number; finished: number[] };
  };
}

function sum(runs: readonly RunSummary[], f: (r: RunSummary) => number): number {
  let total = 0;
  for (const r of runs) total += f(r);
  return total;
}

const per1000 = (n: number, requests: number) => (requests === 0 ? 0 : round((n / requests) * 1000, 2));

/** Why a run cost what it did: the larger of model and tool spend first, then what drove it. */
export function whyExpensive(r: RunSummary): string {
  const toolNano = r.spentNano - r.modelCostNano;
  const model = [
    `${formatUsd(r.modelCostNano)} on ${r.modelCalls} model calls (${r.inputTokens} input tokens as the conversation grew, ${r.outputTokens} output tokens`,
  ];
  model[0] += r.maxOutputTokensOneCall >= 512 ? `, one completion of ${r.maxOutputTokensOneCall}: the heavy tail)` : ')';
  const failures = r.modelFailures.rateLimited + r.modelFailures.serverError + r.modelFailures.other;
  if (failures > 0) model.push(`${failures} failed model calls retried (${r.modelFailures.rateLimited}× 429, ${r.modelFailures.serverError}× 5xx)`);
  const tools =
    toolNano > 0 ? [`${formatUsd(toolNano)} on priced tool calls${r.retries.tool > 0 ? ` (${r.retries.tool} of them retries, each charged)` : ''}`] : [];
  const parts = toolNano > r.modelCostNano ? [...tools, ...model] : [...model, ...tools];
  parts.push(r.stopReason ? `stopped by ${r.stopReason}` : r.status);
  return parts.join('; ');
}

/** Builds the report from a rehearsal's outcome. `volumePerDay` sizes the cost projection (default: the request count). */
export function buildReport(
  outcome: RehearsalOutcome,
  volumePerDay = outcome.requests,
  people: Omit<ReviewerOptions, 'volumePerDay' | 'seed'> | null = null,
  budgets: { list: readonly ResolvedFleetBudget[]; tenant: string } = { list: [], tenant: 'default' },
): RehearsalReport {
  const { runs, timing } = outcome;
  // Rates and counts are over the requests that finished: all of them unless interrupted.
  const requests = runs.length;
  const unfinished = outcome.requests - runs.length;
  const costs = runs.map((r) => nanoToUsd(r.spentNano));
  const ceilingNano = runs[0]?.ceilingNano ?? 0;
  // The invariants hold on every run: a conversation's follow-up turns too.
  const every = outcome.followUps.length ? [...runs, ...outcome.followUps] : runs;
  const breaches = every.filter((r) => r.peakSpentNano > r.ceilingNano && r.overruns === 0).length;
  const overruns = sum(every, (r) => r.overruns);
  const openAtEnd = every.filter((r) => r.openReservationsAtEnd > 0).length;
  const unapproved = every.flatMap((r) => r.unapprovedDestructive.map((c) => ({ runId: r.runId, ...c })));
  const steps = sum(every, (r) => r.steps);
  const completeSteps = sum(every, (r) => r.completeSteps);
  const problems = every.filter((r) => r.traceProblems.length > 0);
  const unended = every.filter((r) => r.status === 'running' || r.status === 'queued').length;
  const loops = runs.filter((r) => r.loopCaughtAtStep !== null);
  const approvals = sum(runs, (r) => r.approvalsRequested);
  const escalations = sum(runs, (r) => r.escalations);
  const expensive = runs.reduce<RunSummary | null>((a, r) => (a === null || r.spentNano > a.spentNano ? r : a), null);
  const costSpread = spread(costs);
  const latency = spread(runs.map((r) => r.activeMs));
  const modelCalls = sum(runs, (r) => r.modelCalls + r.modelFailures.rateLimited + r.modelFailures.serverError + r.modelFailures.other);
  const seconds = Math.max(timing.elapsedMs / 1000, 1e-9);
  const overheadCpu = Math.max(0, timing.cpuMs - timing.simulationCpuMs - timing.analysisCpuMs);
  const queue = spread(timing.queueDelaysMs);
  const binSeconds = Math.max(0.1, Math.ceil(timing.elapsedMs / 24 / 100) / 10);
  const throughput: number[] = new Array(Math.max(1, Math.ceil(timing.elapsedMs / 1000 / binSeconds))).fill(0);
  for (const at of timing.finishedAtMs) throughput[Math.min(throughput.length - 1, Math.floor(at / 1000 / binSeconds))]!++;

  const byStatus = tally(runs.map((r) => r.status));
  if (unfinished > 0) byStatus.interrupted = unfinished;
  const byStopReason = tally(runs.filter((r) => r.stopReason).map((r) => r.stopReason!));
  const toolCallsByTier = {
    read: sum(runs, (r) => r.toolCalls.read),
    write: sum(runs, (r) => r.toolCalls.write),
    delete: sum(runs, (r) => r.toolCalls.delete),
  };
  const destructiveProposed = sum(runs, (r) => r.destructiveProposed);
  const completeShare = steps === 0 ? 1 : completeSteps / steps;
  const p = outcome.profile;

  const report: RehearsalReport = {
    agent: outcome.agent.name,
    seed: outcome.seed,
    requests: outcome.requests,
    concurrency: outcome.concurrency,
    interrupted: outcome.interrupted ? { finished: runs.length, interrupted: unfinished } : null,
    profile: { name: p.name, rates: p.rates, reviewer: p.reviewer, outage: p.outage },
    answers: { stopConditions: '', permissions: '', observability: '', cost: '' },
    checks: {
      everyRunEnded: unended === 0,
      noUnapprovedDestructive: unapproved.length === 0,
      completeTraces: completeSteps === steps && problems.length === 0,
      noCeilingBreach: breaches === 0,
      noOpenReservations: openAtEnd === 0,
    },
    stopConditions: {
      byStatus,
      byStopReason,
      loopsCaught: loops.length,
      loopCaughtAtStep: tally(loops.map((r) => String(r.loopCaughtAtStep))),
      runsWithoutNamedEnd: unended,
    },
    permissions: {
      toolCallsByTier,
      destructiveProposed,
      destructiveRanWithoutApproval: unapproved.length,
      unapprovedExamples: unapproved.slice(0, 5),
      approvalsPer1000: per1000(approvals, requests),
      escalationsPer1000: per1000(escalations, requests),
      approvals: {
        requested: approvals,
        approved: sum(runs, (r) => r.approvalsApproved),
        denied: sum(runs, (r) => r.approvalsDenied),
        leftWaiting: runs.filter((r) => r.parked === 'approval').length,
      },
      escalations: {
        total: escalations,
        byReason: tally(runs.flatMap((r) => r.escalationReasons)),
        leftWaiting: runs.filter((r) => r.parked === 'escalation').length,
      },
      rejectedProposals: { unknownTool: sum(runs, (r) => r.rejected.unknownTool), invalidArgs: sum(runs, (r) => r.rejected.invalidArgs) },
      deniedByPolicy: sum(runs, (r) => r.deniedByPolicy),
      reviewer: {
        ...p.reviewer,
        note: `No person takes part in a rehearsal: a simulated reviewer decides ${Math.round(p.reviewer.decides * 100)}% of what waits for a person (approving ${Math.round(p.reviewer.approves * 100)}% of those, denying or stopping the rest) so the rest of each run is exercised; the other ${Math.round((1 - p.reviewer.decides) * 100)}% stay waiting.`,
      },
      irreversiblePer1000: per1000(
        sum(runs, (r) => r.irreversibleActions),
        requests,
      ),
    },
    observability: {
      steps,
      completeSteps,
      completeShare: round(completeShare, 6),
      runsWithProblems: problems.length,
      examples: problems.slice(0, 5).map((r) => `${r.runId}: ${r.traceProblems.slice(0, 3).join('; ')}`),
    },
    cost: {
      perRequestUsd: mapSpread(costSpread, 9),
      totalUsd: round(
        costs.reduce((a, b) => a + b, 0),
        9,
      ),
      ceilingUsd: nanoToUsd(ceilingNano),
      ceilingBreaches: breaches,
      overruns,
      openReservationsAtEnd: openAtEnd,
      mostExpensive: expensive ? { runId: expensive.runId, costUsd: nanoToUsd(expensive.spentNano), why: whyExpensive(expensive) } : null,
      tokens: {
        input: sum(runs, (r) => r.inputTokens),
        output: sum(runs, (r) => r.outputTokens),
        maxOutputOneCall: Math.max(0, ...runs.map((r) => r.maxOutputTokensOneCall)),
      },
      projection: {
        volumePerDay,
        typicalUsd: round(costSpread.mean * volumePerDay, 4),
        badDayUsd: round(costSpread.p99 * volumePerDay, 4),
        boundUsd: round(nanoToUsd(ceilingNano) * volumePerDay, 4),
      },
    },
    models: modelsReport(outcome, runs),
    conversations: conversationsReport(outcome),
    coordination: {
      retries: { model: sum(runs, (r) => r.retries.model), tool: sum(runs, (r) => r.retries.tool), total: sum(runs, (r) => r.retries.model + r.retries.tool) },
      retryBudgetRefusals: sum(runs, (r) => r.retryRefusals),
      globalRetryBudgetRefusals: null,
      breakerOpenings: null,
      modelErrors: {
        rateLimited: sum(runs, (r) => r.modelFailures.rateLimited),
        serverError: sum(runs, (r) => r.modelFailures.serverError),
        other: sum(runs, (r) => r.modelFailures.other),
      },
      toolFailures: sum(runs, (r) => r.toolFailures),
      toolTimeouts: sum(runs, (r) => r.toolTimeouts),
      lowConfidenceSteps: sum(runs, (r) => r.lowConfidenceSteps),
      gateBelowThreshold: sum(runs, (r) => r.gateBelowThreshold),
      planErrors: sum(runs, (r) => r.planErrors),
      plansRejected: sum(runs, (r) => r.plansRejected),
    },
    learned: outcome.learned
      ? {
          source: outcome.learned.source,
          fittedAt: outcome.learned.fittedAt,
          observed: outcome.learned.observed,
          atRecordedVolume: behaviourFigures(runs.slice(0, outcome.learned.observed.runs)),
          projected: behaviourFigures(runs),
        }
      : null,
    reviewers: people ? reviewerReport(queueRuns(runs, outcome.agent, people.approvalTimeoutMs), { ...people, volumePerDay, seed: outcome.seed }) : null,
    budgets: {
      tenant: budgets.tenant,
      forecasts: forecastBudgets(
        budgets.list,
        runs.map((r) => r.spentNano),
        volumePerDay,
        { agent: outcome.agent.name, tenant: budgets.tenant },
      ),
    },
    latencyMs: mapSpread(latency, 1),
    charts: {
      costHistogramUsd: histogram(costs, 24),
      latencyHistogramMs: histogram(
        runs.map((r) => r.activeMs),
        24,
      ),
    },
    timing: {
      elapsedMs: Math.round(timing.elapsedMs),
      requestsPerSecond: round(requests / seconds, 1),
      modelCallsPerSecond: round(modelCalls / seconds, 1),
      overheadCpuMsPerStep: round(steps ? overheadCpu / steps : 0, 3),
      queueDelayMs: { p50: round(queue.p50, 2), p99: round(queue.p99, 2) },
      throughput: { binSeconds, finished: throughput },
    },
  };
  report.answers = answers(report);
  return report;
}

function mapSpread(s: Spread, digits: number): Spread {
  return { mean: round(s.mean, digits), p50: round(s.p50, digits), p95: round(s.p95, digits), p99: round(s.p99, digits), max: round(s.max, digits) };
}

const money = (v: number) => formatUsd(usdToNano(v));
const count = (n: number) => n.toLocaleString('en-US');

/** The four sign-off questions, answered in a sentence or two each from the figures. */
function answers(r: RehearsalReport): RehearsalReport['answers'] {
  const s = r.stopConditions;
  const stopped =
    Object.entries(s.byStopReason)
      .map(([k, n]) => `${k} ${count(n)}`)
      .join(', ') || 'none';
  const waiting = (s.byStatus.waiting_approval ?? 0) + (s.byStatus.escalated ?? 0);
  const loopSteps = Object.keys(s.loopCaughtAtStep)
    .map(Number)
    .sort((a, b) => a - b);
  const pm = r.permissions;
  const c = r.cost;
  return {
    stopConditions:
      `${s.runsWithoutNamedEnd === 0 ? 'Every one' : `All but ${count(s.runsWithoutNamedEnd)}`} of ${count(r.interrupted?.finished ?? r.requests)} requests${r.interrupted ? ' that finished' : ''} ended with a named reason or waits for a person: ` +
      `${count(s.byStatus.completed ?? 0)} completed, stops: ${stopped}; ${count(waiting)} wait for a person. ` +
      (s.loopsCaught > 0
        ? `${count(s.loopsCaught)} loops were caught, at step ${loopSteps[0]}${loopSteps.length > 1 ? `–${loopSteps.at(-1)}` : ''}.`
        : 'No loop occurred.'),
    permissions:
      `${count(pm.destructiveRanWithoutApproval)} destructive calls ran without approval (${count(pm.destructiveProposed)} delete-tier calls were proposed). ` +
      `A person would face ${pm.approvalsPer1000} approvals and ${pm.escalationsPer1000} escalations per 1,000 requests.`,
    observability: `${round(r.observability.completeShare * 100, 2)}% of ${count(r.observability.steps)} steps have a complete decision trace${r.observability.runsWithProblems ? ` (${r.observability.runsWithProblems} runs with gaps)` : ''}.`,
    cost:
      `${c.ceilingBreaches === 0 ? 'No request crossed' : `${count(c.ceilingBreaches)} requests crossed`} the ${money(c.ceilingUsd)} ceiling unrecorded` +
      `${c.overruns > 0 ? ` (${count(c.overruns)} provider overruns were recorded and stopped their runs)` : ''}; ` +
      `${count(c.openReservationsAtEnd)} runs ended with a reservation open; per request p50 ${money(c.perRequestUsd.p50)}, p99 ${money(c.perRequestUsd.p99)}, max ${money(c.perRequestUsd.max)}. ` +
      `At ${count(c.projection.volumePerDay)} requests a day: about ${money(c.projection.typicalUsd)} typical, ${money(c.projection.badDayUsd)} if every request cost the p99, and never above ${money(c.projection.boundUsd)} (every request at its ceiling).`,
  };
}
