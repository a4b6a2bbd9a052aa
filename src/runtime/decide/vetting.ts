import type { Agent } from '../../agent/agent.ts';
import type { ConfidenceScore } from '../../core/confidence.ts';
import type { CallState, RunState } from '../../core/run-state.ts';
import { escalationId } from '../../core/ids.ts';
import { scoreStep } from '../../guard/confidence.ts';
import { retriesOverdrawn } from '../../guard/limits.ts';
import type { Decisions } from './decisions.ts';
import { stopRun } from './run-end.ts';
import type { Tier } from '../../core/tiers.ts';
import type { ApprovalDeadline } from '../../guard/policy.ts';

// What vetting decides once the checks have spoken: refuse a call, or ask a person, from the state.

/** Refuses a proposed call before it runs; the model is told why. A refusal draws on the retries. */
export function reject(d: Decisions, call: CallState, code: string, message: string): void {
  d.emit('tool.rejected', { callId: call.callId, tool: call.tool, error: { code, message } });
  const hit = retriesOverdrawn(d.state);
  if (hit) stopRun(d, hit);
}

/** Scores a proposed call from the signals the log holds. */
export function scoreCall(s: RunState, agent: Agent, call: CallState, planDeviation: boolean): ConfidenceScore {
  const turn = s.turns.find((t) => t.step === call.step)?.turn;
  let recentErrors = 0;
  for (const c of s.calls.values()) {
    if (c.step >= call.step - 2 && c.callId !== call.callId && (c.status === 'failed' || c.status === 'rejected')) recentErrors++;
  }
  return scoreStep(agent.escalation?.scorer, {
    ...(turn?.confidence !== undefined ? { modelConfidence: turn.confidence } : {}),
    ...(turn?.avgLogprob !== undefined ? { avgLogprob: turn.avgLogprob } : {}),
    planDeviation,
    recentErrors,
    retries: s.retries,
    maxRetries: s.limits.maxRetries,
  });
}

/** Parks the run on a person's decision about this call: approve, edit, take over or stop. */
export function escalate(d: Decisions, call: CallState, reason: string, detail: string, extra: Record<string, unknown>): void {
  const id = escalationId(d.state.runId, call.callId, reason === 'low_confidence' ? 'lc' : 'pd');
  const evidence = { tool: call.tool, args: call.args, step: call.step, detail, ...extra };
  d.emit('escalated', { escalationId: id, reason, callId: call.callId, evidence });
  d.intervene({
    id,
    kind: 'escalation',
    callId: call.callId,
    tool: call.tool,
    args: call.args,
    argsHash: call.argsHash,
    reason: detail,
    evidence,
    requestedAt: d.now(),
  });
}

/** What the run asks a person to approve: a call with its exact arguments, or a whole plan. */
export interface ApprovalAsk {
  id: string;
  call: CallState;
  tool: string;
  tier: Tier;
  reason: string;
  evidence: Record<string, unknown>;
  deadline: ApprovalDeadline | null;
}

/** Parks the run on an approval of these exact arguments, with its deadline when it has one. */
export function askApproval(d: Decisions, ask: ApprovalAsk): void {
  const { id, call, tool, tier, reason, evidence, deadline } = ask;
  const expiry = deadline ? { expiresAt: deadline.expiresAt, onTimeout: deadline.onTimeout } : {};
  d.emit('approval.requested', { approvalId: id, callId: call.callId, tool, tier, args: call.args, argsHash: call.argsHash, reason, ...expiry });
  d.intervene({
    id,
    kind: 'approval',
    callId: call.callId,
    tool,
    args: call.args,
    argsHash: call.argsHash,
    reason,
    evidence: deadline ? { ...evidence, onTimeout: deadline.onTimeout } : evidence,
    requestedAt: d.now(),
    expiresAt: deadline?.expiresAt ?? null,
  });
}

/** Scores a final answer; below the threshold the run waits for a person before it completes. */
export function gateFinalAnswer(d: Decisions, agent: Agent, text: string): boolean {
  const esc = agent.escalation;
  if (!esc) return false;
  const s = d.state;
  const turn = s.turns.at(-1)?.turn;
  const score = scoreStep(esc.scorer, {
    ...(turn?.confidence !== undefined ? { modelConfidence: turn.confidence } : {}),
    ...(turn?.avgLogprob !== undefined ? { avgLogprob: turn.avgLogprob } : {}),
    planDeviation: false,
    recentErrors: [...s.calls.values()].filter((c) => c.step >= s.steps - 2 && (c.status === 'failed' || c.status === 'rejected')).length,
    retries: s.retries,
    maxRetries: s.limits.maxRetries,
  });
  const low = score.score < esc.threshold;
  d.emit('step.assessed', {
    callId: null,
    planStep: null,
    deviation: false,
    confidence: score.score,
    threshold: esc.threshold,
    factors: score.factors,
    verdict: low ? 'escalate' : 'proceed',
    reason: low
      ? `the answer's confidence ${score.score} is below the threshold ${esc.threshold}`
      : `the answer's confidence ${score.score} ≥ threshold ${esc.threshold}`,
  });
  if (!low) return false;
  const id = escalationId(d.state.runId, `answer${s.steps}`, 'lc');
  const detail = `final answer: confidence ${score.score} is below the threshold ${esc.threshold}`;
  const evidence = { answer: text, step: s.steps, detail, confidence: score.score, threshold: esc.threshold, factors: score.factors };
  d.emit('escalated', { escalationId: id, reason: 'low_confidence', evidence });
  d.intervene({ id, kind: 'escalation', callId: null, tool: null, args: null, argsHash: null, reason: detail, evidence, requestedAt: d.now() });
  return true;
}
