import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defineAgent, type AgentConfig } from '../../src/agent/agent.ts';
import { isWardenError } from '../../src/core/errors.ts';
import type { AnyRunEvent, RunEvent } from '../../src/core/events.ts';
import { projectRun } from '../../src/core/projection.ts';
import { simulated } from '../../src/model/simulated.ts';
import { usageCostNano } from '../../src/model/pricing.ts';
import type { SimulatedModel } from '../../src/model/simulated-types.ts';
import { explainEvent } from '../../src/observe/explain.ts';
import { replayRun } from '../../src/observe/replay/replay-run.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { fleetCharges } from '../../src/guard/fleet-budgets.ts';
import { resolveFleetBudgets } from '../../src/guard/fleet-budgets.ts';
import { testWarden } from '../helpers.ts';
import { foldRun } from '../../src/core/fold.ts';
import { stepModel } from '../../src/runtime/model-fallback.ts';
import { lyingModel } from '../invariants/lying-model.ts';

/** A model that counts the calls that reached it, so a test can tell a refused call from a made one. */
function counted<M extends SimulatedModel | ReturnType<typeof lyingModel>>(model: M): M & { reached: () => number } {
  let n = 0;
  const generate = model.doGenerate.bind(model);
  return Object.assign(model, {
    doGenerate: ((options: Parameters<M['doGenerate']>[0]) => {
      n++;
      return generate(options as never);
    }) as M['doGenerate'],
    reached: () => n,
  });
}

const CHEAP = { inputPerMTok: 0.15, outputPerMTok: 0.6 };
/** Forty and a hundred times dearer: a reservation sized at the primary's price could not cover it. */
const DEAR = { inputPerMTok: 6, outputPerMTok: 60 };

/** The primary: down for good (503 on every call). */
const downPrimary = () => counted(simulated.script([{ text: 'never', error: { status: 503, times: 1_000_000 } }], { ...CHEAP, modelId: 'primary' }));
/** The fallback: answers with 2,000 output tokens unless the call allows fewer. */
const dearFallback = () => counted(simulated.script([{ text: 'Answered by the fallback.', usage: { outputTokens: 2_000 } }], { ...DEAR, modelId: 'fallback' }));

function agentWith(model: AgentConfig['model'], limits: AgentConfig['limits'] = {}) {
  return defineAgent({
    name: 'desk',
    instructions: 'Answer.',
    model,
    tools: [],
    limits: { maxRetries: 2, maxWallMs: 60_000, maxCostUsd: 0.05, maxOutputTokens: 4096, ...limits },
    backoff: { baseMs: 0, maxMs: 0 },
  });
}

const BREAKER = { scheduler: { breaker: { failures: 2, windowMs: 60_000, cooldownMs: 600_000 }, retryBudget: false } } as const;

function only<T extends AnyRunEvent['type']>(events: AnyRunEvent[], type: T): RunEvent<T>[] {
  return events.filter((e): e is RunEvent<T> & AnyRunEvent => e.type === type) as RunEvent<T>[];
}

