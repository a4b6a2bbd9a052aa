import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { defineTool, type AnyTool } from '../../src/agent/tool.ts';
import type { ModelPricing } from '../../src/model/model-pricing.ts';
import { usageCostNano } from '../../src/model/pricing.ts';
import type { AnyRunEvent } from '../../src/core/events.ts';
import { foldRun } from '../../src/core/fold.ts';
import type { RunResult } from '../../src/runtime/run-result.ts';
import { INDEPENDENT_RUNS, testWarden } from '../helpers.ts';
import { STREAM_BYTES_PER_TOKEN } from '../../src/runtime/stream-cut.ts';
import { LYING_ERRORS, lyingModel, specStreamer, streamingLiar, type LyingResponse, type StreamSpec } from './lying-model.ts';

type Warden = ReturnType<typeof testWarden>['warden'];
type Store = ReturnType<typeof testWarden>['store'];

/**
 * The promise, checked on one finished run: spend ≤ ceiling, or an overrun was recorded and the
 * run stopped at the ceiling; every call that cost more than its reservation has its overrun
 * event; no reservation is left open; the run ended (never left `running`).
 */
async function assertCeilingHeld(warden: Warden, store: Store, result: RunResult, label: string): Promise<AnyRunEvent[]> {
  const events = await warden.events(result.runId);
  const budget = (await store.getBudget(result.rootRunId))!;
  const overruns = events.filter((e) => e.type === 'budget.overrun');
  assert.ok(['completed', 'failed', 'stopped', 'cancelled', 'waiting_approval', 'escalated'].includes(result.status), `${label}: run left ${result.status}`);
  if (budget.spentNano > budget.ceilingNano) {
    assert.ok(overruns.length > 0, `${label}: spent ${budget.spentNano} > ceiling ${budget.ceilingNano} with no overrun recorded`);
  }
  if (overruns.length > 0) {
    assert.equal(result.status, 'stopped', `${label}: an overrun must stop the run`);
    assert.equal(result.stopReason, 'cost_ceiling', `${label}: an overrun stops the run at the ceiling`);
  }
  const reserved = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'budget.reserved') reserved.set(e.data.reservationId, e.data.amountNano);
    if (e.type === 'budget.committed' && e.data.actualNano > reserved.get(e.data.reservationId)!) {
      assert.ok(
        overruns.some((o) => o.type === 'budget.overrun' && o.data.reservationId === e.data.reservationId && o.data.actualNano === e.data.actualNano),
        `${label}: ${e.data.reservationId} cost ${e.data.actualNano} > ${reserved.get(e.data.reservationId)} reserved, silently`,
      );
    }
  }
  assert.equal(foldRun(events).openReservations.size, 0, `${label}: reservations left open at run end`);
  assert.equal(budget.reservedNano, 0, `${label}: the ledger keeps a reservation open`);
  return events;
}

function chargeTool(
  costUsd: number | ((args: { n: number }) => number),
  execute: (args: { n: number }, signal: AbortSignal) => unknown = () => 'ok',
  extra: Partial<Parameters<typeof defineTool>[0]> = {},
): AnyTool {
  return defineTool({
    name: 'charge',
    description: 'a priced call',
    tier: 'read',
    idempotent: true,
    retries: 1,
    costUsd,
    input: z.object({ n: z.number() }),
    execute: (args: { n: number }, ctx: { signal: AbortSignal }) => execute(args, ctx.signal),
    ...extra,
  } as Parameters<typeof defineTool>[0]);
}

const response: fc.Arbitrary<LyingResponse> = fc.oneof(
  fc.record({
    kind: fc.constant('answer' as const),
    calls: fc.array(fc.constant('charge'), { maxLength: 3 }),
    extraInput: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 })),
    output: fc.constantFrom('honest' as const, 'over' as const, 'missing' as const),
    overBy: fc.integer({ min: 1, max: 20_000 }),
    cacheWrite: fc.integer({ min: 0, max: 2000 }),
  }),
  fc.record({ kind: fc.constant('error' as const), error: fc.constantFrom(...LYING_ERRORS) }),
);

