import type { Agent } from '../agent/agent.ts';
import { callModel, classifyModelError, ModelCallError } from '../model/bridge.ts';
import { streamModel, type StreamedTurn } from '../model/bridge-stream.ts';
import type { ModelFailure, ModelTurn, ToolSpec } from '../core/ports/model.ts';
import type { FallbackReason } from '../core/events.ts';
import { mayBeBilled } from '../model/model-failure.ts';
import { providerInputTokens, usageCostNano } from '../model/pricing.ts';
import { canRetry, limitBeforeModelCall, activeMs } from '../guard/limits.ts';
import { inputTokenBound, planModelReservation } from '../guard/budget.ts';
import { formatUsd } from '../core/money.ts';
import { mustExist } from '../core/errors.ts';
import { backoffMs, retryAfterRefusal } from './backoff.ts';
import { callDeadline } from './call-timer.ts';
import { modelMessages } from '../core/fold.ts';
import type { RunContext } from './run-context.ts';
import { failRun, stopRun } from './decide/run-end.ts';
import { gateFinalAnswer } from './decide/vetting.ts';
import { breakerOutcome, breakerRefusal, countAttempt, retryBudgetRefusal, waitForProvider } from './scheduling.ts';
import { planToolSpec } from '../core/plan.ts';
import { cutCostNano, overrunOf, reserveStreamTopUp, splitCost, stopAfterCut, STREAM_BYTES_PER_TOKEN, type StreamTopUp } from './stream-cut.ts';
import { reserve, settle } from './decide/ledger.ts';
import { emitGuardDecisions, escalateGuarded, GUARD_WITHHELD, gateRequest, guardInfo, stopGuardBlocked } from './guard-step.ts';
import { runGuards, type GuardOutcome } from '../guard/content-guards.ts';
import { checkAnswer } from '../guard/output-check.ts';
import { DEFAULT_OUTPUT_REPAIRS } from '../core/limits.ts';
import { fallBack, fallbackReason, stepModel } from './model-fallback.ts';

/** Failures that say the provider is in trouble (they count against its breaker). */
const PROVIDER_TROUBLE = new Set<ModelFailure['kind']>(['server_error', 'timeout', 'network', 'rate_limited']);

const toolSpecCache = new WeakMap<Agent, ToolSpec[]>();

/** The tools as the model sees them, computed once per agent. */
export function toolSpecs(agent: Agent): ToolSpec[] {
  let specs = toolSpecCache.get(agent);
  if (!specs) {
    specs = [...agent.toolsByName.values()].map((t) => ({ name: t.name, description: t.description, inputSchema: t.jsonSchema }));
    if (agent.plan) specs.unshift(planToolSpec());
    toolSpecCache.set(agent, specs);
  }
  return specs;
}

/**
 * One model call: limits, reservation (written before the call), the call, the settlement, and
 * what the model proposed. A failed call is retried with backoff, each retry drawing from the
 * run's retry limit and its own reservation from the same ceiling.
 */
