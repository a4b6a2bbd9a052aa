import type { Agent } from '../agent/agent.ts';
import type { GuardStage } from '../agent/content-guard.ts';
import { escalationId } from '../core/ids.ts';
import { type GuardDecision, type GuardOutcome, runGuards } from '../guard/content-guards.ts';
import type { Decisions } from './decide/decisions.ts';
import { stopRun } from './decide/run-end.ts';

// Content guards at the three places a value crosses into the model or the log: the request (at
// submission, before `run.submitted` is written), the final answer (before `model.called`) and a
// tool's result (before `tool.succeeded`). Only what the guards let through is ever written.

/**
 * What the log holds in place of a blocked request or final answer. A run whose request or final
 * answer is exactly this stops with `guard_blocked`, so a replay of a blocked run — which only
 * has the placeholder — ends the same way without the guard seeing the original again.
 */
export const GUARD_WITHHELD = '[withheld by a content guard]';

/** A tool result a guard blocked fails with this code; a call failing with it stops the run. */
export const GUARD_BLOCKED_CODE = 'GUARD_BLOCKED';

/** Escalation reasons, by stage: what a person is asked about. */
export const GUARD_ESCALATION_REASON: Readonly<Record<GuardStage, string>> = Object.freeze({
  input: 'guard_input',
  output: 'guard_output',
  toolResult: 'guard_tool_result',
});

export function guardInfo(agent: Agent, tenant: string, stage: GuardStage, tool?: string) {
  return { stage, agent: agent.name, tenant, ...(tool ? { tool } : {}) };
}

/** The request as it may be written: redacted, withheld when blocked, or as given (allow, escalate). */
export async function guardRequest(agent: Agent, tenant: string, input: string): Promise<GuardOutcome<string> & { written: string }> {
  const out = await runGuards(agent.guards.input, input, guardInfo(agent, tenant, 'input'), agent.guards.timeoutMs);
  return { ...out, written: out.verdict === 'block' ? GUARD_WITHHELD : out.value };
}

/** Records each guard's decision (never the value it saw). */
export function emitGuardDecisions(d: Decisions, stage: GuardStage, decisions: readonly GuardDecision[], callId?: string): void {
  for (const g of decisions) d.emit('guard.decided', { stage, guard: g.guard, verdict: g.verdict, reason: g.reason, ...(callId ? { callId } : {}) });
}

export function stopGuardBlocked(d: Decisions, what: string, decisions: readonly GuardDecision[]): void {
  const last = decisions.at(-1);
  stopRun(d, { limit: 'guard_blocked', detail: last ? `Guard "${last.guard}" blocked ${what}: ${last.reason}` : `A content guard blocked ${what}.` });
}

/**
 * Parks the run on a person's decision about a value a guard escalated. With `answer` (a final
 * answer), approving completes the run with it; otherwise approving lets the run go on.
 */
export function escalateGuarded(d: Decisions, stage: GuardStage, decision: GuardDecision, evidence: Record<string, unknown>, key: string): void {
  const reason = GUARD_ESCALATION_REASON[stage];
  const id = escalationId(d.state.runId, key, 'guard');
  const detail = `guard "${decision.guard}" asks a person about ${stage === 'input' ? 'the request' : stage === 'output' ? 'the final answer' : 'a tool result'}: ${decision.reason}`;
  const full = { stage, guard: decision.guard, detail, ...evidence };
  d.emit('escalated', { escalationId: id, reason, evidence: full });
  d.intervene({ id, kind: 'escalation', callId: null, tool: null, args: null, argsHash: null, reason: detail, evidence: full, requestedAt: d.now() });
}

/**
 * Before the first model call: a request the input guards blocked stops the run; one they
 * escalate waits for a person once. Returns true when the run must not call the model now.
 */
export async function gateRequest(d: Decisions, agent: Agent): Promise<boolean> {
  const s = d.state;
  if (s.steps > 0 || s.stepAttempts > 0 || agent.guards.input.length === 0) return false;
  if (s.input === GUARD_WITHHELD) {
    stopGuardBlocked(d, 'the request', []);
    return true;
  }
  if (s.inputGuardCleared) return false;
  // Guards are asked again here for escalations only: redactions and blocks were settled at submission.
  const out = await runGuards(agent.guards.input, s.input, guardInfo(agent, s.tenant, 'input'), agent.guards.timeoutMs);
  const last = out.decisions.at(-1);
  if (out.verdict === 'escalate' && last) {
    emitGuardDecisions(d, 'input', [last]);
    escalateGuarded(d, 'input', last, { input: s.input }, 'input');
    return true;
  }
  if (out.verdict === 'block') {
    // A guard that answers differently now (it failed closed): still blocked, and said why.
    emitGuardDecisions(
      d,
      'input',
      out.decisions.filter((g) => g.verdict === 'block'),
    );
    stopGuardBlocked(d, 'the request', out.decisions);
    return true;
  }
  return false;
}
