import { dependenciesOf, PLAN_TOOL, planSchema, substituteRefs, valueAt } from '../core/plan.ts';
import type { Tier } from '../core/tiers.ts';
import { inputTokenBound, remainingNano } from '../guard/budget.ts';
import { type PlanContext, type PlanVerdict, verifyPlan } from '../guard/plan-verifier.ts';
import { tokensToNano } from '../core/money.ts';
import { hashValue } from '../core/canonical.ts';
import { modelMessages } from '../core/fold.ts';
import type { CallState, RunState } from '../core/run-state.ts';
import type { RunContext } from './run-context.ts';
import { stopRun } from './decide/run-end.ts';
import { approvalId } from '../core/ids.ts';
import { mustExist } from '../core/errors.ts';
import { askApproval } from './decide/vetting.ts';
import { approvalDeadline } from '../guard/policy.ts';

/** Output tokens assumed per model call when a plan's cost is estimated (a typical turn, not the worst case). */
export const PLAN_ESTIMATE_OUTPUT_TOKENS = 512;

const TIER_ORDER: Tier[] = ['read', 'write', 'delete'];

/** Facts established by the calls that already ran in this run. */
function establishedFacts(ctx: RunContext): Set<string> {
  const facts = new Set<string>();
  for (const c of ctx.state.calls.values()) {
    if (c.status !== 'executed') continue;
    for (const f of ctx.agent.toolsByName.get(c.tool)?.provides ?? []) facts.add(f);
  }
  return facts;
}

function planContext(ctx: RunContext): PlanContext {
  const s = ctx.state;
  const input = inputTokenBound({ system: ctx.agent.instructions, messages: modelMessages(s), tools: [] });
  return {
    establishedFacts: establishedFacts(ctx),
    remainingToolCalls: s.limits.maxToolCalls - s.toolCalls,
    remainingSteps: s.limits.maxSteps - s.steps,
    remainingNano: remainingNano(s),
    modelCallNano: tokensToNano(input, ctx.pricing.inputPerMTok) + tokensToNano(PLAN_ESTIMATE_OUTPUT_TOKENS, ctx.pricing.outputPerMTok),
  };
}

/** The model called `submit_plan`: verify the plan, accept it, send it back, or ask a person. */
export async function proposePlan(ctx: RunContext, call: CallState): Promise<void> {
  const planId = `plan_${call.callId}`;
  const options = mustExist(ctx.agent.plan, 'the plan options of an agent that plans');
  const parsed = call.parseError ? null : planSchema.safeParse(call.args);
  let verdict: PlanVerdict;
  if (!parsed?.success) {
    const why =
      call.parseError ??
      parsed?.error.issues
        .slice(0, 6)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
    verdict = { ok: false as const, issues: [{ code: 'invalid_args' as const, message: `The plan is not in the expected shape: ${why}.` }], estimateNano: 0 };
  } else {
    ctx.emit('plan.proposed', { callId: call.callId, planId, steps: parsed.data.steps });
    verdict = await verifyPlan(parsed.data, ctx.agent, planContext(ctx));
  }
  if (!verdict.ok) {
    const rejections = ctx.state.planRejections + 1;
    ctx.emit('plan.rejected', { callId: call.callId, planId, issues: verdict.issues, rejections });
    if (rejections > options.maxRejections) {
      stopRun(ctx, {
        limit: 'plan_rejected',
        detail: `The model proposed ${rejections} plans that cannot run (at most ${options.maxRejections} rejections allowed); the last: ${verdict.issues.map((i) => i.message).join(' ')}`,
      });
    }
    return;
  }
  const awaitsApproval = options.approveAsWhole && verdict.needsApproval.length > 0;
  ctx.emit('plan.verified', {
    callId: call.callId,
    planId,
    order: verdict.order,
    estimateNano: verdict.estimateNano,
    needsApproval: verdict.needsApproval,
    awaitsApproval,
  });
  if (!awaitsApproval) return;
  const steps = parsed?.data?.steps ?? [];
  const tier = steps
    .filter((st) => verdict.needsApproval.includes(st.id))
    .map((st) => mustExist(ctx.agent.toolsByName.get(st.tool), 'the tool the call names').tier)
    .reduce<Tier>((a, b) => (TIER_ORDER.indexOf(b) > TIER_ORDER.indexOf(a) ? b : a), 'read');
  const id = approvalId(ctx.runId, call.callId);
  const reason = `the plan has ${verdict.needsApproval.length} step(s) that need a person (${verdict.needsApproval.join(', ')}); approve the whole plan once`;
  askApproval(ctx, {
    id,
    call,
    tool: PLAN_TOOL,
    tier,
    reason,
    evidence: { planId, needsApproval: verdict.needsApproval },
    deadline: approvalDeadline(ctx.agent, null, ctx.now()),
  });
}

/**
 * Finds the verified plan's step this call carries out: a step not yet done, whose dependencies
 * are done, with the same tool and exactly the planned arguments (references filled in from the
 * outputs they name).
 */
export function matchPlanStep(state: RunState, call: CallState): { stepId: string } | { deviation: string } {
  const plan = mustExist(state.plan, 'the accepted plan');
  const outputOf = (stepId: string) => {
    const done = plan.steps.get(stepId);
    return done?.callId ? state.calls.get(done.callId)?.result : undefined;
  };
  let expected: unknown;
  for (const id of plan.order) {
    const st = mustExist(plan.steps.get(id), 'the plan step');
    if (st.status !== 'pending' && st.status !== 'failed') continue;
    if (st.step.tool !== call.tool) continue;
    if (!dependenciesOf(st.step).every((d) => plan.steps.get(d)?.status === 'done')) continue;
    const args = substituteRefs(st.step.args, (ref) => valueAt(outputOf(ref.step), ref.path));
    if (hashValue(args) === call.argsHash) return { stepId: id };
    expected ??= args;
  }
  if (expected !== undefined) return { deviation: `the plan has ${call.tool} with ${JSON.stringify(expected)}` };
  return { deviation: `no step of the plan that is ready now uses ${call.tool}` };
}

/** Verifies one call that departs from the plan as if it were a one-step plan; returns the problems. */
export async function reverifyCall(ctx: RunContext, call: CallState): Promise<string[]> {
  const verdict = await verifyPlan({ steps: [{ id: call.callId, tool: call.tool, args: call.args as Record<string, unknown> }] }, ctx.agent, planContext(ctx));
  return verdict.ok ? [] : verdict.issues.map((i) => i.message);
}