describe('the ceiling holds against a lying provider', () => {
  it('keeps spend within the ceiling, or records the overrun and stops the run, over random lying responses and ceilings', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    let overran = 0;
    let ceilingStops = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(response, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1_000, max: 200_000 }), // ceiling, micro-USD
        fc.record({
          inputPerMTok: fc.integer({ min: 1, max: 15 }),
          outputPerMTok: fc.integer({ min: 2, max: 75 }),
          cacheWriteInputPerMTok: fc.integer({ min: 1, max: 20 }),
        }),
        fc.constantFrom('lying', 'anthropic.messages', 'openai.chat'),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3000 }), // tool price, micro-USD
        async (script, ceilingMicro, pricing: ModelPricing, provider, parallelToolCalls, toolMicro) => {
          const agent = defineAgent({
            name: `liar-${++n}`,
            instructions: 'Spend carefully.',
            model: lyingModel(script, provider),
            pricing,
            tools: [chargeTool(toolMicro / 1e6)],
            parallelToolCalls,
            limits: { maxSteps: 8, maxToolCalls: 20, maxRetries: 6, maxWallMs: 60_000, maxCostUsd: ceilingMicro / 1e6, maxOutputTokens: 2000 },
            loopDetection: { repeats: 1000, noProgressSteps: 1000 },
            backoff: { baseMs: 0, maxMs: 0 },
          });
          const result = await warden.run(agent, `request ${n}`);
          const events = await assertCeilingHeld(warden, store, result, `run ${n}`);
          if (events.some((e) => e.type === 'budget.overrun')) overran++;
          if (result.stopReason === 'cost_ceiling') ceilingStops++;
        },
      ),
      { seed: 1313, numRuns: 150 },
    );
    assert.ok(overran > 10, `the lies must actually overrun reservations (only ${overran} runs did)`);
    assert.ok(ceilingStops > overran, `the ceiling must also be pressed without lies (${ceilingStops} stops, ${overran} overruns)`);
  });

  it('holds across fallbacks, with no overrun from an honest model: random failing primaries and fallbacks, each at its own random price', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    const price = fc.record({ inputPerMTok: fc.integer({ min: 1, max: 15 }), outputPerMTok: fc.integer({ min: 2, max: 75 }) });
    // Honest answers (usage within what was asked) and every kind of failure: any overrun here
    // would be Warden's, a reservation sized for another model than the one called.
    const honest: fc.Arbitrary<LyingResponse> = fc.oneof(
      fc.record({
        kind: fc.constant('answer' as const),
        calls: fc.array(fc.constant('charge'), { maxLength: 2 }),
        extraInput: fc.constant(0),
        output: fc.constantFrom('honest' as const, 'full' as const),
        overBy: fc.constant(0),
      }),
      fc.record({ kind: fc.constant('error' as const), error: fc.constantFrom(...LYING_ERRORS) }),
    );
    let fellBack = 0;
    let answeredByFallback = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(honest, { minLength: 1, maxLength: 8 }),
        fc.array(honest, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1_000, max: 200_000 }), // ceiling, micro-USD
        price,
        price,
        fc.constantFrom('lying', 'anthropic.messages', 'openai.chat'),
        async (primaryScript, fallbackScript, ceilingMicro, primaryPrice: ModelPricing, fallbackPrice: ModelPricing, provider) => {
          const fallback = Object.assign(lyingModel(fallbackScript, provider), { modelId: 'liar-fallback' });
          const agent = defineAgent({
            name: `fallback-liar-${++n}`,
            instructions: 'Spend carefully.',
            model: [lyingModel(primaryScript, 'lying'), { model: fallback, pricing: fallbackPrice }],
            pricing: primaryPrice,
            tools: [chargeTool(0.0005)],
            limits: { maxSteps: 8, maxToolCalls: 20, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: ceilingMicro / 1e6, maxOutputTokens: 2000 },
            loopDetection: { repeats: 1000, noProgressSteps: 1000 },
            backoff: { baseMs: 0, maxMs: 0 },
          });
          const result = await warden.run(agent, `request ${n}`);
          const events = await assertCeilingHeld(warden, store, result, `run ${n}`);
          assert.deepEqual(
            events.filter((e) => e.type === 'budget.overrun').map((e) => e.data),
            [],
            `run ${n}: an honest model overran its reservation`,
          );
          assert.ok(result.costUsd <= ceilingMicro / 1e6, `run ${n}: spent ${result.costUsd} of ${ceilingMicro / 1e6}`);
          // Every answer is charged at the price of the model that gave it.
          for (const e of events) {
            if (e.type !== 'model.called' || e.data.turn.usageMissing) continue;
            const p = e.data.model ? fallbackPrice : primaryPrice;
            assert.equal(e.data.costNano, usageCostNano(e.data.turn.usage, p), `run ${n}: step ${e.data.step} charged at the wrong model's price`);
          }
          if (events.some((e) => e.type === 'model.fallback')) fellBack++;
          if (events.some((e) => e.type === 'model.called' && e.data.model)) answeredByFallback++;
        },
      ),
      { seed: 2020, numRuns: 120 },
    );
    assert.ok(
      fellBack > 20 && answeredByFallback > 10,
      `the runs must actually fall back (${fellBack} fell back, ${answeredByFallback} answered by the fallback)`,
    );
  });

  it('reserves the input a provider adds on its own (anthropic: a tool-use system prompt), so it is not an overrun', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    // A full-length completion (all the output reserved) plus 400 input tokens the provider adds.
    const script: LyingResponse[] = [{ kind: 'answer', calls: [], extraInput: 400, output: 'over', overBy: 0 }];
    const make = (pricing: ModelPricing) =>
      defineAgent({
        name: 'claude-like',
        instructions: 'x',
        model: lyingModel(script, 'anthropic.messages'),
        pricing,
        tools: [chargeTool(0)],
        limits: { maxSteps: 3, maxCostUsd: 1, maxOutputTokens: 1000 },
      });
    const covered = await warden.run(make({ inputPerMTok: 3, outputPerMTok: 15 }), 'hello');
    assert.equal(covered.status, 'completed', covered.stopDetail ?? '');
    const reserved = (await warden.events(covered.runId)).find((e) => e.type === 'budget.reserved')!;
    const called = (await warden.events(covered.runId)).find((e) => e.type === 'model.called')!;
    assert.ok(reserved.type === 'budget.reserved' && called.type === 'model.called' && called.data.costNano <= reserved.data.amountNano);

    // Told the provider adds nothing, the same 400 tokens overrun the reservation: recorded and stopped.
    const told = await warden.run(make({ inputPerMTok: 3, outputPerMTok: 15, providerInputTokens: 0 }), 'hello');
    const events = await assertCeilingHeld(warden, store, told, 'margin 0');
    const overrun = events.find((e) => e.type === 'budget.overrun');
    assert.ok(overrun?.type === 'budget.overrun', 'an overrun event');
    assert.ok(overrun.data.actualNano > overrun.data.reservedNano);
    assert.ok(overrun.data.actualTokens.input > overrun.data.reservedTokens.input);
    assert.equal(told.stopReason, 'cost_ceiling');
  });

  it('records an over-reported completion as an overrun with both figures in nano-USD and tokens, and stops the run', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    const agent = defineAgent({
      name: 'over-reporter',
      instructions: 'x',
      model: lyingModel([{ kind: 'answer', calls: ['charge'], extraInput: 0, output: 'over', overBy: 5000 }]),
      pricing: { inputPerMTok: 1, outputPerMTok: 10 },
      tools: [chargeTool(0)],
      limits: { maxSteps: 5, maxCostUsd: 0.03, maxOutputTokens: 1000 },
    });
    const result = await warden.run(agent, 'hi');
    const events = await assertCeilingHeld(warden, store, result, 'over-reporter');
    const overrun = events.find((e) => e.type === 'budget.overrun');
    assert.ok(overrun?.type === 'budget.overrun');
    assert.equal(overrun.data.reservedTokens.output, 1000);
    assert.equal(overrun.data.actualTokens.output, 6000);
    assert.ok(Number.isInteger(overrun.data.reservedNano) && Number.isInteger(overrun.data.actualNano));
    assert.equal(result.stopReason, 'cost_ceiling');
    assert.ok(!events.some((e) => e.type === 'tool.started'), 'the proposed call never ran');
  });
});

