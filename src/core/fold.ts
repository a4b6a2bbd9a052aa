import { PLAN_TOOL } from './plan.ts';
import type { ConversationMessage, ToolResultMessage } from './ports/model.ts';
import { mustExist, WardenError } from './errors.ts';
import { hashValue } from './canonical.ts';
import { type Appliers, call, closeTurnIfResolved, isResolved } from './fold-calls.ts';
import { ORCHESTRATION_APPLY, planDecided } from './fold-orchestration.ts';
import { UNDO_APPLY } from './fold-undo.ts';
import { emptyTally, tallyEvent } from './fold-tally.ts';
import type { CallState, RunState } from './run-state.ts';

export { isResolved };
import { type AnyRunEvent, definesEventType, EVENT_SCHEMA_VERSION, PARKED_STATUSES, TERMINAL_STATUSES } from './events.ts';
import { usdToNano } from './money.ts';

const PARKING_EVENTS = new Set(['approval.requested', 'escalated']);

/** The reason of an escalation an expired approval turned into (`onTimeout: 'escalate'`). */
export const APPROVAL_TIMEOUT = 'approval_timeout';

/** Builds the initial state from `run.submitted`. */
function initialState(event: AnyRunEvent): RunState {
  if (event.type !== 'run.submitted') {
    throw new WardenError('STORE_CORRUPT', `A run's log must start with run.submitted, found ${event.type}`, {
      context: { runId: event.runId },
    });
  }
  const d = event.data;
  return {
    runId: event.runId,
    agent: d.agent,
    tenant: d.tenant,
    input: d.input,
    rootRunId: d.rootRunId,
    parentRunId: d.parentRunId,
    agentFile: d.agentFile,
    limits: d.limits,
    model: d.model,
    seq: event.seq,
    status: 'queued',
    stopReason: null,
    stopDetail: null,
    output: null,
    error: null,
    createdAt: event.at,
    lastEventAt: event.at,
    activeMs: 0,
    sessions: 0,
    crashedSessions: 0,
    sessionOpen: false,
    steps: 0,
    stepModel: { index: 0, since: 1 },
    stepAttempts: 0,
    toolCalls: 0,
    retries: 0,
    spentNano: 0,
    ceilingNano: usdToNano(d.limits.maxCostUsd),
    openReservations: new Map(),
    calls: new Map(),
    turns: [],
    pending: null,
    cancelRequested: null,
    repeats: new Map(),
    lastRepeat: null,
    seen: new Set(),
    stepsWithoutProgress: 0,
    conversation: d.conversation ? { ...d.conversation } : null,
    history: null,
    lineage: d.lineage ?? [],
    proposedPlan: null,
    plan: null,
    planRejections: 0,
    children: new Map(),
    mode: d.mode ?? 'live',
    executedOrder: [],
    undo: null,
    tally: emptyTally(),
    outputRepairs: 0,
  };
}

/** Replays a whole log. `applyEvent` is the same function the live loop uses, one event at a time. */
export function foldRun(events: readonly AnyRunEvent[]): RunState {
  const [first, ...rest] = events;
  if (first === undefined) throw new WardenError('STORE_CORRUPT', 'A run with no events cannot be folded');
  const state = initialState(first);
  for (const event of rest) applyEvent(state, event);
  return state;
}

