import { formatUsd, usdToNano } from '../core/money.ts';
import { type AnyRunEvent, type FallbackReason, modelKey, type StopReason } from '../core/events.ts';

const PREVIEW = 160;

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
  } catch {
    text = String(value);
  }
  text = text.replace(/\s+/g, ' ');
  return text.length > PREVIEW ? `${text.slice(0, PREVIEW)}…` : text;
}

/** Arguments as a person reads them: `orderId 1042, amount 250`. */
function args(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return preview(value);
  const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k} ${typeof v === 'string' ? v : preview(v)}`);
  return preview(parts.join(', ')) || 'no arguments';
}

/** What each stop condition means, for someone who never read the config. */
export const STOP_WORDS: Readonly<Record<StopReason, string>> = Object.freeze({
  max_steps: 'it used all the steps it is allowed',
  max_tool_calls: 'it used all the tool calls it is allowed',
  max_retries: 'too many things failed and it used all its retries',
  wall_time: 'it ran out of time',
  cost_ceiling: 'the next action could have gone over its cost limit',
  loop_detected: 'it was going round in circles, repeating itself without progress',
  denied: 'an action it needed was refused',
  cancelled: 'someone cancelled it',
  plan_rejected: 'it kept proposing plans that could not work',
  deadlock: 'runs were waiting on each other and would never finish',
  max_depth: 'it tried to hand work further down than allowed',
  max_children: 'it tried to start more helper runs than allowed',
  crashed: 'the process running it died every time it was started, so it is not started again',
  guard_blocked: 'a content guard would not let something through',
  budget_exhausted: 'a budget for its tenant, its agent or the whole deployment had no room left in its window',
  invalid_output: 'its answer never matched the format it must answer in, however often it was told why',
  conversation_ceiling: 'the conversation it is part of had spent all it may, across its turns',
});

/** Why a step went on to the next model, in words. */
export const FALLBACK_WORDS: Readonly<Record<FallbackReason, string>> = Object.freeze({
  breaker_open: 'its circuit breaker is open after repeated failures',
  not_retryable: 'its error is one that trying again cannot fix',
  retries_exhausted: 'it kept failing and the run may not retry it any more',
});

const GUARD_STAGE_WORDS = { input: 'the request', output: 'the final answer', toolResult: 'a tool result' } as const;

const TIER_WORDS = { read: 'only reads data', write: 'changes data', delete: 'deletes data' } as const;

/** Events the trace does not tell in words (bookkeeping), by a short name, so a gap in the numbers is never silent. */
const HIDDEN_WORDS: Partial<Record<AnyRunEvent['type'], string>> = {
  'budget.committed': 'cost settled',
  'lock.acquired': 'lock taken',
  'breaker.changed': 'circuit breaker changed',
  'scheduler.waited': 'waited for the scheduler',
};

/** The short name of an event the trace does not tell in words. */
export function bookkeepingName(e: AnyRunEvent): string {
  return HIDDEN_WORDS[e.type] ?? e.type;
}

/** One line of the trace: an event in words, or a run of bookkeeping events named together. */
export interface TraceEntry {
  /** The event's seq, or `first–last` for hidden events. */
  seq: string;
  text: string;
  hidden: boolean;
}

/**
 * The decision trace as lines, numbered by the events' places in the log with no gap: each run of
 * bookkeeping events that `explainEvent` leaves out is one line that names them.
 *
 * @example
 * traceEntries(events).map((l) => `${l.seq.padStart(5)}  ${l.text}`)
 */
export function traceEntries(events: readonly AnyRunEvent[]): TraceEntry[] {
  const out: TraceEntry[] = [];
  let hidden: AnyRunEvent[] = [];
  const flush = () => {
    const first = hidden[0];
    const last = hidden.at(-1);
    if (first === undefined || last === undefined) return;
    const names = new Map<string, number>();
    for (const h of hidden) {
      const name = bookkeepingName(h);
      names.set(name, (names.get(name) ?? 0) + 1);
    }
    const list = [...names].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ');
    out.push({ seq: first === last ? String(first.seq) : `${first.seq}–${last.seq}`, text: `(bookkeeping, not told here: ${list})`, hidden: true });
    hidden = [];
  };
  for (const e of events) {
    const text = explainEvent(e);
    if (text === null) {
      hidden.push(e);
      continue;
    }
    flush();
    out.push({ seq: String(e.seq), text, hidden: false });
  }
  flush();
  return out;
}

/**
 * One event in plain words: what happened and why, for a person who is not an engineer. This is
 * the decision trace of `warden run`, `warden runs show` and the dashboard; `null` for
 * bookkeeping events. Each step says what the model proposed and why, how sure it was, what the
 * rules decided and which rule it was, what it cost against the limit, and what was retried.
 */
export function explainEvent(e: AnyRunEvent): string | null {
  switch (e.type) {
    case 'run.submitted':
      return `New ${e.data.conversation ? `message (turn ${e.data.conversation.turn} of conversation ${e.data.conversation.id})` : 'request'} for ${e.data.agent} (tenant ${e.data.tenant}): "${preview(e.data.input)}". Limits: at most ${e.data.limits.maxSteps} steps and ${formatUsd(usdToNano(e.data.limits.maxCostUsd))}.${e.data.mode === 'shadow' ? ' Shadow mode: writes and deletes are recorded, not made.' : ''}`;
    case 'run.started':
      return e.data.session === 1
        ? `Work started (on ${e.data.worker}).`
        : `Work resumed (on ${e.data.worker}) from where it stopped, after event ${e.data.resumedFrom}.`;
    case 'budget.reserved': {
      const b = e.data.before;
      return `Set aside up to ${formatUsd(e.data.amountNano)} for the next ${e.data.purpose === 'model' ? 'model answer' : 'tool call'}; ${formatUsd(b.spentNano)} of the ${formatUsd(b.ceilingNano)} limit spent so far.`;
    }
    case 'budget.committed':
      return e.data.assumed ? `Counted the full ${formatUsd(e.data.actualNano)} set aside as spent: the process stopped before the real cost was known.` : null;
    case 'budget.overrun': {
      const d = e.data;
      return `Overrun: the provider billed ${formatUsd(d.actualNano)} (${d.actualTokens.input} tokens read, ${d.actualTokens.output} written) for a call ${formatUsd(d.reservedNano)} was set aside for (${d.reservedTokens.input} and ${d.reservedTokens.output}). The real cost is counted and the run stops.`;
    }
    case 'model.called': {
      const t = e.data.turn;
      const what = t.toolCalls.length
        ? `proposed to ${t.toolCalls.map((c) => `${c.tool} (${args(c.args)})`).join(' and ')}`
        : `gave its final answer: "${preview(t.text)}"`;
      const why = t.rationale ? ` Its reason: "${preview(t.rationale)}"` : t.toolCalls.length && t.text ? ` It said: "${preview(t.text)}"` : '';
      const sure = t.confidence !== undefined ? ` It said it was ${Math.round(t.confidence * 100)}% sure.` : '';
      const retry = e.data.attempt > 1 ? ` (on try ${e.data.attempt})` : '';
      const who = e.data.model ? `the fallback model ${modelKey(e.data.model)}` : 'the model';
      return `Step ${e.data.step}: ${who}${retry} ${what}.${why}${sure} This answer cost ${formatUsd(e.data.costNano)} (${t.usage.inputTokens} tokens read, ${t.usage.outputTokens} written).`;
    }
    case 'model.failed': {
      const f = e.data.failure;
      const next = e.data.willRetry ? `trying again in ${e.data.retryInMs ?? 0} ms` : 'not trying again';
      const who = e.data.model ? `The fallback model ${modelKey(e.data.model)}` : 'The model';
      return `${who} did not answer step ${e.data.step} (try ${e.data.attempt}): ${f.kind.replace('_', ' ')}${f.status ? ` ${f.status}` : ''} — ${preview(f.message)}; ${next}.`;
    }
    case 'model.fallback': {
      const d = e.data;
      return `Step ${d.step}: ${modelKey(d.from)} did not answer because ${FALLBACK_WORDS[d.reason]}, so the step goes on to the fallback ${modelKey(d.to)} (model ${d.index + 1} of the agent's list), set aside and charged at its own price.`;
    }
    case 'tool.rejected':
      return `Refused to run ${e.data.tool}: ${preview(e.data.error.message)} The model is told why and may try something else.`;
    case 'policy.decided': {
      const d = e.data;
      const verdict = d.decision === 'allow' ? `Allowed ${d.tool}` : d.decision === 'approve' ? `${d.tool} needs a person's approval` : `Blocked ${d.tool}`;
      return `${verdict}: ${d.reason}. (${d.tool} ${TIER_WORDS[d.tier]}; rule ${d.rule}.)`;
    }
    case 'approval.requested': {
      const deadline =
        e.data.expiresAt === undefined
          ? 'Nothing runs until someone decides'
          : `Nothing runs unless someone approves it by ${new Date(e.data.expiresAt).toISOString()}; after that it is ${e.data.onTimeout === 'escalate' ? 'escalated' : 'denied'}`;
      return `Waiting for a person to approve ${e.data.tool} (${args(e.data.args)}). ${deadline} [${e.data.approvalId}].`;
    }
    case 'approval.expired':
      return e.data.outcome === 'escalated'
        ? `Nobody decided in time, so the approval expired and the call went to a person as an escalation [${e.data.approvalId} → ${e.data.escalationId}].`
        : `Nobody decided in time, so the approval expired and the call was denied; the model is told [${e.data.approvalId}].`;
    case 'approval.decided':
      return `${e.data.by} ${e.data.decision === 'approved' ? 'approved' : 'refused'} it${e.data.reason ? `: "${e.data.reason}"` : ''} [${e.data.approvalId}].`;
    case 'tool.denied':
      return `${e.data.tool} did not run: ${e.data.reason} (decided by ${e.data.by}). The model is told.`;
    case 'tool.started':
      return e.data.attempt === 1
        ? `Running ${e.data.tool}.`
        : `Running ${e.data.tool} again (try ${e.data.attempt}), with the same idempotency key so it cannot happen twice.`;
    case 'tool.succeeded':
      return `${e.data.tool} finished in ${e.data.durationMs} ms and returned: ${preview(e.data.result)}`;
    case 'tool.failed': {
      const next = e.data.willRetry
        ? `; trying again in ${e.data.retryInMs ?? 0} ms`
        : e.data.unknownOutcome
          ? '; whether it took effect is unknown'
          : '; not trying again';
      return `${e.data.tool} failed (try ${e.data.attempt}): ${preview(e.data.error.message)}${next}.`;
    }
    case 'escalated':
      return `Handed to a person (${e.data.reason.replace(/_/g, ' ')}): ${preview(e.data.evidence.detail ?? e.data.evidence)} [${e.data.escalationId}]`;
    case 'escalation.decided':
      return `${e.data.by} decided to ${e.data.decision === 'takeover' ? 'answer in the agent’s place' : e.data.decision}${e.data.reason ? `: "${e.data.reason}"` : ''} [${e.data.escalationId}].`;
    case 'limit.hit':
      return `Stopped because ${STOP_WORDS[e.data.limit]}: ${e.data.detail}`;
    case 'cancel.requested':
      return `${e.data.by} asked to cancel: ${e.data.reason}.`;
    case 'run.completed':
      return `Done. Final answer: "${preview(e.data.output)}"`;
    case 'run.failed':
      return `Failed (${e.data.error.code}): ${e.data.error.message}`;
    case 'run.stopped':
      return `Stopped (${e.data.reason}): ${STOP_WORDS[e.data.reason]}.`;
    case 'run.cancelled':
      return `Cancelled by ${e.data.by}: ${e.data.reason}.`;
    case 'tool.shadowed':
      return `Shadow mode: would have called ${e.data.tool}(${preview(e.data.args)}) — the policy would ${e.data.decision === 'allow' ? 'let it run' : e.data.decision === 'approve' ? 'send it to a person' : 'refuse it'} (${e.data.rule}). Nothing was changed; the model got a stand-in result.`;
    case 'undo.started':
      return `${e.data.by} asked to undo this run (${preview(e.data.reason)}): ${e.data.order.length} call(s) to reverse, newest first${e.data.order.some((o) => !o.reversible) ? `; ${e.data.order.filter((o) => !o.reversible).length} cannot be reversed` : ''}.`;
    case 'compensation.requested':
      return `Reversing ${e.data.tool} waits for a person (${e.data.reason}) [${e.data.approvalId}].`;
    case 'compensation.decided':
      return `${e.data.by} decided ${e.data.decision} on reversing ${e.data.callId}${e.data.reason ? `: ${e.data.reason}` : ''}.`;
    case 'compensation.started':
      return `Reversing ${e.data.tool} (${e.data.callId}), attempt ${e.data.attempt}.`;
    case 'compensation.succeeded':
      return `Reversed ${e.data.tool} (${e.data.callId}): ${preview(e.data.result)}`;
    case 'compensation.failed':
      return `Reversing ${e.data.tool} failed (${e.data.error.message})${e.data.willRetry ? '; trying again' : ''}.`;
    case 'compensation.escalated':
      return `Reversing ${e.data.tool} kept failing; a person decides [${e.data.escalationId}].`;
    case 'undo.completed':
      return `Undo finished: ${e.data.reversed.length} reversed, ${e.data.skipped.length} left by a person${e.data.irreversible.length ? `, ${e.data.irreversible.length} irreversible and left as they are (${e.data.irreversible.map((i) => i.tool).join(', ')})` : ''}.`;
    case 'plan.proposed':
      return `The model proposed a plan of ${e.data.steps.length} step(s): ${preview(e.data.steps.map((st) => `${st.id}=${st.tool}`).join(', '))}.`;
    case 'plan.rejected':
      return `Plan rejected before anything ran (${e.data.rejections} so far): ${preview(e.data.issues.map((i) => i.message).join(' '))}`;
    case 'plan.verified':
      return `Plan verified: order ${e.data.order.join(' → ')}, estimated ${formatUsd(e.data.estimateNano)}${e.data.needsApproval.length ? `; needs a person for ${e.data.needsApproval.join(', ')}${e.data.awaitsApproval ? ' (approve the plan as a whole)' : ''}` : ''}.`;
    case 'plan.amended':
      return `${e.data.tool} is not the plan's next step (${preview(e.data.reason)}), but passed verification on its own.`;
    case 'step.assessed': {
      const what = e.data.callId ? `Call ${e.data.callId}` : 'The final answer';
      const plan = e.data.planStep ? `, plan step "${e.data.planStep}"` : e.data.deviation ? ', outside the plan' : '';
      const conf = e.data.confidence !== null ? `, confidence ${e.data.confidence}${e.data.threshold !== null ? ` (threshold ${e.data.threshold})` : ''}` : '';
      // "proceed" only means the gate does not hold it: the policy may still ask a person, and the reason says so.
      const verdict =
        e.data.verdict === 'escalate' ? 'goes to a person' : e.data.confidence === null ? 'not scored by the confidence gate' : 'passes the confidence gate';
      return `${what}${plan}${conf}: ${verdict} — ${e.data.reason}.`;
    }
    case 'child.spawned':
      return `Delegated to ${e.data.agent}: child run ${e.data.childRunId} (depth ${e.data.depth}), sharing this request's ceiling.`;
    case 'child.waiting':
      return `Waiting: child run ${e.data.childRunId} needs a person [${e.data.pendingId}].`;
    case 'child.resumed':
      return `Child run ${e.data.childRunId} was decided; going on.`;
    case 'budget.alert':
      return `Budget alert: the ${e.data.window} budget of ${e.data.scope} has spent ${formatUsd(e.data.spentNano)} of ${formatUsd(e.data.limitNano)}, past ${Math.round(e.data.threshold * 100)}%.`;
    case 'guard.decided': {
      const d = e.data;
      const what = `${GUARD_STAGE_WORDS[d.stage]}${d.callId ? ` (${d.callId})` : ''}`;
      const did =
        d.verdict === 'redact' ? `redacted ${what}; only the redacted value went on` : d.verdict === 'block' ? `blocked ${what}` : `sent ${what} to a person`;
      return `Guard "${d.guard}" ${did}: ${preview(d.reason)}.`;
    }
    case 'conversation.history': {
      const d = e.data;
      if (d.turns.length === 0 && !d.summary && d.dropped === 0) return 'First turn of the conversation: nothing said before it.';
      const kept = d.turns.length ? `turn${d.turns.length === 1 ? '' : 's'} ${d.turns.map((t) => t.turn).join(', ')}` : 'no earlier turn whole';
      const summary = d.summary ? `, a summary through turn ${d.summary.throughTurn}` : '';
      const dropped = d.dropped > 0 ? `; ${d.dropped} older turn${d.dropped === 1 ? '' : 's'} left out` : '';
      return `The model is told the earlier conversation: ${kept}${summary} (at most ${d.tokens} tokens)${dropped}.`;
    }
    case 'conversation.summarized':
      return `The model summarized the conversation through turn ${e.data.throughTurn}, for ${formatUsd(e.data.costNano)}: "${preview(e.data.summary)}"`;
    case 'lock.acquired':
      return e.data.waitedMs > 0 ? `Took lock "${e.data.key}" after waiting ${e.data.waitedMs} ms for another run.` : null;
    default:
      return null;
  }
}