describe('the ceiling holds across child runs', () => {
  it('stops the child that overran and the parent at the ceiling, with one ledger for the tree and no reservation left open', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    const child = defineAgent({
      name: 'liar',
      instructions: 'x',
      model: lyingModel([{ kind: 'answer', calls: [], extraInput: 0, output: 'over', overBy: 10_000 }]),
      pricing: { inputPerMTok: 1, outputPerMTok: 10 },
      tools: [chargeTool(0)],
      limits: { maxSteps: 3, maxCostUsd: 0.05, maxOutputTokens: 1000 },
    });
    const parent = defineAgent({
      name: 'lead',
      instructions: 'x',
      model: lyingModel([
        { kind: 'answer', calls: ['delegate_liar', 'delegate_liar'], extraInput: 0, output: 'honest', overBy: 0 },
        { kind: 'answer', calls: [], extraInput: 0, output: 'honest', overBy: 0 },
      ]),
      pricing: { inputPerMTok: 1, outputPerMTok: 10 },
      tools: [],
      delegates: [child],
      parallelToolCalls: 2,
      limits: { maxSteps: 4, maxCostUsd: 0.05, maxOutputTokens: 1000 },
    });
    const result = await warden.run(parent, 'delegate');
    const tree = await store.listRuns({ rootRunId: result.runId });
    assert.equal(tree.length, 3);
    const budget = (await store.getBudget(result.runId))!;
    assert.ok(budget.spentNano > budget.ceilingNano, 'the children overran the shared ceiling');
    assert.equal(budget.reservedNano, 0);
    for (const run of tree) {
      const events = await warden.events(run.runId);
      assert.equal(foldRun(events).openReservations.size, 0, `${run.runId}: reservations left open`);
      if (run.runId === result.runId) continue;
      assert.ok(
        events.some((e) => e.type === 'budget.overrun'),
        `${run.runId}: the overrun is recorded`,
      );
      assert.equal(run.stopReason, 'cost_ceiling');
    }
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'cost_ceiling', 'the parent stops at the ceiling its children spent');
  });
});