/** Mutates `state` by one event. Pure in the sense that matters: the result depends on the log only. */
export function applyEvent(state: RunState, event: AnyRunEvent): void {
  if (event.v > EVENT_SCHEMA_VERSION) {
    throw new WardenError(
      'STORE_CORRUPT',
      `Event ${event.seq} of run ${state.runId} has schema v${event.v}; this Warden reads up to v${EVENT_SCHEMA_VERSION}. Upgrade Warden.`,
    );
  }
  if (!definesEventType(event.v, event.type)) {
    throw new WardenError(
      'STORE_CORRUPT',
      `Event ${event.seq} of run ${state.runId} has type "${String(event.type)}", which schema v${event.v} does not define`,
      {
        context: { runId: state.runId },
      },
    );
  }
  if (event.seq !== state.seq + 1) {
    throw new WardenError('STORE_CORRUPT', `Run ${state.runId}: event seq ${event.seq} follows ${state.seq}`, {
      context: { runId: state.runId },
    });
  }
  const gap = Math.max(0, event.at - state.lastEventAt);
  if (state.pending === null) state.activeMs += gap;
  state.seq = event.seq;
  state.lastEventAt = event.at;
  APPLY[event.type]?.(state, event.data as never);
  tallyEvent(state.tally, event.type, event.data, state);
  if (PARKING_EVENTS.has(event.type) && state.status !== 'cancelled') {
    state.status = event.type === 'escalated' ? 'escalated' : 'waiting_approval';
  }
  if (TERMINAL_STATUSES.has(state.status) || PARKED_STATUSES.has(state.status)) state.sessionOpen = false;
}

