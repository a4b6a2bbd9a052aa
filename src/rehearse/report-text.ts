import { formatUsd, usdToNano } from '../core/money.ts';
import type { RehearsalReport } from './report.ts';
import type { BudgetForecast } from './budget-forecast.ts';

const n = (v: number) => v.toLocaleString('en-US');
const money = (v: number) => formatUsd(usdToNano(v));
const ok = (good: boolean) => (good ? '✓' : '✗ MUST BE FIXED');
const pairs = (m: Record<string, number>, sep = ' · ') =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(sep) || 'none';
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function section(title: string, rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`), ''];
}

/** What a partial report says first: how far the rehearsal got, and that the figures cover only that. */
export function interruptedLine(r: RehearsalReport): string {
  const i = r.interrupted!;
  return `INTERRUPTED after ${n(i.finished)} of ${n(r.requests)} requests: ${n(i.interrupted)} interrupted (never started or cut); every figure below covers the ${n(i.finished)} that finished.`;
}

const pct = (v: number) => `${round1(v * 100)}%`;
const round1 = (v: number) => Math.round(v * 10) / 10;
const minutes = (ms: number) => (ms >= 3_600_000 ? `${round1(ms / 3_600_000)} h` : ms >= 60_000 ? `${round1(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

/** `h:mm` after the window's start; for a day window, the UTC time of day too. */
function intoWindow(ms: number, window: string): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const clock = `${h}:${String(m).padStart(2, '0')}`;
  return window === 'day'
    ? `${clock} into the day (${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')} UTC)`
    : `${clock} into the ${window === 'month' ? '30-day month' : `${window} window`}`;
}

/** Which budgets the rehearsed volume exhausts, and when in their window. */
export function budgetLines(r: RehearsalReport): string[] {
  const f = r.budgets.forecasts;
  if (f.length === 0) return [];
  return section(
    `Budgets at ${n(r.cost.projection.volumePerDay)} requests a day (arrivals spread evenly over each window, costs as rehearsed; runs of ${r.agent}, tenant ${r.budgets.tenant})`,
    f.map((b): [string, string] => [`${b.scope} ${b.window} ${money(b.maxUsd)}`, budgetVerdict(b)]),
  );
}

/** One budget's forecast in a sentence: exhausted when, or holds at what share. */
export function budgetVerdict(b: BudgetForecast): string {
  if (!b.covers) return 'does not cover these runs';
  if (b.exhausts)
    return `EXHAUSTED ${intoWindow(b.exhaustsAfterMs!, b.window)}, at request ${n(b.exhaustsAtRequest!)} of ${n(b.requestsPerWindow)}; ${n(b.refusedRequests)} refused or stopped; ${money(b.projectedUsd)} wanted (${pct(b.projectedFraction)})`;
  return `holds: ${money(b.projectedUsd)} of ${money(b.maxUsd)} (${pct(b.projectedFraction)}) over ${n(b.requestsPerWindow)} requests`;
}

/** Observed next to rehearsed: the rows a reader checks before trusting the projection. */
function learnedLines(r: RehearsalReport): string[] {
  const l = r.learned;
  if (!l) return [];
  const cols = [l.observed, l.atRecordedVolume, l.projected];
  const statuses = [
    ...new Set(
      cols.flatMap((c) => [
        ...Object.keys(c.status),
        ...Object.keys(c.stopReasons)
          .filter((k) => k !== 'cancelled')
          .map((k) => `stop:${k}`),
      ]),
    ),
  ];
  const tools = [...new Set(cols.flatMap((c) => Object.keys(c.toolCallsPerRun)))];
  const rows: [string, (c: (typeof cols)[number]) => string][] = [
    ...statuses.map((k): [string, (c: (typeof cols)[number]) => string] => [
      k.startsWith('stop:') ? `stopped by ${k.slice(5)}` : k,
      (c) => pct(k.startsWith('stop:') ? (c.stopReasons[k.slice(5)] ?? 0) : (c.status[k] ?? 0)),
    ]),
    ['steps per run mean / p99', (c) => `${c.stepsPerRun.mean} / ${c.stepsPerRun.p99}`],
    ...tools.map((t): [string, (c: (typeof cols)[number]) => string] => [`${t} calls per run`, (c) => String(c.toolCallsPerRun[t] ?? 0)]),
    ['tokens per step in / out', (c) => `${n(c.inputTokensPerStep)} / ${n(c.outputTokensPerStep)}`],
    ['cost p50 / p99', (c) => `${money(c.costUsd.p50)} / ${money(c.costUsd.p99)}`],
    ['active time p50 / p99', (c) => `${seconds(c.activeMs.p50)} / ${seconds(c.activeMs.p99)}`],
    ['approvals · escalations per 1,000', (c) => `${c.approvalsPer1000} · ${c.escalationsPer1000}`],
    ['approved share', (c) => pct(c.approvedShare)],
    ['model errors per 1,000 calls', (c) => String(c.modelErrorsPer1000)],
    ['tool failures per 1,000 attempts', (c) => String(c.toolFailuresPer1000)],
    ['mean confidence', (c) => String(c.meanConfidence)],
  ];
  const head = ['', `recorded (${n(l.observed.runs)})`, `rehearsed (${n(l.atRecordedVolume.runs)})`, `projected (${n(l.projected.runs)})`];
  const table = [head, ...rows.map(([label, f]) => [label, ...cols.map(f)])];
  const widths = head.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  return [
    `Learned behaviour: ${l.source.description} — ${n(l.source.runs)} runs${l.source.from ? ` from ${l.source.from.slice(0, 16)} to ${(l.source.to ?? '').slice(0, 16)}` : ''}`,
    ...table.map((row) => `  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')}`),
    '',
  ];
}

function reviewerLines(r: RehearsalReport): string[] {
  const v = r.reviewers;
  if (!v) return [];
  return section(`People: ${v.reviewers} reviewers, decision time ${v.decisionTime}, hours ${v.hours}, ${n(v.volumePerDay)} requests a day`, [
    ['approvals and escalations', `${n(v.items)} (${n(v.decided)} decided in time)`],
    [
      'time to decision p50 / p99',
      `${minutes(v.timeToDecisionMs.p50)} / ${minutes(v.timeToDecisionMs.p99)}  (mean wait before a person starts ${minutes(v.meanQueueWaitMs)})`,
    ],
    ['reviewers to keep up', `${n(v.keepUp)}  (the day's decisions fit in their hours)`],
    ['approval timeouts', `${pct(v.timedOutShare)} of items · ${pct(v.runsTimedOutShare)} of the runs that waited (timeout ${minutes(v.approvalTimeoutMs)})`],
    [`reviewers for p99 under ${minutes(v.needed.targetMs)}`, `${v.needed.reviewers === null ? 'none suffices' : n(v.needed.reviewers)}  (${v.needed.note})`],
  ]);
}

/** The report as a person reads it in a terminal. */
export function reportText(r: RehearsalReport): string {
  const s = r.stopConditions;
  const p = r.permissions;
  const o = r.observability;
  const c = r.cost;
  const k = r.coordination;
  const t = r.timing;
  const loopSteps = Object.entries(s.loopCaughtAtStep)
    .map(([step, count]) => `step ${step}: ${n(count)}`)
    .join(', ');
  const lines = [
    `Rehearsal of ${r.agent}: ${n(r.requests)} requests, ${r.learned ? 'learned behaviour, ' : ''}fault profile ${r.profile.name}, seed ${r.seed}, concurrency ${r.concurrency} — ${seconds(t.elapsedMs)}`,
    ...(r.interrupted ? [interruptedLine(r)] : []),
    '',
    ...learnedLines(r),
    'The four questions',
    `  1. What stops it looping forever?  ${r.answers.stopConditions}`,
    `  2. What may each tool do?          ${r.answers.permissions}`,
    `  3. Can we see why?                 ${r.answers.observability}`,
    `  4. What can one request cost?      ${r.answers.cost}`,
    '',
    ...section('Stop conditions', [
      ['runs by final status', pairs(s.byStatus)],
      ['stop reasons', pairs(s.byStopReason)],
      ['loops caught', s.loopsCaught ? `${n(s.loopsCaught)} (${loopSteps})` : '0'],
      ['runs without a named end', `${n(s.runsWithoutNamedEnd)} ${ok(r.checks.everyRunEnded)}`],
    ]),
    ...section('Permissions', [
      ['tool calls by tier', pairs(p.toolCallsByTier)],
      [
        'unapproved destructive calls',
        `${n(p.destructiveRanWithoutApproval)} ${ok(r.checks.noUnapprovedDestructive)}  (delete-tier or approval-required calls run without an approval of their exact arguments; ${n(p.destructiveProposed)} delete-tier proposed)`,
      ],
      [
        'approvals per 1,000 requests',
        `${p.approvalsPer1000}  (${n(p.approvals.requested)} asked: ${n(p.approvals.approved)} approved, ${n(p.approvals.denied)} denied, ${n(p.approvals.leftWaiting)} left waiting)`,
      ],
      ['escalations per 1,000 requests', `${p.escalationsPer1000}  (${pairs(p.escalations.byReason, ', ')}; ${n(p.escalations.leftWaiting)} left waiting)`],
      ['irreversible actions per 1,000', `${p.irreversiblePer1000}  (writes and deletes that ran with no compensation declared)`],
      [
        'proposals the runtime refused',
        `unknown tool ${n(p.rejectedProposals.unknownTool)} · invalid arguments ${n(p.rejectedProposals.invalidArgs)} · denied by policy ${n(p.deniedByPolicy)}`,
      ],
      ['reviewer', p.reviewer.note],
    ]),
    ...reviewerLines(r),
    ...budgetLines(r),
    ...section('Observability', [
      ['complete decision traces', `${(o.completeShare * 100).toFixed(2)}% of ${n(o.steps)} steps ${ok(r.checks.completeTraces)}`],
      ...o.examples.map((e): [string, string] => ['gap', e]),
    ]),
    ...section('Cost per request (retries included)', [
      ['p50 / p95 / p99 / max', [c.perRequestUsd.p50, c.perRequestUsd.p95, c.perRequestUsd.p99, c.perRequestUsd.max].map(money).join(' / ')],
      ['ceiling breaches', `${n(c.ceilingBreaches)} ${ok(r.checks.noCeilingBreach)}  (ceiling ${money(c.ceilingUsd)})`],
      ['overruns', `${n(c.overruns)}  (calls a provider billed above their reservation: recorded, and the run stopped)`],
      ['open reservations at run end', `${n(c.openReservationsAtEnd)} ${ok(r.checks.noOpenReservations)}`],
      ['most expensive', c.mostExpensive ? `${c.mostExpensive.runId} ${money(c.mostExpensive.costUsd)}: ${c.mostExpensive.why}` : '—'],
      [
        `projected per day at ${n(c.projection.volumePerDay)}`,
        `typical ${money(c.projection.typicalUsd)} · every request at p99 ${money(c.projection.badDayUsd)} · hard bound ${money(c.projection.boundUsd)}`,
      ],
      ['tokens', `${n(c.tokens.input)} in · ${n(c.tokens.output)} out · largest completion ${n(c.tokens.maxOutputOneCall)}`],
    ]),
    ...modelLines(r),
    ...conversationLines(r),
    ...section('Coordination', [
      ['throughput', `${n(t.requestsPerSecond)} requests/s · ${n(t.modelCallsPerSecond)} model calls/s`],
      ['retries', `model ${n(k.retries.model)} · tool ${n(k.retries.tool)}; refused by the run's retry budget ${n(k.retryBudgetRefusals)}`],
      [
        'global retry budget, breakers',
        k.breakerOpenings === null
          ? 'off in a rehearsal (each run keeps its own virtual clock; they need one clock for all runs)'
          : `${n(k.globalRetryBudgetRefusals ?? 0)} refusals · ${n(k.breakerOpenings)} openings`,
      ],
      ['provider errors', `429 ${n(k.modelErrors.rateLimited)} · 5xx ${n(k.modelErrors.serverError)} · other ${n(k.modelErrors.other)}`],
      ['tool failures · timeouts', `${n(k.toolFailures)} · ${n(k.toolTimeouts)}`],
      [
        'below the confidence threshold',
        `${n(k.gateBelowThreshold)} calls and answers scored below it by the gate (each weighed on its own: these are the low_confidence escalations) · ${n(k.lowConfidenceSteps)} model answers said so themselves`,
      ],
      ['plan errors', `${n(k.planErrors)} calls ran before what they require${k.plansRejected ? ` · ${n(k.plansRejected)} plans rejected` : ''}`],
      ['runtime overhead', `${t.overheadCpuMsPerStep} CPU ms per step`],
      ['queueing delay p50 / p99', `${t.queueDelayMs.p50} / ${t.queueDelayMs.p99} ms`],
      [
        'latency per request p50 / p99 / max',
        `${seconds(r.latencyMs.p50)} / ${seconds(r.latencyMs.p99)} / ${seconds(r.latencyMs.max)} (simulated model and tool time)`,
      ],
    ]),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The conversations, when the rehearsal drew follow-up messages. */
function conversationLines(r: RehearsalReport): string[] {
  const c = r.conversations;
  if (!c) return [];
  const cost = c.costPerConversationUsd;
  return section('Conversations', [
    ['follow-ups', `${Math.round(c.followUpRate * 100)}% of completed turns get one, up to ${n(c.maxTurns)} turns`],
    ['conversations', `${n(c.conversations)} (${n(c.withFollowUps)} with a follow-up), ${n(c.turns)} turns`],
    ['turns per conversation', `mean ${c.turnsPerConversation.mean}, max ${n(c.turnsPerConversation.max)}`],
    ['follow-up turns', pairs(c.followUpsByStatus) || 'none'],
    ['follow-up stop reasons', pairs(c.followUpStopReasons) || 'none'],
    ['cost per conversation p50 / p99 / max', `${money(cost.p50)} / ${money(cost.p99)} / ${money(cost.max)}`],
  ]);
}

/** The agent's models: who answered, the outage, the runs that fell back and what it cost. */
function modelLines(r: RehearsalReport): string[] {
  const m = r.models;
  if (!m) return [];
  const price = (x: { inputPerMTok: number; outputPerMTok: number }) => `$${x.inputPerMTok} / $${x.outputPerMTok} per M tokens`;
  const rows: [string, string][] = m.list.map((x) => [`${x.role} ${x.key}`, `${n(x.answers)} answers in ${n(x.runs)} runs  (${price(x)})`]);
  if (m.outage) {
    const o = m.outage;
    rows.push([
      'outage of the primary',
      `requests ${n(o.firstRequest)}–${n(o.lastRequest)} (${Math.round(o.share * 100)}%): ${n(o.fellBack)} of ${n(o.runs)} runs fell back, ${n(o.completed)} completed  (rehearsed as the primary's breaker open)`,
    ]);
  }
  rows.push(['runs that fell back', `${n(m.runsFellBack)}${m.runsFellBack ? `  (fallbacks by reason: ${pairs(m.fallbacksByReason, ', ')})` : ''}`]);
  const c = m.meanCostUsd;
  if (c.difference !== null && c.primaryOnly !== null && c.fellBack !== null) {
    rows.push([
      'mean cost per request',
      `primary alone ${money(c.primaryOnly)} · fell back ${money(c.fellBack)} · difference ${c.difference >= 0 ? '+' : '−'}${money(Math.abs(c.difference))}`,
    ]);
    if (m.extraCostUsd !== null)
      rows.push(['what falling back cost', `${m.extraCostUsd >= 0 ? '+' : '−'}${money(Math.abs(m.extraCostUsd))} over the same runs at the primary's mean`]);
  }
  return section('Models', rows);
}