describe('billed failures', () => {
  const billedCases: { error: (typeof LYING_ERRORS)[number]; billed: boolean }[] = [
    { error: '429', billed: false },
    { error: '401', billed: false },
    { error: '503', billed: false },
    { error: 'refused', billed: false },
    { error: '500', billed: true },
    { error: 'timeout', billed: true },
    { error: 'reset', billed: true },
    { error: 'malformed', billed: true },
  ];
  for (const { error, billed } of billedCases) {
    it(`charges a ${error} failure ${billed ? 'at its reservation' : '$0'}`, async () => {
      const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
      const agent = defineAgent({
        name: 'flaky',
        instructions: 'x',
        model: lyingModel([
          { kind: 'error', error },
          { kind: 'answer', calls: [], extraInput: 0, output: 'honest', overBy: 0 },
        ]),
        pricing: { inputPerMTok: 1, outputPerMTok: 10 },
        tools: [chargeTool(0)],
        limits: { maxSteps: 3, maxRetries: 3, maxCostUsd: 1, maxOutputTokens: 1000 },
        backoff: { baseMs: 0, maxMs: 0 },
      });
      const result = await warden.run(agent, 'hi');
      const events = await assertCeilingHeld(warden, store, result, error);
      const reserved = events.find((e) => e.type === 'budget.reserved')!;
      const committed = events.find((e) => e.type === 'budget.committed')!;
      assert.ok(reserved.type === 'budget.reserved' && committed.type === 'budget.committed');
      assert.equal(committed.data.actualNano, billed ? reserved.data.amountNano : 0);
      assert.equal(committed.data.assumed === true, billed);
    });
  }
});