const APPLY: Appliers = {
  ...ORCHESTRATION_APPLY,
  ...UNDO_APPLY,
  'run.started': (s, d) => {
    if (s.sessionOpen) s.crashedSessions++;
    s.sessionOpen = true;
    s.sessions = d.session;
    if (s.status === 'queued') s.status = 'running';
  },
  'budget.reserved': (s, d) => {
    s.openReservations.set(d.reservationId, d.amountNano);
    if (d.fleet?.length) {
      s.reservationFleet ??= new Map();
      s.reservationFleet.set(d.reservationId, d.fleet);
    }
  },
  'budget.committed': (s, d) => {
    s.openReservations.delete(d.reservationId);
    s.reservationFleet?.delete(d.reservationId);
    s.spentNano += d.actualNano;
  },
  'model.called': (s, d) => {
    s.steps = d.step;
    s.stepAttempts = 0;
    s.stepModel = { index: 0, since: 1 };
    const callIds: string[] = [];
    for (const proposed of d.turn.toolCalls) {
      callIds.push(proposed.callId);
      s.calls.set(proposed.callId, {
        callId: proposed.callId,
        tool: proposed.tool,
        args: proposed.args,
        argsHash: hashValue(proposed.args),
        parseError: proposed.parseError,
        step: d.step,
        status: 'proposed',
        attempts: 0,
      });
    }
    s.turns.push({ step: d.step, turn: d.turn, callIds });
  },
  'conversation.history': (s, d) => {
    s.history = { turns: d.turns, ...(d.summary ? { summary: d.summary } : {}) };
  },
  'model.failed': (s, d) => {
    s.stepAttempts = d.attempt;
    if (d.willRetry) s.retries += 1;
  },
  'model.fallback': (s, d) => {
    s.stepModel = { index: d.index, since: d.attempt + 1 };
  },
  'tool.rejected': (s, d) => {
    const c = call(s, d.callId);
    c.status = 'rejected';
    c.error = d.error;
    c.note = d.error.message;
    s.retries += 1;
    closeTurnIfResolved(s);
  },
  'policy.decided': (s, d) => {
    const c = call(s, d.callId);
    c.tier = d.tier;
    c.decision = { decision: d.decision, rule: d.rule, reason: d.reason };
    if (d.decision === 'allow') c.status = 'ready';
  },
  'approval.requested': (s, d) => {
    const c = call(s, d.callId);
    c.status = 'pending_approval';
    c.approvalId = d.approvalId;
    s.pending = { id: d.approvalId, kind: 'approval', callId: d.callId, reason: d.reason, ...(d.expiresAt !== undefined ? { expiresAt: d.expiresAt } : {}) };
  },
  'approval.decided': (s, d) => {
    const c = call(s, d.callId);
    s.pending = null;
    if (s.status === 'waiting_approval') s.status = 'queued';
    if (c.tool === PLAN_TOOL) return planDecided(s, c, d.decision === 'approved', d.by, d.approvalId);
    if (d.decision === 'approved') {
      c.status = 'ready';
      c.approvedBy = d.by;
    } else {
      c.status = 'denied';
      c.note = `Denied by ${d.by}: ${d.reason || 'no reason given'}`;
      closeTurnIfResolved(s);
    }
  },
  'approval.expired': (s, d) => {
    const c = call(s, d.callId);
    s.pending = null;
    if (s.status === 'waiting_approval') s.status = 'queued';
    if (d.outcome === 'escalated') return; // the `escalated` event that follows parks the run again
    if (c.tool === PLAN_TOOL) {
      planDecided(s, c, false, 'nobody', d.approvalId);
      c.note = 'Nobody approved the plan in time. Propose a different plan.';
      return;
    }
    c.status = 'denied';
    c.note = 'Denied: nobody decided the approval in time';
    closeTurnIfResolved(s);
  },
  'tool.denied': (s, d) => {
    const c = call(s, d.callId);
    c.status = 'denied';
    c.note = `Not allowed (${d.by}): ${d.reason}`;
    closeTurnIfResolved(s);
  },
  'tool.started': (s, d) => {
    const c = call(s, d.callId);
    if (d.attempt === 1) s.toolCalls += 1;
    c.status = 'running';
    c.attempts = d.attempt;
  },
  'tool.succeeded': (s, d) => {
    const c = call(s, d.callId);
    c.status = 'executed';
    c.result = d.result;
    c.error = undefined;
    const key = `${c.tool}\u0000${c.argsHash}\u0000${hashValue(d.result)}`;
    let repeat = s.repeats.get(key);
    if (!repeat) {
      repeat = { tool: c.tool, args: c.args, steps: [] };
      s.repeats.set(key, repeat);
    }
    repeat.steps.push(c.step);
    s.lastRepeat = repeat;
    const planStep = c.planStep ? s.plan?.steps.get(c.planStep) : undefined;
    if (planStep) planStep.status = 'done';
    s.executedOrder.push(c.callId);
    closeTurnIfResolved(s);
  },
  'tool.failed': (s, d) => {
    const c = call(s, d.callId);
    c.error = d.error;
    if (d.willRetry) {
      s.retries += 1;
      c.status = 'ready';
    } else {
      c.status = 'failed';
      c.note = `Failed: ${d.error.message}`;
      const planStep = c.planStep ? s.plan?.steps.get(c.planStep) : undefined;
      if (planStep) planStep.status = 'failed';
      closeTurnIfResolved(s);
    }
  },
  escalated: (s, d) => {
    s.pending = { id: d.escalationId, kind: 'escalation', ...(d.callId ? { callId: d.callId } : {}), reason: d.reason };
    if (d.callId) call(s, d.callId).status = 'escalated';
  },
  'escalation.decided': (s, d) => {
    // An unknown outcome is decided as is; any other escalation sends the call back through the
    // schema and policy checks, cleared of the confidence gate by the person's decision.
    const rerun = s.pending?.reason === 'unknown_outcome';
    // An approval that expired into this escalation: the person answering it decides the call itself.
    const expired = s.pending?.reason === APPROVAL_TIMEOUT;
    // A person decided on the request an input guard escalated: it is not asked about again.
    if (s.pending?.reason === 'guard_input') s.inputGuardCleared = true;
    s.pending = null;
    if (s.status === 'escalated') s.status = 'queued';
    const callId = s.turns.length ? findEscalatedCall(s) : undefined;
    if (!callId) return;
    const c = call(s, callId);
    if (d.decision === 'approve') {
      c.status = rerun || expired ? 'ready' : 'proposed';
      c.cleared = true;
      if (expired) c.approvedBy = d.by;
    } else if (d.decision === 'edit') {
      // Edited arguments are a new call as far as the checks go: schema, policy and approval run
      // again on them (the person's edit clears only the confidence gate), even after an unknown outcome.
      c.args = d.args;
      c.argsHash = d.argsHash ?? hashValue(d.args);
      c.status = 'proposed';
      c.cleared = true;
      c.parseError = undefined;
      c.approvedBy = undefined;
      c.edits = (c.edits ?? 0) + 1;
    } else {
      c.status = 'skipped';
      c.note = `Stopped by ${d.by}: ${d.reason || 'no reason given'}`;
    }
  },
  'limit.hit': () => {},
  'cancel.requested': (s, d) => {
    s.cancelRequested = { by: d.by, reason: d.reason };
  },
  'output.rejected': (s, d) => {
    s.outputRepairs = d.repair;
    const turn = s.turns.findLast((t) => t.step === d.step);
    if (turn) turn.rejectedOutput = d.errors;
  },
  'run.completed': (s, d) => {
    s.status = 'completed';
    s.output = d.output;
    if (d.value !== undefined) s.outputValue = d.value;
    skipUnresolved(s);
  },
  'run.failed': (s, d) => {
    s.status = 'failed';
    s.error = d.error;
    skipUnresolved(s);
  },
  'run.stopped': (s, d) => {
    s.status = 'stopped';
    s.stopReason = d.reason;
    s.stopDetail = d.detail;
    skipUnresolved(s);
  },
  'run.cancelled': (s, d) => {
    s.status = 'cancelled';
    s.stopReason = 'cancelled';
    s.stopDetail = `Cancelled by ${d.by}: ${d.reason}`;
    s.pending = null;
    skipUnresolved(s);
  },
};

