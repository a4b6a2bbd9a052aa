import { delegateTarget } from '../agent/agent.ts';
import { PLAN_TOOL } from '../core/plan.ts';
import type { AnyTool } from '../agent/tool.ts';
import { checkArgs } from '../guard/check-args.ts';
import { approvalDeadline, decidePolicy, type PolicyVerdict } from '../guard/policy.ts';
import type { ConfidenceScore } from '../core/confidence.ts';
import { hashValue } from '../core/canonical.ts';
import { PARKED_STATUSES, TERMINAL_STATUSES } from '../core/events.ts';
import type { CallState } from '../core/run-state.ts';
import { matchPlanStep, proposePlan, reverifyCall } from './plan-step.ts';
import type { RunContext } from './run-context.ts';
import { stopRun } from './decide/run-end.ts';
import { approvalId } from '../core/ids.ts';
import { mustExist } from '../core/errors.ts';
import { askApproval, escalate, reject, scoreCall } from './decide/vetting.ts';

/**
 * Checks the latest turn's proposed calls in the order the model gave them: schema, plan, policy,
 * confidence. Stops at the first call that makes the run wait for a person (one decision at a time).
 */
export async function vetProposed(ctx: RunContext): Promise<void> {
  const last = ctx.state.turns.at(-1);
  if (!last) return;
  for (const id of last.callIds) {
    const call = mustExist(ctx.state.calls.get(id), 'the call in the run state');
    if (call.status !== 'proposed') continue;
    await vetCall(ctx, call);
    const status = ctx.state.status;
    if (TERMINAL_STATUSES.has(status) || PARKED_STATUSES.has(status)) return;
  }
}