describe('priced tools', () => {
  for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
    it(`refuses costUsd ${bad} when the tool is defined, with INVALID_CONFIG`, () => {
      assert.throws(
        () => chargeTool(bad),
        (e: unknown) => (e as { code?: string }).code === 'INVALID_CONFIG' && /costUsd/.test((e as Error).message),
      );
    });
  }

  const badPrices: [string, (args: { n: number }) => number][] = [
    ['returns NaN', () => Number.NaN],
    ['returns a negative number', () => -0.5],
    ['returns Infinity', () => Number.POSITIVE_INFINITY],
    ['returns a BigInt (which JSON cannot describe)', () => 5n as unknown as number],
    [
      'throws',
      () => {
        throw new Error('price service down');
      },
    ],
  ];
  for (const [what, costUsd] of badPrices) {
    it(`fails the call with TOOL_COST_INVALID, unreserved and unrun, when costUsd ${what}`, async () => {
      const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
      let ran = 0;
      const agent = defineAgent({
        name: 'bad-price',
        instructions: 'x',
        model: lyingModel([
          { kind: 'answer', calls: ['charge'], extraInput: 0, output: 'honest', overBy: 0 },
          { kind: 'answer', calls: [], extraInput: 0, output: 'honest', overBy: 0 },
        ]),
        pricing: { inputPerMTok: 1, outputPerMTok: 10 },
        tools: [chargeTool(costUsd, () => ran++)],
        limits: { maxSteps: 4, maxCostUsd: 1, maxOutputTokens: 1000 },
      });
      const result = await warden.run(agent, 'hi');
      assert.notEqual(result.status, 'running');
      const events = await assertCeilingHeld(warden, store, result, what);
      assert.equal(ran, 0, 'the tool must not run');
      assert.ok(!events.some((e) => e.type === 'tool.started'));
      assert.ok(!events.some((e) => e.type === 'budget.reserved' && e.data.purpose === 'tool'));
      const failed = events.find((e) => e.type === 'tool.failed');
      assert.ok(failed?.type === 'tool.failed' && failed.data.error.code === 'TOOL_COST_INVALID' && /costUsd/.test(failed.data.error.message));
    });
  }
});

describe('parallel priced calls in one step', () => {
  it('reserves for all of them or none: a batch the ceiling cannot cover starts none of its calls', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    let ran = 0;
    const agent = defineAgent({
      name: 'fan-out',
      instructions: 'x',
      model: lyingModel([{ kind: 'answer', calls: ['charge', 'charge', 'charge'], extraInput: 0, output: 'honest', overBy: 0 }]),
      pricing: { inputPerMTok: 0, outputPerMTok: 0 },
      tools: [chargeTool(0.4, () => ran++)],
      parallelToolCalls: 3,
      limits: { maxSteps: 4, maxCostUsd: 1, maxOutputTokens: 1000 },
    });
    const result = await warden.run(agent, 'hi');
    const events = await assertCeilingHeld(warden, store, result, 'fan-out');
    assert.equal(result.stopReason, 'cost_ceiling');
    assert.equal(ran, 0);
    assert.ok(!events.some((e) => e.type === 'tool.started'), 'no call of the batch was started');
    assert.ok(!events.some((e) => e.type === 'budget.reserved' && e.data.purpose === 'tool'), 'no call of the batch was reserved');
  });

  it('leaves no reservation open at any run end, over random tool outcomes, failures and timeouts with parallel priced calls', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    let n = 0;
    const outcome = fc.constantFrom('ok', 'throw', 'timeout', 'bad-price', 'bad-result');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(outcome, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 5000 }), // tool price, micro-USD
        fc.integer({ min: 2_000, max: 40_000 }), // ceiling, micro-USD
        fc.boolean(),
        async (turns, parallelToolCalls, toolMicro, ceilingMicro, idempotent) => {
          // Each call's outcome is read off its argument, so the fault is fixed by the script.
          const plan = turns.flat();
          const script: LyingResponse[] = turns.map((calls) => ({
            kind: 'answer',
            calls: calls.map(() => 'charge'),
            extraInput: 0,
            output: 'honest',
            overBy: 0,
          }));
          script.push({ kind: 'answer', calls: [], extraInput: 0, output: 'honest', overBy: 0 });
          const fate = (args: { n: number }) => plan[(args.n - 1) % plan.length]!;
          const tool = chargeTool(
            (args) => (fate(args) === 'bad-price' ? Number.NaN : toolMicro / 1e6),
            (args, signal) => {
              const f = fate(args);
              if (f === 'throw') throw new Error('downstream 500');
              if (f === 'timeout') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
              if (f === 'bad-result') return { big: 'x'.repeat(300 * 1024) };
              return 'ok';
            },
            { idempotent, timeoutMs: 20 },
          );
          const agent = defineAgent({
            name: `fan-${++n}`,
            instructions: 'x',
            model: lyingModel(script),
            pricing: { inputPerMTok: 1, outputPerMTok: 4 },
            tools: [tool],
            parallelToolCalls,
            limits: { maxSteps: 8, maxToolCalls: 30, maxRetries: 6, maxWallMs: 60_000, maxCostUsd: ceilingMicro / 1e6, maxOutputTokens: 500 },
            loopDetection: { repeats: 1000, noProgressSteps: 1000 },
            backoff: { baseMs: 0, maxMs: 0 },
          });
          const result = await warden.run(agent, `fan ${n}`);
          await assertCeilingHeld(warden, store, result, `fan ${n}`);
        },
      ),
      { seed: 2027, numRuns: 60 },
    );
  });
});