export async function modelStep(ctx: RunContext): Promise<void> {
  const hit = limitBeforeModelCall(ctx.state, ctx.now());
  if (hit) return stopRun(ctx, hit);
  if (ctx.budgetRefusal) return stopRun(ctx, { limit: ctx.refusalReason, detail: ctx.budgetRefusal });
  if (await gateRequest(ctx, ctx.agent)) return;

  const agent = ctx.agent;
  const request = {
    system: agent.instructions,
    messages: modelMessages(ctx.state),
    tools: toolSpecs(agent),
    ...(agent.output ? { responseFormat: { schema: agent.output.jsonSchema as Record<string, unknown>, name: 'answer' } } : {}),
  };
  // The model this attempt calls (the primary, or the fallback the step went on to) and its price:
  // the reservation is sized for the model actually called, so the ceiling holds across a fallback.
  const { index, entry, ref } = stepModel(agent, ctx.state);
  const model = entry.model;
  const pricing = entry.price.pricing;
  // The provider's own additions (tool-use system prompts) are reserved too, or it would overrun.
  const plan = planModelReservation(ctx.state, pricing, inputTokenBound(request) + providerInputTokens(model, pricing));
  if (!plan.ok) return stopRun(ctx, { limit: 'cost_ceiling', detail: index > 0 ? `${plan.detail} (fallback ${entry.key})` : plan.detail });

  const step = ctx.state.steps + 1;
  const attempt = ctx.state.stepAttempts + 1;
  const reservationId = `m${step}.${attempt}`;
  await ctx.beforeReservation();
  reserve(ctx, reservationId, 'model', plan.amountNano);
  await ctx.flush();
  if (ctx.budgetRefusal) return; // the loop stops the run on its next turn

  // Each model has its own breaker: a fallback of the same provider is not refused with the primary.
  const breakerKey = `model:${entry.key}`;
  const at = { step, attempt, index };
  const open = await breakerRefusal(ctx, breakerKey);
  if (open) {
    settle(ctx, reservationId, plan.amountNano, 0);
    // Fail fast: the next model at once, or (none left) a retry after the usual backoff, not the whole cooldown.
    return modelFailed(ctx, at, { kind: 'breaker_open', retryable: true, message: open.message });
  }
  if (!(await waitForProvider(ctx, model.provider, plan.inputTokens + plan.maxOutputTokens))) {
    settle(ctx, reservationId, plan.amountNano, 0);
    return modelFailed(ctx, at, { kind: 'aborted', retryable: false, message: 'cancelled while waiting for the provider rate limit' });
  }
  // The first call to a fallback is not a retry: the global retry budget counts retries of one model.
  await countAttempt(ctx, attempt > ctx.state.stepModel.since);

  const started = ctx.now();
  const timeout = Math.max(1, ctx.state.limits.maxWallMs - activeMs(ctx.state, started));
  const deadline = callDeadline(timeout, ctx.signal);
  const signal = deadline.signal;
  let turn: ModelTurn;
  let cut: StreamedTurn['cut'];
  // The call streams only when someone listens for its text (text-stream.ts); the turn is the same.
  // Not with output guards: a listener would see the answer before they do.
  const text = ctx.text?.listening() && agent.guards.output.length === 0 ? ctx.text : null;
  // A stream past maxOutputTokens bytes goes on only once more is reserved (stream-cut.ts).
  const held: { reservationId: string; amountNano: number; topUp: StreamTopUp | null } = { reservationId, amountNano: plan.amountNano, topUp: null };
  let asked = false;
  const extendOutput = async (outputBytes: number): Promise<number | null> => {
    if (asked || outputBytes > STREAM_BYTES_PER_TOKEN * plan.maxOutputTokens) return null;
    asked = true;
    held.topUp = await reserveStreamTopUp(ctx, reservationId, plan.maxOutputTokens, pricing);
    return held.topUp ? STREAM_BYTES_PER_TOKEN * plan.maxOutputTokens : null;
  };
  try {
    const call = { ...request, maxOutputTokens: plan.maxOutputTokens, signal, attempt };
    if (text) ({ turn, cut } = await streamModel(model, call, (delta) => text.push({ runId: ctx.runId, step, attempt, delta }), { extendOutput }));
    else turn = await callModel(model, call);
  } catch (e) {
    const failure: ModelFailure = e instanceof ModelCallError ? e.failure : classifyModelError(e);
    // A failure that may have been billed (a timeout after sending, a 200 with a broken body) is
    // charged its whole reservation; only one known not to be billed is free (model-failure.ts).
    const billed = mayBeBilled(failure, e instanceof ModelCallError ? e.cause : e);
    for (const part of splitCost(held, billed ? plan.amountNano + (held.topUp?.amountNano ?? 0) : 0))
      settle(ctx, part.reservationId, part.reservedNano, part.actualNano, { assumed: billed });
    if (PROVIDER_TROUBLE.has(failure.kind)) await breakerOutcome(ctx, breakerKey, false);
    return modelFailed(ctx, at, failure);
  } finally {
    deadline.clear();
  }
  await breakerOutcome(ctx, breakerKey, true);

  // Usage the provider did not report is charged at the full reservation, never at zero. A provider
  // reporting more than the reservation covers is recorded as reported (the truth), with an
  // overrun event naming both figures, and the run stops: it never goes on silently.
  const cost = cut ? cutCostNano(plan, cut.outputBytes, pricing) : turn.usageMissing ? plan.amountNano : usageCostNano(turn.usage, pricing);
  for (const part of splitCost(held, cost)) settle(ctx, part.reservationId, part.reservedNano, part.actualNano, { assumed: cut !== undefined });
  // A final answer meets the output guards before it is written anywhere, model.called included.
  const guarded = await guardAnswer(ctx, turn);
  if (guarded) turn = guarded.turn;
  ctx.emit('model.called', {
    step,
    attempt,
    maxOutputTokens: plan.maxOutputTokens,
    turn,
    costNano: cost,
    latencyMs: ctx.now() - started,
    ...(ref ? { model: ref } : {}),
  });
  if (guarded) emitGuardDecisions(ctx, 'output', guarded.outcome.decisions);
  if (cut) return stopAfterCut(ctx, { ...plan, reservationId, topUp: held.topUp }, cost, cut.outputBytes);
  const overrun = overrunOf(held, cost);
  if (overrun) {
    const u = turn.usage;
    ctx.emit('budget.overrun', {
      ...overrun,
      reservedTokens: { input: plan.inputTokens, output: plan.maxOutputTokens + (held.topUp?.outputTokens ?? 0) },
      actualTokens: {
        input: u.inputTokens,
        output: u.outputTokens,
        ...(u.cachedInputTokens ? { cacheRead: u.cachedInputTokens } : {}),
        ...(u.cacheWriteInputTokens ? { cacheWrite: u.cacheWriteInputTokens } : {}),
      },
    });
    return stopRun(ctx, {
      limit: 'cost_ceiling',
      detail:
        `The provider reported usage costing ${formatUsd(cost)} (${u.inputTokens} input, ${u.outputTokens} output tokens), more than the ` +
        `${formatUsd(plan.amountNano + (held.topUp?.amountNano ?? 0))} reserved for the call (${plan.inputTokens} input, ${plan.maxOutputTokens + (held.topUp?.outputTokens ?? 0)} output tokens); the overrun is recorded.`,
    });
  }
  if (turn.toolCalls.length === 0) {
    if (turn.text === GUARD_WITHHELD && agent.guards.output.length > 0) return stopGuardBlocked(ctx, 'the final answer', guarded?.outcome.decisions ?? []);
    if (guarded?.outcome.verdict === 'escalate') {
      const last = mustExist(guarded.outcome.decisions.at(-1), 'the escalating guard decision');
      return escalateGuarded(ctx, 'output', last, { answer: turn.text, step }, `answer${step}`);
    }
    if (turn.text.trim().length > 0) {
      const checked = ctx.agent.output ? checkAnswer(ctx.agent.output.schema, turn.text) : null;
      if (checked && !checked.ok) return refuseAnswer(ctx, step, checked.errors);
      if (gateFinalAnswer(ctx, ctx.agent, turn.text)) return; // a person confirms the answer first
      ctx.emit('run.completed', { output: turn.text, ...(checked ? { value: checked.value } : {}) });
      return;
    }
    return failRun(ctx, {
      code: 'MALFORMED_MODEL_OUTPUT',
      message: `The model returned neither text nor tool calls (finish reason: ${turn.finishReason}).`,
    });
  }
}