describe('model fallbacks', () => {
  it('prices every model of the list when the agent is defined, and refuses one with no known price', () => {
    const agent = agentWith([downPrimary(), dearFallback()]);
    assert.deepEqual(
      agent.models.map((m) => [m.key, m.price.pricing.outputPerMTok]),
      [
        ['warden.simulated/primary', 0.6],
        ['warden.simulated/fallback', 60],
      ],
    );
    assert.equal(agent.model, agent.models[0]?.model, 'agent.model stays the primary');
    const unpriced = { ...simulated.script([{ text: 'x' }], { modelId: 'mystery' }), provider: 'nobody-knows', wardenPricing: undefined };
    assert.throws(
      () => agentWith([downPrimary(), unpriced]),
      (e) => isWardenError(e, 'UNKNOWN_MODEL_PRICE') && /model\[1\]/.test(e.message) && /nobody-knows/.test(e.message),
    );
    assert.equal(agentWith([downPrimary(), { model: unpriced, pricing: DEAR }]).models[1]?.price.source.kind, 'override');
    assert.throws(
      () => agentWith([downPrimary(), downPrimary()]),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /again/.test(e.message),
    );
    assert.throws(
      () => agentWith([]),
      (e) => isWardenError(e, 'INVALID_CONFIG'),
    );
  });

  it('falls back after an open breaker, reserving at the fallback’s price, so the ceiling holds', async () => {
    const primary = downPrimary();
    const fallback = dearFallback();
    const agent = agentWith([primary, fallback]);
    const { warden } = testWarden(':memory:', BREAKER);
    // The first run trips the primary's breaker (two failures), then falls back.
    await warden.run(agent, 'trip the breaker');
    const reachedBefore = primary.reached();
    assert.equal(reachedBefore, 2);

    const result = await warden.run(agent, 'Where is my order?');
    const events = await warden.events(result.runId);
    assert.equal(primary.reached(), reachedBefore, 'the open breaker refused the primary without calling it');
    // Checked first: a reservation sized at the primary's price lets the fallback bill $0.12 against a $0.05 ceiling.
    assert.ok(result.costUsd <= 0.05, `spent ${result.costUsd} of the 0.05 ceiling`);
    assert.equal(result.status, 'completed');
    assert.equal(result.output, 'Answered by the fallback.');

    const [fellBack] = only(events, 'model.fallback');
    assert.ok(fellBack);
    assert.deepEqual(
      { reason: fellBack.data.reason, from: fellBack.data.from.modelId, to: fellBack.data.to.modelId, index: fellBack.data.index },
      { reason: 'breaker_open', from: 'primary', to: 'fallback', index: 1 },
    );
    const [called] = only(events, 'model.called');
    assert.deepEqual(called?.data.model, { provider: 'warden.simulated', modelId: 'fallback' });
    // The reservation for the fallback's attempt is sized at its price: it covers what the call cost.
    const reserved = only(events, 'budget.reserved').find((e) => e.data.reservationId === `m1.${called?.data.attempt}`);
    assert.ok(reserved && called);
    assert.equal(called.data.costNano, usageCostNano(called.data.turn.usage, DEAR), 'charged at the fallback’s price');
    assert.ok(called.data.costNano <= reserved.data.amountNano, `cost ${called.data.costNano} within the reservation ${reserved.data.amountNano}`);
    assert.equal(only(events, 'budget.overrun').length, 0, 'no overrun: a reservation at the primary’s price would have allowed 4,096 output tokens');
    assert.ok(result.costUsd > 0.04, `the fallback used most of the ceiling (${result.costUsd}), so a wrong reservation would cross it`);

    // The trace, the projection and the figures say who answered and why the primary did not.
    const text = events
      .map((e) => explainEvent(e))
      .filter(Boolean)
      .join('\n');
    assert.match(text, /warden\.simulated\/primary did not answer because its circuit breaker is open/);
    assert.match(text, /the fallback model warden\.simulated\/fallback \(on try 2\) gave its final answer/);
    const p = projectRun(events);
    assert.deepEqual(p.models, { answeredBy: { 'warden.simulated/fallback': 1 }, fallbacks: 1, fallbacksByReason: { breaker_open: 1 } });
  });

  it('falls back at once on an error retrying cannot fix, without spending a retry', async () => {
    const primary = counted(simulated.script([{ text: 'never', error: { status: 401, times: 1_000 } }], { ...CHEAP, modelId: 'primary' }));
    const agent = agentWith([primary, simulated.script([{ text: 'ok' }], { ...DEAR, modelId: 'fallback' })]);
    const { warden } = testWarden(':memory:', BREAKER);
    const result = await warden.run(agent, 'hi');
    const events = await warden.events(result.runId);
    assert.equal(result.status, 'completed');
    assert.equal(primary.reached(), 1);
    assert.deepEqual(
      only(events, 'model.fallback').map((e) => e.data.reason),
      ['not_retryable'],
    );
    assert.equal(projectRun(events).retries.model, 0);
  });

  it('retries a retryable error on the same model while the run has retries, and does not fall back', async () => {
    const primary = counted(simulated.script([{ text: 'primary answer', error: { status: 503, times: 1 } }], { ...CHEAP, modelId: 'primary' }));
    const fallback = dearFallback();
    const { warden } = testWarden(':memory:', BREAKER);
    const result = await warden.run(agentWith([primary, fallback]), 'hi');
    const events = await warden.events(result.runId);
    assert.equal(result.output, 'primary answer');
    assert.equal(primary.reached(), 2);
    assert.equal(fallback.reached(), 0);
    assert.equal(only(events, 'model.fallback').length, 0);
    assert.equal(only(events, 'model.called')[0]?.data.model, undefined, 'the primary answered');
    assert.deepEqual(projectRun(events).models.answeredBy, { 'warden.simulated/primary': 1 });
  });

  it('falls back when the primary kept failing and the run has no retries left for it', async () => {
    const { warden } = testWarden(':memory:', { scheduler: { breaker: false, retryBudget: false } });
    const result = await warden.run(agentWith([downPrimary(), dearFallback()], { maxRetries: 2 }), 'hi');
    const events = await warden.events(result.runId);
    assert.equal(result.status, 'completed');
    assert.deepEqual(
      only(events, 'model.failed').map((e) => [e.data.attempt, e.data.willRetry]),
      [
        [1, true],
        [2, true],
        [3, false],
      ],
    );
    assert.deepEqual(
      only(events, 'model.fallback').map((e) => [e.data.attempt, e.data.reason]),
      [[3, 'retries_exhausted']],
    );
    assert.equal(only(events, 'model.called')[0]?.data.attempt, 4);
  });

  it('falls back instead of waiting when the primary asks to wait longer than the agent waits for', async () => {
    const primary = counted(
      simulated.script([{ text: 'never', error: { status: 429, retryAfterMs: 3_600_000, times: 1_000 } }], { ...CHEAP, modelId: 'primary' }),
    );
    const { warden } = testWarden(':memory:', BREAKER);
    const result = await warden.run(agentWith([primary, dearFallback()]), 'hi');
    const events = await warden.events(result.runId);
    assert.equal(result.status, 'completed');
    assert.equal(primary.reached(), 1);
    const [fellBack] = only(events, 'model.fallback');
    assert.equal(fellBack?.data.reason, 'retries_exhausted');
    assert.match(fellBack?.data.detail ?? '', /Retry-After/);
  });

  it('stops with a named reason when every model is down, having spent nothing', async () => {
    const second = counted(simulated.script([{ text: 'never', error: { status: 503, times: 1_000_000 } }], { ...DEAR, modelId: 'second' }));
    const { warden } = testWarden(':memory:', BREAKER);
    const agent = agentWith([downPrimary(), second]);
    let last = await warden.run(agent, 'one');
    for (let i = 0; i < 3; i++) last = await warden.run(agent, `again ${i}`);
    assert.equal(last.status, 'stopped');
    assert.equal(last.stopReason, 'max_retries');
    assert.match(last.stopDetail ?? '', /the last of its 2 models/);
    assert.equal(last.costUsd, 0);
    const events = await warden.events(last.runId);
    assert.deepEqual(
      only(events, 'model.fallback').map((e) => e.data.reason),
      ['breaker_open'],
    );
    assert.ok(
      only(events, 'model.failed').every((e, i) => i === 0 || e.data.model?.modelId === 'second'),
      'after the fallback, the failures are the second model’s',
    );
  });

  it('refuses a fallback its reservation cannot fit under the ceiling: the run stops cost_ceiling', async () => {
    // 256 output tokens at $60/M cost more than the whole $0.01 ceiling: the fallback cannot be called.
    const fallback = dearFallback();
    const { warden } = testWarden(':memory:', BREAKER);
    const result = await warden.run(agentWith([downPrimary(), fallback], { maxCostUsd: 0.01, maxRetries: 1 }), 'hi');
    assert.equal(result.stopReason, 'cost_ceiling');
    assert.match(result.stopDetail ?? '', /fallback warden\.simulated\/fallback/);
    assert.equal(fallback.reached(), 0);
  });

  it('holds a fleet budget across a fallback: the fallback’s dearer reservation is refused by the window', async () => {
    const budgets = [{ scope: 'tenant:acme', window: 'day' as const, maxUsd: 0.02 }];
    const fallback = dearFallback();
    const clock = { t: Date.UTC(2026, 11, 3, 10) };
    const { warden, store } = testWarden(':memory:', { ...BREAKER, budgets, now: () => clock.t });
    const primary = counted(simulated.script([{ text: 'never', error: { status: 401, times: 1_000 } }], { ...CHEAP, modelId: 'primary' }));
    const result = await warden.run(agentWith([primary, fallback], { maxCostUsd: 1 }), 'hi', { tenant: 'acme' });
    const events = await warden.events(result.runId);
    // The run's own ceiling ($1) would allow it; the tenant's $0.02 day cannot hold the fallback's reservation.
    assert.equal(result.stopReason, 'budget_exhausted');
    assert.equal(fallback.reached(), 0);
    assert.equal(only(events, 'model.fallback').length, 1);
    const [key] = fleetCharges(resolveFleetBudgets(budgets), { tenant: 'acme', agent: 'desk' }, clock.t).map((c) => c.key);
    const [row] = await store.getFleetBudgets([key as string]);
    assert.ok(row && row.spentNano + row.reservedNano <= row.limitNano, JSON.stringify(row));

    // With room for it, the fallback answers and the window is charged what it cost, at its price.
    const roomy = testWarden(':memory:', { ...BREAKER, budgets: [{ ...budgets[0]!, maxUsd: 1 }], now: () => clock.t });
    const ok = await roomy.warden.run(agentWith([primary, dearFallback()], { maxCostUsd: 1 }), 'hi', { tenant: 'acme' });
    const [after] = await roomy.store.getFleetBudgets([key as string]);
    assert.equal(ok.status, 'completed');
    assert.equal(after?.spentNano, Math.round(ok.costUsd * 1e9));
    assert.equal(after?.reservedNano, 0);
  });

  it('counts an overrun at the fallback’s price when the fallback lies about its tokens', async () => {
    const liar = lyingModel([{ kind: 'answer', calls: [], extraInput: 0, output: 'over', overBy: 500 }]);
    const primary = counted(simulated.script([{ text: 'never', error: { status: 401, times: 1_000 } }], { ...CHEAP, modelId: 'primary' }));
    const agent = defineAgent({
      name: 'desk',
      instructions: 'Answer.',
      model: [primary, { model: liar, pricing: DEAR }],
      tools: [],
      limits: { maxRetries: 1, maxCostUsd: 0.05, maxOutputTokens: 300 },
      backoff: { baseMs: 0, maxMs: 0 },
    });
    const { warden, store } = testWarden(':memory:', BREAKER);
    const result = await warden.run(agent, 'hi');
    const events = await warden.events(result.runId);
    const [overrun] = only(events, 'budget.overrun');
    const [called] = only(events, 'model.called');
    assert.ok(overrun && called);
    assert.equal(result.stopReason, 'cost_ceiling');
    assert.equal(called.data.model?.modelId, 'liar-1');
    assert.equal(overrun.data.actualNano, usageCostNano(called.data.turn.usage, DEAR), 'the truth, at the fallback’s price');
    assert.equal(overrun.data.reservedTokens.output, 300);
    const budget = await store.getBudget(result.runId);
    assert.equal(budget?.spentNano, overrun.data.actualNano, 'the ledger records what the fallback billed');
    assert.equal(budget?.reservedNano, 0);
  });

  it('replays a run that fell back offline: the same decisions, the recorded answers, no live model called', async () => {
    const primary = downPrimary();
    const fallback = dearFallback();
    const agent = agentWith([primary, fallback]);
    const { warden } = testWarden(':memory:', BREAKER);
    await warden.run(agent, 'trip the breaker');
    const result = await warden.run(agent, 'Where is my order?');
    const events = await warden.events(result.runId);
    const reached = [primary.reached(), fallback.reached()];
    const report = await replayRun(events, { agent });
    assert.deepEqual([primary.reached(), fallback.reached()], reached, 'replay called no live model');
    assert.equal(report.identical, true, JSON.stringify(report.divergence));
    assert.equal(report.replayed.costUsd, report.recorded.costUsd);
    assert.deepEqual(report.replayed.summary.models, report.recorded.summary.models);
  });

  it('streams the fallback’s text, and a log cut right after the fallback resumes on the fallback', async () => {
    const primary = counted(simulated.script([{ text: 'never', error: { status: 401, times: 1_000 } }], { ...CHEAP, modelId: 'primary' }));
    const agent = agentWith([primary, simulated.script([{ text: 'Streamed by the fallback.' }], { ...DEAR, modelId: 'fallback' })]);
    const { warden } = testWarden(':memory:', BREAKER);
    const { textStream, result } = warden.stream(agent, 'hi');
    let text = '';
    for await (const delta of textStream) text += delta;
    assert.equal(text, 'Streamed by the fallback.');
    const events = await warden.events((await result).runId);
    // The fold alone says which model the step is on: a session that starts from this log calls the fallback.
    const cut = events.slice(0, events.findIndex((e) => e.type === 'model.fallback') + 1);
    const state = foldRun(cut);
    assert.deepEqual(state.stepModel, { index: 1, since: 2 });
    assert.equal(stepModel(agent, state).entry.key, 'warden.simulated/fallback');
    assert.equal(stepModel(agent, foldRun(events)).index, 0, 'the next step starts at the primary again');
  });

  it('counts fallbacks in warden_model_fallbacks_total by from, to and reason', async () => {
    const metrics = createMetrics();
    const { warden } = testWarden(':memory:', BREAKER);
    metrics.attach(warden);
    const primary = counted(simulated.script([{ text: 'never', error: { status: 401, times: 1_000 } }], { ...CHEAP, modelId: 'primary' }));
    await warden.run(agentWith([primary, dearFallback()]), 'hi');
    const text = await metrics.text();
    assert.match(
      text,
      /warden_model_fallbacks_total\{agent="desk",from="warden.simulated\/primary",to="warden.simulated\/fallback",reason="not_retryable"\} 1/,
    );
  });
});