describe('overruns are never silent', () => {
  async function overrunRun(path = ':memory:') {
    const { warden, store } = testWarden(path, INDEPENDENT_RUNS);
    const agent = defineAgent({
      name: 'over-reporter',
      instructions: 'x',
      model: lyingModel([{ kind: 'answer', calls: [], extraInput: 0, output: 'over', overBy: 3000 }]),
      pricing: { inputPerMTok: 1, outputPerMTok: 10 },
      tools: [chargeTool(0)],
      limits: { maxSteps: 3, maxCostUsd: 0.02, maxOutputTokens: 1000 },
    });
    return { warden, store, agent };
  }

  it('counts overruns in the warden_budget_overruns_total Prometheus counter', async () => {
    const { createMetrics } = await import('../../src/observe/metrics.ts');
    const { warden, agent } = await overrunRun();
    const metrics = createMetrics();
    metrics.attach(warden);
    await warden.run(agent, 'one');
    await warden.run(agent, 'two');
    const line = (await metrics.text()).split('\n').find((l) => l.startsWith('warden_budget_overruns_total{'));
    assert.ok(line?.includes('agent="over-reporter"') && line.endsWith(' 2'), line);
  });

  it('shows the overrun in `warden runs show`, as text and JSON', async () => {
    const { join } = await import('node:path');
    const { runCli, tempDir } = await import('../helpers.ts');
    const db = join(tempDir(), 'overrun.db');
    const { warden, store, agent } = await overrunRun(db);
    const result = await warden.run(agent, 'hi');
    await store.close();
    const text = await runCli(['runs', 'show', result.runId, '--db', db]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Overrun: the provider billed \$/);
    assert.match(text.stdout, /^overrun {2}m1\.1: billed \$[\d.]+, \$[\d.]+ reserved/m);
    const json = await runCli(['runs', 'show', result.runId, '--db', db, '--json']);
    const shown = JSON.parse(json.stdout) as { overruns: { reservationId: string; reservedNano: number; actualNano: number }[] };
    assert.equal(shown.overruns.length, 1);
    assert.ok(shown.overruns[0]!.actualNano > shown.overruns[0]!.reservedNano);
  });
});

