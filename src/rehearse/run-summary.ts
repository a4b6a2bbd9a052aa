import type { Agent } from '../agent/agent.ts';
import { delegateTarget } from '../agent/agent.ts';
import { PLAN_TOOL } from '../core/plan.ts';
import { isReversible } from '../agent/tool.ts';
import type { Tier } from '../core/tiers.ts';
import type { AnyRunEvent, RunStatus, StopReason } from '../core/events.ts';
import { usdToNano } from '../core/money.ts';
import { projectRun, type RunProjection } from '../core/projection.ts';

/**
 * One rehearsed run, reduced to the figures the report needs. Everything here is read from the
 * run's event log alone; nothing is taken from the simulation's own bookkeeping.
 */
export interface RunSummary {
  runId: string;
  status: RunStatus;
  stopReason: StopReason | null;
  stopDetail: string | null;
  spentNano: number;
  /** The part of the spend that paid for model calls (the rest paid for priced tools, or was assumed). */
  modelCostNano: number;
  ceilingNano: number;
  /** Highest spend any budget event recorded (a breach shows here even if later undone). */
  peakSpentNano: number;
  /** Calls that cost more than was reserved for them (`budget.overrun`: a provider reporting more than asked). */
  overruns: number;
  /** Reservations written and never settled by the end of the log (must be 0). */
  openReservationsAtEnd: number;
  /** Active time of the run on its own clock (parked time excluded), ms. */
  activeMs: number;
  steps: number;
  modelCalls: number;
  modelFailures: { rateLimited: number; serverError: number; other: number };
  retries: { model: number; tool: number };
  /** Failures a retry could have fixed, refused because the run's retry budget (maxRetries) was spent. */
  retryRefusals: number;
  /** Executed tool calls (first attempts) by tier. */
  toolCalls: Record<Tier, number>;
  /** Executed tool calls (first attempts) by tool name. */
  toolCallsByName: Record<string, number>;
  /** Sum and count of the confidence the model reported on its turns (for the learned model's fidelity check). */
  confidence: { sum: number; count: number };
  toolFailures: number;
  toolTimeouts: number;
  /**
   * Delete-tier or approval-required calls that started with no `approval.decided` approved for
   * their exact argsHash (or a person's edit of those exact arguments).
   */
  unapprovedDestructive: { callId: string; tool: string }[];
  approvalsRequested: number;
  approvalsApproved: number;
  approvalsDenied: number;
  escalations: number;
  escalationReasons: string[];
  /** Each time the run waited for a person, at the run's active time then (ms since its start, parked time excluded). */
  waits: { kind: 'approval' | 'escalation'; atActiveMs: number; tool: string | null }[];
  /** Still waiting for a person when the rehearsal ended. */
  parked: 'approval' | 'escalation' | null;
  rejected: { unknownTool: number; invalidArgs: number };
  deniedByPolicy: number;
  /** Delete-tier calls the model proposed (wanted or not). */
  destructiveProposed: number;
  /** Step at which the loop detector stopped the run. */
  loopCaughtAtStep: number | null;
  /** Model answers whose self-reported confidence was below the threshold (what the model said, not the gate's score). */
  lowConfidenceSteps: number;
  /**
   * Calls and final answers the confidence gate scored below its threshold (`step.assessed`). Each is
   * weighed on its own, so one answer proposing three calls counts three, and a call a person edits is weighed
   * again: this, not `lowConfidenceSteps`, is what the `low_confidence` escalations count.
   */
  gateBelowThreshold: number;
  /** The run's projection (`core/projection.ts`): the figures every other view shows. */
  projection: RunProjection;
  /** Calls that ran before an earlier step had established what they `require`. */
  planErrors: number;
  plansRejected: number;
  /** Write or delete calls that ran and declare no compensation. */
  irreversibleActions: number;
  inputTokens: number;
  outputTokens: number;
  maxOutputTokensOneCall: number;
  /** Model steps whose decision trace is complete, out of `steps`. */
  completeSteps: number;
  traceProblems: string[];
}

/** Below this self-reported confidence a step counts as low-confidence when the agent sets no threshold. */
export const DEFAULT_LOW_CONFIDENCE = 0.5;

