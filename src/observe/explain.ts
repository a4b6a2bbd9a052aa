import { usd } from '../guard/budget.ts';
import type { AnyRunEvent } from '../runtime/events.ts';

const PREVIEW = 160;

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined';
  } catch {
    text = String(value);
  }
  text = text.replace(/\s+/g, ' ');
  return text.length > PREVIEW ? `${text.slice(0, PREVIEW)}…` : text;
}

/**
 * One event in plain words: what happened and why. This is the decision trace a person reads in
 * `warden run`, `warden runs show` and the dashboard; `null` for bookkeeping events.
 */
export function explainEvent(e: AnyRunEvent): string | null {
  switch (e.type) {
    case 'run.submitted':
      return `Request for agent ${e.data.agent} (tenant ${e.data.tenant}), ceiling ${usd(Math.round(e.data.limits.maxCostUsd * 1e9))}, at most ${e.data.limits.maxSteps} steps: ${preview(e.data.input)}`;
    case 'run.started':
      return e.data.session === 1 ? `Started on ${e.data.worker}.` : `Resumed on ${e.data.worker} (session ${e.data.session}) after event ${e.data.resumedFrom}.`;
    case 'budget.reserved':
      return `Reserved ${usd(e.data.amountNano)} for the ${e.data.purpose} call (spent ${usd(e.data.before.spentNano)} of ${usd(e.data.before.ceilingNano)}).`;
    case 'budget.committed':
      return e.data.assumed
        ? `Charged the full ${usd(e.data.actualNano)} reserved: the call's outcome was lost with its process.`
        : null;
    case 'model.called': {
      const t = e.data.turn;
      const what = t.toolCalls.length
        ? `proposed ${t.toolCalls.map((c) => `${c.tool}(${preview(c.args)})`).join(', ')}`
        : `answered: ${preview(t.text)}`;
      const why = t.rationale ? ` Why: ${preview(t.rationale)}` : t.toolCalls.length && t.text ? ` Why: ${preview(t.text)}` : '';
      const confidence = t.confidence !== undefined ? `, confidence ${t.confidence.toFixed(2)}` : '';
      return `Step ${e.data.step}: the model ${what} (${t.usage.inputTokens} in / ${t.usage.outputTokens} out tokens, ${usd(e.data.costNano)}${confidence}).${why}`;
    }
    case 'model.failed':
      return `Model call for step ${e.data.step} failed (${e.data.failure.kind}: ${preview(e.data.failure.message)})${e.data.willRetry ? `; retrying in ${e.data.retryInMs} ms` : '; not retried'}.`;
    case 'tool.rejected':
      return `Rejected ${e.data.tool}: ${preview(e.data.error.message)} The model is told and may try again.`;
    case 'policy.decided':
      return `Policy: ${e.data.tool} (${e.data.tier}) → ${e.data.decision}, by ${e.data.rule}: ${e.data.reason}.`;
    case 'approval.requested':
      return `Waiting for a person to approve ${e.data.tool}(${preview(e.data.args)}) [${e.data.approvalId}].`;
    case 'approval.decided':
      return `${e.data.by} ${e.data.decision} ${e.data.approvalId}${e.data.reason ? `: ${e.data.reason}` : ''}.`;
    case 'tool.denied':
      return `Denied ${e.data.tool} (${e.data.by}): ${e.data.reason}.`;
    case 'tool.started':
      return e.data.attempt === 1 ? `Running ${e.data.tool}.` : `Running ${e.data.tool} again (attempt ${e.data.attempt}, same idempotency key).`;
    case 'tool.succeeded':
      return `${e.data.tool} returned in ${e.data.durationMs} ms: ${preview(e.data.result)}`;
    case 'tool.failed':
      return `${e.data.tool} failed (attempt ${e.data.attempt}): ${preview(e.data.error.message)}${e.data.willRetry ? `; retrying in ${e.data.retryInMs ?? 0} ms` : ''}.`;
    case 'escalated':
      return `Escalated to a person (${e.data.reason}) [${e.data.escalationId}]: ${preview(e.data.evidence.detail ?? e.data.evidence)}`;
    case 'escalation.decided':
      return `${e.data.by} decided ${e.data.decision} on ${e.data.escalationId}${e.data.reason ? `: ${e.data.reason}` : ''}.`;
    case 'limit.hit':
      return `Limit reached (${e.data.limit}): ${e.data.detail}`;
    case 'cancel.requested':
      return `${e.data.by} asked to cancel: ${e.data.reason}.`;
    case 'run.completed':
      return `Completed: ${preview(e.data.output)}`;
    case 'run.failed':
      return `Failed (${e.data.error.code}): ${e.data.error.message}`;
    case 'run.stopped':
      return `Stopped (${e.data.reason}).`;
    case 'run.cancelled':
      return `Cancelled by ${e.data.by}: ${e.data.reason}.`;
    case 'plan.proposed':
      return `The model proposed a plan of ${e.data.steps.length} step(s): ${preview(e.data.steps.map((st) => `${st.id}=${st.tool}`).join(', '))}.`;
    case 'plan.rejected':
      return `Plan rejected before anything ran (${e.data.rejections} so far): ${preview(e.data.issues.map((i) => i.message).join(' '))}`;
    case 'plan.verified':
      return `Plan verified: order ${e.data.order.join(' → ')}, estimated ${usd(e.data.estimateNano)}${e.data.needsApproval.length ? `; needs a person for ${e.data.needsApproval.join(', ')}${e.data.awaitsApproval ? ' (approve the plan as a whole)' : ''}` : ''}.`;
    case 'plan.amended':
      return `${e.data.tool} is not the plan's next step (${preview(e.data.reason)}), but passed verification on its own.`;
    case 'step.assessed': {
      const what = e.data.callId ? `Call ${e.data.callId}` : 'The final answer';
      const plan = e.data.planStep ? `, plan step "${e.data.planStep}"` : e.data.deviation ? ', outside the plan' : '';
      const conf = e.data.confidence !== null ? `, confidence ${e.data.confidence}${e.data.threshold !== null ? ` (threshold ${e.data.threshold})` : ''}` : '';
      return `${what}${plan}${conf}: ${e.data.verdict === 'escalate' ? 'goes to a person' : 'goes ahead'} — ${e.data.reason}.`;
    }
    case 'child.spawned':
      return `Delegated to ${e.data.agent}: child run ${e.data.childRunId} (depth ${e.data.depth}), sharing this request's ceiling.`;
    case 'child.waiting':
      return `Waiting: child run ${e.data.childRunId} needs a person [${e.data.pendingId}].`;
    case 'child.resumed':
      return `Child run ${e.data.childRunId} was decided; going on.`;
    case 'lock.acquired':
      return e.data.waitedMs > 0 ? `Took lock "${e.data.key}" after waiting ${e.data.waitedMs} ms for another run.` : null;
    default:
      return null;
  }
}