describe('the rehearsal report', () => {
  it('counts an approval-required call run without an approval of its exact arguments, and a reservation left open', async () => {
    const { summarizeRun } = await import('../../src/rehearse/run-summary.ts');
    const { scriptedAgent, SideEffects, supportTools } = await import('../helpers.ts');
    const agent = scriptedAgent([{ text: 'x' }], supportTools(new SideEffects()));
    const limits = { maxSteps: 10, maxToolCalls: 10, maxRetries: 4, maxWallMs: 60_000, maxCostUsd: 1, maxOutputTokens: 1000 };
    const turn = {
      text: '',
      toolCalls: [{ callId: 'c1', tool: 'refund', args: { orderId: '1', amount: 250 } }],
      usage: { inputTokens: 1, outputTokens: 1 },
      finishReason: 'tool-calls',
    };
    const log = [
      [
        'run.submitted',
        {
          agent: 'test-agent',
          input: 'x',
          tenant: 't',
          limits,
          rootRunId: 'r',
          parentRunId: null,
          model: { provider: 'p', modelId: 'm', inputPerMTok: 1, outputPerMTok: 1 },
        },
      ],
      ['budget.reserved', { reservationId: 'm1.1', purpose: 'model', amountNano: 10, before: { spentNano: 0, reservedNano: 0, ceilingNano: 1e9 } }],
      ['budget.committed', { reservationId: 'm1.1', actualNano: 5, releasedNano: 5, after: { spentNano: 5, reservedNano: 0, ceilingNano: 1e9 } }],
      ['model.called', { step: 1, attempt: 1, maxOutputTokens: 1000, turn, costNano: 5, latencyMs: 1 }],
      ['policy.decided', { callId: 'c1', tool: 'refund', tier: 'write', argsHash: 'h-250', decision: 'approve', rule: 'tool:refund.approval', reason: 'big' }],
      ['approval.requested', { approvalId: 'a1', callId: 'c1', tool: 'refund', tier: 'write', args: {}, argsHash: 'h-250', reason: 'big' }],
      ['approval.decided', { approvalId: 'a1', callId: 'c1', decision: 'approved', by: 'ana', reason: '', argsHash: 'h-other' }],
      ['budget.reserved', { reservationId: 'tc1.1', purpose: 'tool', amountNano: 10, before: { spentNano: 5, reservedNano: 0, ceilingNano: 1e9 } }],
      ['tool.started', { callId: 'c1', tool: 'refund', attempt: 1, idempotencyKey: 'r:c1' }],
      ['limit.hit', { limit: 'wall_time', detail: 'x' }],
      ['run.stopped', { reason: 'wall_time', detail: 'x' }],
    ] as const;
    const events = log.map(([type, data], i) => ({ runId: 'r', seq: i + 1, type, at: i, v: 1, data })) as unknown as AnyRunEvent[];
    const summary = summarizeRun(events, agent);
    assert.deepEqual(summary.unapprovedDestructive, [{ callId: 'c1', tool: 'refund' }]);
    assert.equal(summary.openReservationsAtEnd, 1);
  });

  it('reports 0 ceiling breaches, 0 open reservations at run end and 0 unapproved destructive calls after a storm, with overruns counted apart', async () => {
    const supportDesk = (await import('../../examples/support-desk.ts')).default;
    const { resolveFaultProfile } = await import('../../src/rehearse/fault-profile.ts');
    const { rehearse } = await import('../../src/rehearse/rehearsal.ts');
    const { buildReport } = await import('../../src/rehearse/report.ts');
    const { reportText } = await import('../../src/rehearse/report-text.ts');
    const { reportHtml } = await import('../../src/rehearse/report-html.ts');
    const outcome = await rehearse({ agent: supportDesk, requests: 300, seed: 13, profile: resolveFaultProfile('storm') });
    const report = buildReport(outcome);
    assert.equal(report.cost.ceilingBreaches, 0);
    assert.equal(report.cost.openReservationsAtEnd, 0);
    assert.equal(report.permissions.destructiveRanWithoutApproval, 0);
    assert.equal(report.cost.overruns, 0, 'the simulated provider never reports more than it was asked for');
    assert.ok(report.checks.noCeilingBreach && report.checks.noOpenReservations && report.checks.noUnapprovedDestructive);
    assert.ok(report.permissions.toolCallsByTier.delete > 0 || report.permissions.approvals.approved > 0, 'the storm exercised approvals');
    const text = reportText(report);
    assert.match(text, /ceiling breaches\s+0 ✓/);
    assert.match(text, /overruns\s+0 /);
    assert.match(text, /open reservations at run end\s+0 ✓/);
    assert.match(text, /unapproved destructive calls\s+0 ✓/);
    assert.match(reportHtml(report), /open reservations at run end/);
    const json = JSON.parse(JSON.stringify(report)) as typeof report;
    assert.equal(json.cost.overruns, 0);
    assert.equal(json.cost.openReservationsAtEnd, 0);
  });
});