function findEscalatedCall(s: RunState): string | undefined {
  for (const c of s.calls.values()) if (c.status === 'escalated') return c.callId;
  return undefined;
}

function skipUnresolved(s: RunState): void {
  for (const c of s.calls.values()) {
    if (!isResolved(c.status) && c.status !== 'running') c.status = 'skipped';
  }
}

/** The next call of the current turn that still needs work, in the order the model proposed. */
export function nextOpenCall(state: RunState): CallState | undefined {
  const last = state.turns.at(-1);
  if (!last) return undefined;
  for (const id of last.callIds) {
    const c = mustExist(state.calls.get(id), 'the call in the run state');
    if (!isResolved(c.status)) return c;
  }
  return undefined;
}

/** The conversation as the model sees it, rebuilt from the log (so a resumed run sees the same). */
/** What the model is told when its final answer did not match the agent's `output` schema. */
export function repairRequest(errors: readonly string[]): string {
  return `Your answer does not match the required output format: ${errors.join('; ')}. Answer again with only the JSON value, nothing before or after it.`;
}

/**
 * Everything a model call of the run sends: the conversation's earlier turns as its history
 * decided (a summary first, when there is one), then the run's own conversation.
 */
export function modelMessages(state: RunState): ConversationMessage[] {
  const own = conversation(state);
  const h = state.history;
  if (!h) return own;
  const before: ConversationMessage[] = h.summary ? summaryMessages(h.summary) : [];
  for (const t of h.turns) before.push(...t.messages);
  return [...before, ...own];
}

/** How a summary of earlier turns is put to the model: said by the user, acknowledged by the assistant. */
export function summaryMessages(summary: { throughTurn: number; text: string }): ConversationMessage[] {
  return [
    { role: 'user', text: `Summary of this conversation through turn ${summary.throughTurn}:\n${summary.text}` },
    { role: 'assistant', text: 'Understood.', toolCalls: [] },
  ];
}

export function conversation(state: RunState): ConversationMessage[] {
  const messages: ConversationMessage[] = [{ role: 'user', text: state.input }];
  for (const t of state.turns) {
    const toolCalls = t.turn.toolCalls;
    messages.push({ role: 'assistant', text: t.turn.text, toolCalls });
    if (t.rejectedOutput) messages.push({ role: 'user', text: repairRequest(t.rejectedOutput) });
    if (toolCalls.length === 0) continue;
    const results: ToolResultMessage[] = [];
    for (const id of t.callIds) {
      const c = mustExist(state.calls.get(id), 'the call in the run state');
      if (!isResolved(c.status)) break;
      results.push(
        c.status === 'executed'
          ? { callId: id, tool: c.tool, output: c.result, isError: false }
          : { callId: id, tool: c.tool, output: c.note ?? c.status, isError: true },
      );
    }
    if (results.length > 0) messages.push({ role: 'tool', results });
  }
  return messages;
}