/**
 * The output guards on a final answer: the turn as it may be written (redacted, or withheld when
 * blocked) and what they decided; null when there is nothing to guard.
 */
async function guardAnswer(ctx: RunContext, turn: ModelTurn): Promise<{ turn: ModelTurn; outcome: GuardOutcome<string> } | null> {
  const guards = ctx.agent.guards;
  if (guards.output.length === 0 || turn.toolCalls.length > 0 || turn.text.trim() === '' || turn.text === GUARD_WITHHELD) return null;
  const outcome = await runGuards(guards.output, turn.text, guardInfo(ctx.agent, ctx.state.tenant, 'output'), guards.timeoutMs);
  if (outcome.verdict === 'allow') return null;
  return { turn: { ...turn, text: outcome.verdict === 'block' ? GUARD_WITHHELD : outcome.value }, outcome };
}

/**
 * A model attempt got no answer: fall back to the next model (model-fallback.ts says when), retry
 * this one with backoff, or end the run with a named reason.
 */
async function modelFailed(ctx: RunContext, at: { step: number; attempt: number; index: number }, failure: ModelFailure): Promise<void> {
  const { step, attempt } = at;
  const ref = stepModel(ctx.agent, ctx.state).ref;
  const model = ref ? { model: ref } : {};
  if (ctx.signal.aborted) {
    ctx.emit('model.failed', { step, attempt, failure, willRetry: false, ...model });
    return; // the loop sees the cancel and ends the run
  }
  const hasNext = at.index + 1 < ctx.agent.models.length;
  const early = hasNext ? fallbackReason(failure, false) : null;
  if (early) return fallBackNow(ctx, at, failure, early);
  const budgetRefusal = failure.retryable && canRetry(ctx.state) ? await retryBudgetRefusal(ctx) : null;
  const willRetry = failure.retryable && canRetry(ctx.state) && !budgetRefusal;
  const tooLong = willRetry ? retryAfterRefusal(failure.retryAfterMs, ctx.agent.backoff, activeMs(ctx.state, ctx.now()), ctx.state.limits.maxWallMs) : null;
  // A retry refused, or one that would have to wait past the wall time: the next model answers now.
  const late = hasNext ? fallbackReason(failure, !willRetry || tooLong !== null) : null;
  const why = budgetRefusal ?? tooLong;
  if (late) return fallBackNow(ctx, at, why ? { ...failure, message: `${failure.message}; ${why}` } : failure, late);
  const retryInMs = willRetry && !tooLong ? backoffMs(ctx.state.retries + 1, ctx.agent.backoff, failure.retryAfterMs, ctx.random) : undefined;
  ctx.emit('model.failed', { step, attempt, failure, willRetry: willRetry && !tooLong, ...(retryInMs !== undefined ? { retryInMs } : {}), ...model });
  if (tooLong) return stopRun(ctx, { limit: 'wall_time', detail: `The model call failed (${failure.message}) and ${tooLong}.` });
  if (!willRetry) {
    const all = ctx.agent.models.length > 1 ? `, the last of its ${ctx.agent.models.length} models,` : '';
    if (budgetRefusal) return stopRun(ctx, { limit: 'max_retries', detail: `The model call${all} failed (${failure.message}) and ${budgetRefusal}.` });
    if (failure.retryable)
      return stopRun(ctx, {
        limit: 'max_retries',
        detail: `The model call${all} kept failing (${failure.message}); the run has used all ${ctx.state.limits.maxRetries} retries (maxRetries).`,
      });
    return failRun(ctx, { code: 'MODEL_CALL_FAILED', message: `The model call${all} failed and retrying cannot help: ${failure.message}` });
  }
  await ctx.flush();
  await ctx.sleep(retryInMs ?? 0, ctx.signal).catch(() => {});
}

/** Goes on to the next model now: no backoff (the next model is another provider's, or another model's breaker). */
async function fallBackNow(
  ctx: RunContext,
  at: { step: number; attempt: number; index: number },
  failure: ModelFailure,
  reason: FallbackReason,
): Promise<void> {
  fallBack(ctx, ctx.agent, at, failure, reason);
  await ctx.flush();
}

/**
 * An answer that does not match the agent's `output` schema goes back to the model with the
 * errors (the next step), until `maxOutputRepairs` are used up: then the run stops `invalid_output`.
 */
function refuseAnswer(ctx: RunContext, step: number, errors: string[]): void {
  const allowed = ctx.state.limits.maxOutputRepairs ?? DEFAULT_OUTPUT_REPAIRS;
  const repair = ctx.state.outputRepairs + 1;
  if (repair > allowed) {
    stopRun(ctx, {
      limit: 'invalid_output',
      detail: `The final answer did not match the output schema${allowed > 0 ? ` after ${allowed} repair${allowed === 1 ? '' : 's'}` : ''}: ${errors.join('; ')}`,
    });
    return;
  }
  ctx.emit('output.rejected', { step, repair, errors });
}