describe('the ceiling holds mid-stream', () => {
  it('keeps spend within the ceiling, or records the overrun and stops the run, over random streams, usage reports and ceilings', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    const spec: fc.Arbitrary<StreamSpec> = fc.record({
      chunk: fc.integer({ min: 1, max: 3000 }),
      total: fc.oneof(fc.constant('forever' as const), fc.integer({ min: 1, max: 20_000 })),
      usage: fc.constantFrom('honest' as const, 'over' as const, 'missing' as const),
      overBy: fc.integer({ min: 1, max: 5000 }),
    });
    let n = 0;
    const seen = { cut: 0, toppedUp: 0, completed: 0 };
    await fc.assert(
      fc.asyncProperty(spec, fc.integer({ min: 300, max: 20_000 }), fc.integer({ min: 256, max: 4096 }), async (s, ceilingMicroUsd, maxOutputTokens) => {
        const model = specStreamer(s);
        const agent = defineAgent({
          name: `streamer-${n++}`,
          instructions: 'Answer.',
          model,
          tools: [],
          limits: { maxCostUsd: ceilingMicroUsd / 1e6, maxOutputTokens },
          pricing: { inputPerMTok: 1, outputPerMTok: 4 },
        });
        const result = await warden.run(agent, 'stream', { onText: () => {} });
        const events = await assertCeilingHeld(warden, store, result, JSON.stringify({ s, ceilingMicroUsd, maxOutputTokens }));
        if (s.total === 'forever' && result.stopReason !== 'cost_ceiling') assert.fail(`an endless stream must be cut: ${result.status} ${result.stopReason}`);
        if (model.cancelled) seen.cut++;
        if (events.some((e) => e.type === 'budget.reserved' && e.data.reservationId.endsWith('+stream'))) seen.toppedUp++;
        if (result.status === 'completed') seen.completed++;
      }),
      { seed: 1414, numRuns: 120 },
    );
    assert.ok(seen.cut > 0 && seen.toppedUp > 0 && seen.completed > 0, `the property reached every path: ${JSON.stringify(seen)}`);
  });

  const cases: { name: string; mode: { forever: string } | { once: number }; ceiling: number }[] = [
    { name: 'streams forever in small deltas', mode: { forever: 'x'.repeat(100) }, ceiling: 1 },
    { name: 'streams forever with the ceiling sizing the reservation', mode: { forever: 'x'.repeat(100) }, ceiling: 0.0015 },
    { name: 'sends one delta far past maxOutputTokens', mode: { once: 1_000_000 }, ceiling: 1 },
  ];
  for (const c of cases) {
    it(`cuts a provider that ${c.name}: the stream ends, the overrun is recorded as estimated and the run stops at the ceiling`, async () => {
      const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
      const model = streamingLiar(c.mode);
      const agent = defineAgent({
        name: 'streamer',
        instructions: 'Answer.',
        model,
        tools: [],
        limits: { maxCostUsd: c.ceiling, maxOutputTokens: 512 },
        pricing: { inputPerMTok: 1, outputPerMTok: 4 },
      });
      let streamed = 0;
      const result = await warden.run(agent, 'write forever', { onText: ({ delta }) => (streamed += delta.length) });
      const events = await assertCeilingHeld(warden, store, result, c.name);
      assert.equal(result.status, 'stopped');
      assert.equal(result.stopReason, 'cost_ceiling');
      assert.ok(model.cancelled, 'Warden cancelled the stream');
      const called = events.find((e) => e.type === 'model.called');
      assert.ok(called?.type === 'model.called');
      const topUp = events.find((e) => e.type === 'budget.reserved' && e.data.reservationId.endsWith('+stream'));
      // Past maxOutputTokens bytes the stream goes on only if the ceiling covers 4 bytes a token.
      const cap = (topUp ? STREAM_BYTES_PER_TOKEN : 1) * called.data.maxOutputTokens;
      if ('forever' in c.mode)
        assert.ok(model.sent <= cap + 2 * c.mode.forever.length, `read ${model.sent} bytes, no more than the cap ${cap} and a delta or two`);
      assert.equal(
        topUp !== undefined,
        c.ceiling >= 0.01 && 'forever' in c.mode,
        'a top-up only where the ceiling had room for it and it could cover the bytes',
      );
      const overrun = events.find((e) => e.type === 'budget.overrun');
      assert.ok(overrun?.type === 'budget.overrun' && overrun.data.estimated === true, 'the upper bound is recorded as an overrun, marked estimated');
      assert.ok(overrun.data.actualTokens.output > called.data.maxOutputTokens);
      assert.ok(streamed > 0);
      if (c.ceiling < 0.01) assert.ok(called.data.maxOutputTokens < 512, 'the ceiling, not the limit, sized this reservation');
    });
  }
});