interface CallTrace {
  step: number;
  tool: string;
  argsHash: string | null;
  tier: Tier | null;
  decided: boolean;
  started: boolean;
  finished: boolean;
  /** Hashes of the arguments a person approved for this call. */
  approved: Set<string>;
  /** The policy asked for a person's approval (or the tier is delete). */
  needsApproval: boolean;
  parkedOn: boolean;
}

/**
 * Summarises one run from its events (in log order). `agent` supplies what the log does not
 * repeat: each tool's `requires` / `provides` and the escalation threshold.
 */
export function summarizeRun(events: readonly AnyRunEvent[], agent: Agent): RunSummary {
  const first = events[0];
  if (first?.type !== 'run.submitted') throw new Error('a run log starts with run.submitted');
  const p = projectRun(events);
  const s: RunSummary = {
    runId: first.runId,
    status: 'queued',
    stopReason: null,
    stopDetail: null,
    spentNano: 0,
    modelCostNano: 0,
    ceilingNano: usdToNano(first.data.limits.maxCostUsd),
    peakSpentNano: 0,
    overruns: 0,
    openReservationsAtEnd: 0,
    activeMs: 0,
    steps: 0,
    modelCalls: 0,
    modelFailures: { rateLimited: 0, serverError: 0, other: 0 },
    retries: { model: 0, tool: 0 },
    retryRefusals: 0,
    toolCalls: { read: 0, write: 0, delete: 0 },
    toolCallsByName: {},
    confidence: { sum: 0, count: 0 },
    toolFailures: 0,
    toolTimeouts: 0,
    unapprovedDestructive: [],
    approvalsRequested: 0,
    approvalsApproved: 0,
    approvalsDenied: 0,
    escalations: 0,
    escalationReasons: [],
    waits: [],
    parked: null,
    rejected: { unknownTool: 0, invalidArgs: 0 },
    deniedByPolicy: 0,
    destructiveProposed: 0,
    loopCaughtAtStep: null,
    lowConfidenceSteps: 0,
    gateBelowThreshold: 0,
    projection: p,
    planErrors: 0,
    plansRejected: 0,
    irreversibleActions: 0,
    inputTokens: 0,
    outputTokens: 0,
    maxOutputTokensOneCall: 0,
    completeSteps: 0,
    traceProblems: [],
  };
  const threshold = agent.escalation?.threshold ?? DEFAULT_LOW_CONFIDENCE;
  const calls = new Map<string, CallTrace>();
  const reservations = new Map<string, boolean>();
  const facts = new Set<string>();
  const stepModelOk = new Map<number, boolean>();
  let lastAt = first.at;
  let parkedSince: number | null = null;
  let ended = false;
  let escalation: { callId?: string; reason: string } | null = null;

  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.seq !== i + 1) s.traceProblems.push(`event ${i + 1} has seq ${e.seq}`);
    if (parkedSince === null) s.activeMs += Math.max(0, e.at - lastAt);
    lastAt = e.at;
    switch (e.type) {
      case 'budget.reserved':
        reservations.set(e.data.reservationId, false);
        break;
      case 'budget.overrun':
        s.overruns++;
        break;
      case 'budget.committed':
        if (reservations.has(e.data.reservationId)) reservations.set(e.data.reservationId, true);
        s.spentNano += e.data.actualNano;
        s.peakSpentNano = Math.max(s.peakSpentNano, s.spentNano, e.data.after.spentNano);
        break;
      case 'model.called': {
        s.steps = e.data.step;
        s.modelCalls++;
        s.modelCostNano += e.data.costNano;
        const { turn } = e.data;
        s.inputTokens += turn.usage.inputTokens;
        s.outputTokens += turn.usage.outputTokens;
        s.maxOutputTokensOneCall = Math.max(s.maxOutputTokensOneCall, turn.usage.outputTokens);
        if (turn.confidence !== undefined && turn.confidence < threshold) s.lowConfidenceSteps++;
        if (turn.confidence !== undefined) {
          s.confidence.sum += turn.confidence;
          s.confidence.count++;
        }
        const reserved = reservations.get(`m${e.data.step}.${e.data.attempt}`);
        stepModelOk.set(e.data.step, reserved === true && Number.isInteger(e.data.costNano));
        for (const c of turn.toolCalls) {
          calls.set(c.callId, {
            step: e.data.step,
            tool: c.tool,
            argsHash: null,
            tier: null,
            decided: false,
            started: false,
            finished: false,
            approved: new Set(),
            needsApproval: false,
            parkedOn: false,
          });
          if (agent.toolsByName.get(c.tool)?.tier === 'delete') s.destructiveProposed++;
        }
        break;
      }
      case 'model.failed': {
        const kind = e.data.failure.kind;
        if (kind === 'rate_limited') s.modelFailures.rateLimited++;
        else if (kind === 'server_error') s.modelFailures.serverError++;
        // An open breaker is Warden refusing the call, not the provider answering with an error.
        else if (kind !== 'breaker_open') s.modelFailures.other++;
        if (e.data.willRetry) s.retries.model++;
        else if (e.data.failure.retryable) s.retryRefusals++;
        break;
      }
      case 'model.fallback':
        // The failure just counted went to the next model at once: only spent retries were refused.
        if (e.data.reason === 'breaker_open') s.retryRefusals--;
        break;
      case 'tool.rejected': {
        const c = calls.get(e.data.callId);
        if (c) c.decided = c.finished = true;
        if (e.data.error.code === 'UNKNOWN_TOOL') s.rejected.unknownTool++;
        else s.rejected.invalidArgs++;
        break;
      }
      case 'policy.decided': {
        const c = calls.get(e.data.callId);
        if (c)
          Object.assign(c, { decided: true, tier: e.data.tier, argsHash: e.data.argsHash, needsApproval: c.needsApproval || e.data.decision === 'approve' });
        break;
      }
      case 'plan.rejected': {
        s.plansRejected++;
        const c = calls.get(e.data.callId);
        if (c) c.decided = c.finished = true;
        break;
      }
      case 'plan.verified': {
        const c = calls.get(e.data.callId);
        if (c) {
          c.decided = true;
          c.finished = !e.data.awaitsApproval; // otherwise it finishes when a person approves the plan
        }
        break;
      }
      case 'tool.shadowed': {
        const c = calls.get(e.data.callId);
        if (c) Object.assign(c, { decided: true, finished: true, tier: e.data.tier });
        break;
      }
      case 'approval.requested':
        s.approvalsRequested++;
        s.waits.push({ kind: 'approval', atActiveMs: s.activeMs, tool: e.data.tool });
        markParked(calls, e.data.callId);
        parkedSince = e.at;
        break;
      case 'approval.decided': {
        parkedSince = null;
        const c = calls.get(e.data.callId);
        if (e.data.decision === 'approved') {
          s.approvalsApproved++;
          if (c) c.approved.add(e.data.argsHash);
          if (c && c.tool === PLAN_TOOL) c.finished = true; // the plan is accepted once approved
        } else {
          s.approvalsDenied++;
          if (c) c.finished = true;
        }
        break;
      }
      case 'tool.denied': {
        s.deniedByPolicy++;
        const c = calls.get(e.data.callId);
        if (c) c.finished = true;
        break;
      }
      case 'tool.started': {
        const c = calls.get(e.data.callId);
        if (!c) {
          s.traceProblems.push(`tool.started for unknown call ${e.data.callId}`);
          break;
        }
        c.started = true;
        if (e.data.attempt === 1 && c.tier) s.toolCalls[c.tier]++;
        if (e.data.attempt === 1) s.toolCallsByName[e.data.tool] = (s.toolCallsByName[e.data.tool] ?? 0) + 1;
        if ((c.tier === 'delete' || c.needsApproval) && (c.argsHash === null || !c.approved.has(c.argsHash))) {
          s.unapprovedDestructive.push({ callId: e.data.callId, tool: e.data.tool });
        }
        const tool = agent.toolsByName.get(e.data.tool);
        if (e.data.attempt === 1 && (tool?.requires ?? []).some((fact) => !facts.has(fact))) s.planErrors++;
        break;
      }
      case 'tool.succeeded': {
        const c = calls.get(e.data.callId);
        if (c) c.finished = true;
        const done = agent.toolsByName.get(e.data.tool);
        if (done && done.tier !== 'read' && !isReversible(done) && !delegateTarget(done)) s.irreversibleActions++;
        for (const fact of agent.toolsByName.get(e.data.tool)?.provides ?? []) facts.add(fact);
        break;
      }
      case 'tool.failed': {
        const c = calls.get(e.data.callId);
        if (e.data.error.code === 'TOOL_TIMEOUT') s.toolTimeouts++;
        else s.toolFailures++;
        if (e.data.willRetry) s.retries.tool++;
        else if (c) c.finished = true;
        const next = events[i + 1];
        if (!e.data.willRetry && next?.type === 'limit.hit' && next.data.limit === 'max_retries') s.retryRefusals++;
        break;
      }
      case 'escalated':
        escalation = { callId: e.data.callId, reason: e.data.reason };
        s.escalations++;
        s.escalationReasons.push(e.data.reason);
        s.waits.push({ kind: 'escalation', atActiveMs: s.activeMs, tool: e.data.callId ? (calls.get(e.data.callId)?.tool ?? null) : null });
        if (e.data.callId) markParked(calls, e.data.callId);
        parkedSince = e.at;
        break;
      case 'escalation.decided': {
        parkedSince = null;
        const c = escalation?.callId ? calls.get(escalation.callId) : undefined;
        if (c && e.data.decision === 'edit' && e.data.argsHash) {
          c.argsHash = e.data.argsHash;
          // An unknown outcome re-run with edited arguments runs on the person's word, not the policy's again.
          if (escalation?.reason === 'unknown_outcome') c.approved.add(e.data.argsHash);
        }
        escalation = null;
        break;
      }
      case 'limit.hit':
        if (e.data.limit === 'loop_detected') s.loopCaughtAtStep = s.steps;
        break;
      case 'run.completed':
        s.status = 'completed';
        ended = true;
        break;
      case 'run.failed':
        s.status = 'failed';
        s.stopDetail = `${e.data.error.code}: ${e.data.error.message}`;
        ended = true;
        break;
      case 'run.stopped':
        s.status = 'stopped';
        s.stopReason = e.data.reason;
        s.stopDetail = e.data.detail;
        ended = true;
        if (events[i - 1]?.type !== 'limit.hit') s.traceProblems.push('run.stopped without the limit.hit that names it');
        break;
      case 'run.cancelled':
        s.status = 'cancelled';
        s.stopReason = 'cancelled';
        s.stopDetail = e.data.reason;
        ended = true;
        break;
      default:
        break;
    }
  }

  // The figures every view shows come from the projection, never from the walk above; the walk
  // keeps what only a rehearsal audits (unapproved destructive calls, trace completeness, plan errors).
  s.steps = p.steps;
  s.modelCalls = p.modelCalls.answered;
  s.retries = { model: p.retries.model, tool: p.retries.tool };
  s.toolCalls = { ...p.toolCalls.ranByTier };
  s.approvalsRequested = p.approvals.requested;
  s.approvalsApproved = p.approvals.approved;
  s.approvalsDenied = p.approvals.denied;
  s.escalations = p.escalations.total;
  s.escalationReasons = Object.entries(p.escalations.byReason).flatMap(([reason, n]) => new Array<string>(n).fill(reason));
  s.gateBelowThreshold = p.assessments.belowThreshold;
  s.overruns = p.overruns;
  s.plansRejected = p.plan.rejected;
  s.spentNano = p.costNano;
  for (const settled of reservations.values()) if (!settled) s.openReservationsAtEnd++;
  const lastEvent = events.at(-1)!;
  if (!ended) {
    const pending = lastEvent.type === 'approval.requested' ? 'approval' : lastEvent.type === 'escalated' ? 'escalation' : null;
    s.parked = pending;
    s.status = pending === 'approval' ? 'waiting_approval' : pending === 'escalation' ? 'escalated' : s.status;
    if (!pending) s.traceProblems.push(`the log ends with ${lastEvent.type}: the run neither ended with a reason nor waits for a person`);
  }
  // A step's trace is complete when its model call was reserved and settled, and every call it
  // proposed was decided (rejected or judged by policy) and finished — or the run ended or parked
  // on it, which its last event says.
  for (let step = 1; step <= s.steps; step++) {
    const own = [...calls.values()].filter((c) => c.step === step);
    const callsOk = own.every((c) => (c.decided || ended) && (c.finished || c.parkedOn || ended || (!c.started && c.decided && !!s.parked)));
    if (stepModelOk.get(step) && callsOk && (ended || s.parked)) s.completeSteps++;
    else s.traceProblems.push(`step ${step} has an incomplete trace`);
  }
  return s;
}

function markParked(calls: Map<string, CallTrace>, callId: string): void {
  const c = calls.get(callId);
  if (c) c.parkedOn = true;
}