async function vetCall(ctx: RunContext, call: CallState): Promise<void> {
  const { agent } = ctx;
  if (call.tool === PLAN_TOOL && agent.plan) return await proposePlan(ctx, call);
  const tool = agent.toolsByName.get(call.tool);
  if (!tool) {
    const known = [...agent.toolsByName.keys()].join(', ') || '(none)';
    return reject(ctx, call, 'UNKNOWN_TOOL', `There is no tool named "${call.tool}". Available tools: ${known}.`);
  }
  if (call.parseError) {
    return reject(ctx, call, 'INVALID_TOOL_ARGS', `The arguments for "${call.tool}" are not valid JSON (${call.parseError}).`);
  }
  const parsed = checkArgs(tool.input, call.args);
  if (!parsed.ok) {
    return reject(
      ctx,
      call,
      'INVALID_TOOL_ARGS',
      `Invalid arguments for "${call.tool}": ${parsed.message}. Expected JSON Schema: ${JSON.stringify(tool.jsonSchema)}`,
    );
  }

  // Plan mode: the call must be the verified plan's next step, or pass verification on its own.
  let planStep: string | null = null;
  let deviation: string | null = null;
  if (agent.plan && !call.cleared) {
    if (!ctx.state.plan?.accepted) {
      return reject(ctx, call, 'PLAN_REQUIRED', `Plan mode: propose the whole plan with ${PLAN_TOOL} before calling tools.`);
    }
    const match = matchPlanStep(ctx.state, call);
    if ('stepId' in match) planStep = match.stepId;
    else deviation = match.deviation;
    if (deviation && agent.plan.onDeviation === 'escalate') {
      assess(ctx, call, null, deviation, null, 'escalate', `departs from the verified plan: ${deviation}`);
      return escalate(ctx, call, 'plan_deviation', `${call.tool} departs from the verified plan: ${deviation}`, { deviation });
    }
    if (deviation) {
      const issues = await reverifyCall(ctx, call);
      if (issues.length)
        return reject(ctx, call, 'PLAN_DEVIATION', `${call.tool} is not in the verified plan (${deviation}) and does not pass on its own: ${issues.join(' ')}`);
      ctx.emit('plan.amended', { callId: call.callId, tool: call.tool, reason: deviation });
    }
  }

  const verdict: PolicyVerdict = await decidePolicy(agent, tool, parsed.data);
  ctx.emit('policy.decided', { callId: call.callId, tool: tool.name, tier: tool.tier, argsHash: call.argsHash, ...verdict });
  if (verdict.decision === 'deny') {
    ctx.emit('tool.denied', { callId: call.callId, tool: tool.name, by: verdict.rule, reason: verdict.reason });
    if (agent.policy.onDeny === 'stop') stopRun(ctx, { limit: 'denied', detail: `${tool.name} was denied by ${verdict.rule}: ${verdict.reason}` });
    return;
  }

  if (ctx.state.mode === 'shadow' && tool.tier !== 'read' && !delegateTarget(tool)) {
    // Shadow mode: record the call it would have made and the decision it would have met; make nothing.
    if (agent.plan || agent.escalation) assess(ctx, call, planStep, deviation, null, 'proceed', 'shadow mode: recorded, not made');
    ctx.emit('tool.shadowed', { callId: call.callId, tool: tool.name, tier: tool.tier, args: call.args, ...verdict, standIn: standIn(tool, parsed.data) });
    return;
  }

  const plan = ctx.state.plan;
  // A plan approved as a whole covers a step only when the approver saw its arguments as they
  // run: a step whose arguments came from an earlier step's result ($ref) waits for its own approval.
  const planned = planStep !== null ? plan?.steps.get(planStep)?.step : undefined;
  const sawArgs = planned !== undefined && hashValue(planned.args) === call.argsHash;
  const coveredByPlan = verdict.decision === 'approve' && sawArgs && plan?.approvedBy && plan.approvalId;
  if (verdict.decision === 'approve' && !coveredByPlan) {
    if (agent.plan || agent.escalation)
      assess(ctx, call, planStep, deviation, null, 'proceed', 'the policy asks a person to approve it, which takes the place of the score');
    const id = approvalId(ctx.runId, call.callId, call.edits);
    const reason =
      planned && !sawArgs && plan?.approvedBy
        ? `${verdict.reason}; the plan's approver saw ${JSON.stringify(planned.args)}, and these arguments were filled in at run time`
        : verdict.reason;
    askApproval(ctx, {
      id,
      call,
      tool: tool.name,
      tier: tool.tier,
      reason,
      evidence: { rule: verdict.rule, tier: tool.tier },
      deadline: approvalDeadline(agent, tool, ctx.now()),
    });
    return;
  }

  const score = agent.escalation && !call.cleared ? scoreCall(ctx.state, ctx.agent, call, deviation !== null) : null;
  const threshold = agent.escalation?.threshold ?? null;
  if (score && threshold !== null && score.score < threshold) {
    assess(ctx, call, planStep, deviation, score, 'escalate', `confidence ${score.score} is below the threshold ${threshold}`);
    return escalate(ctx, call, 'low_confidence', `${call.tool}: confidence ${score.score} is below the threshold ${threshold}`, {
      confidence: score.score,
      threshold,
      factors: score.factors,
    });
  }
  if (agent.plan || agent.escalation) {
    const why = [
      planStep ? `step "${planStep}" of the verified plan` : deviation ? `outside the plan, verified on its own (${deviation})` : null,
      score && threshold !== null ? `confidence ${score.score} ≥ threshold ${threshold}` : call.cleared ? 'cleared by a person' : null,
    ].filter(Boolean);
    assess(ctx, call, planStep, deviation, score, 'proceed', why.join('; ') || 'no check applies');
  }
  if (coveredByPlan && plan?.approvedBy) {
    ctx.emit('approval.decided', {
      approvalId: `${plan.approvalId}#${planStep}`,
      callId: call.callId,
      decision: 'approved',
      by: plan.approvedBy,
      reason: `approved with plan ${plan.planId}: these exact arguments are its step "${planStep}"`,
      argsHash: call.argsHash,
    });
  }
}

function assess(
  ctx: RunContext,
  call: CallState,
  planStep: string | null,
  deviation: string | null,
  score: ConfidenceScore | null,
  verdict: 'proceed' | 'escalate',
  reason: string,
): void {
  ctx.emit('step.assessed', {
    callId: call.callId,
    planStep,
    deviation: deviation !== null,
    confidence: score?.score ?? null,
    threshold: ctx.agent.escalation?.threshold ?? null,
    factors: score?.factors ?? [],
    verdict,
    reason,
  });
}

const SHADOW_NOTE = 'Shadow mode: this action was recorded for review, not performed. Carry on as if it had succeeded.';

function standIn(tool: AnyTool, args: unknown): unknown {
  if (!tool.shadowResult) return { shadow: true, note: SHADOW_NOTE };
  try {
    return tool.shadowResult(args);
  } catch (e) {
    return { shadow: true, note: `${SHADOW_NOTE} (shadowResult threw: ${e instanceof Error ? e.message : String(e)})` };
  }
}
