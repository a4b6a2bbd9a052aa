import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { simulated } from '../../src/model/simulated.ts';
import { seededRandom as rng } from '../../src/model/seeded-random.ts';
import { INDEPENDENT_RUNS, testWarden } from '../helpers.ts';

describe('the cost ceiling', () => {
  it('does not make a call whose worst case would cross the ceiling', async () => {
    const agent = defineAgent({
      name: 'pricey',
      instructions: 'x',
      model: simulated.script([{ toolCalls: [{ tool: 'echo', args: { n: 1 } }], usage: { inputTokens: 50, outputTokens: 4000 } }], {
        inputPerMTok: 5,
        outputPerMTok: 20,
      }),
      tools: [defineTool({ name: 'echo', description: 'e', tier: 'read', input: z.object({ n: z.number() }), execute: ({ n }) => n })],
      limits: { maxSteps: 100, maxToolCalls: 100, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: 0.2, maxOutputTokens: 4000 },
      loopDetection: { repeats: 1000, noProgressSteps: 1000 },
    });
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    const result = await warden.run(agent, 'spend');
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'cost_ceiling');
    assert.ok(result.costUsd <= 0.2, `spent ${result.costUsd}`);
    const budget = await store.getBudget(result.runId);
    assert.ok(budget && budget.spentNano <= budget.ceilingNano && budget.reservedNano === 0);
  });

  it('holds with heavy usage, failing model calls and failing priced tools, over 250 random runs', async () => {
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    let stoppedAtCeiling = 0;
    for (let seed = 1; seed <= 250; seed++) {
      const random = rng(seed);
      const turns = Array.from({ length: 12 }, (_, i) => {
        const heavy = random() < 0.3;
        const usage = { inputTokens: Math.floor(random() * 3000), outputTokens: heavy ? 50_000 : Math.floor(random() * 800) };
        const error = random() < 0.25 ? { status: random() < 0.5 ? 429 : 503, times: 1 + Math.floor(random() * 3) } : undefined;
        return { toolCalls: [{ tool: 'charge', args: { i, fail: random() < 0.3 } }], usage, ...(error ? { error } : {}) };
      });
      const charge = defineTool({
        name: 'charge',
        description: 'a priced call that sometimes fails',
        tier: 'read',
        idempotent: true,
        retries: 2,
        costUsd: 0.001 + random() * 0.01,
        input: z.object({ i: z.number(), fail: z.boolean() }),
        execute: ({ fail }) => {
          if (fail) throw new Error('downstream 500');
          return 'ok';
        },
      });
      const ceiling = 0.005 + random() * 0.05;
      const agent = defineAgent({
        name: `random-${seed}`,
        instructions: 'Spend carefully.',
        model: simulated.script(turns, { inputPerMTok: 1 + random() * 4, outputPerMTok: 4 + random() * 20 }),
        tools: [charge],
        limits: { maxSteps: 12, maxToolCalls: 30, maxRetries: 8, maxWallMs: 60_000, maxCostUsd: ceiling, maxOutputTokens: 2000 },
        backoff: { baseMs: 0, maxMs: 0 },
      });
      const result = await warden.run(agent, `request ${seed}`);
      const budget = (await store.getBudget(result.runId))!;
      assert.ok(budget.spentNano <= budget.ceilingNano, `seed ${seed}: spent ${budget.spentNano} > ceiling ${budget.ceilingNano}`);
      assert.equal(budget.reservedNano, 0, `seed ${seed}: reservations left open`);
      assert.ok(Math.abs(result.costUsd - budget.spentNano / 1e9) < 1e-12, `seed ${seed}: the log and the ledger disagree`);
      if (result.stopReason === 'cost_ceiling') stoppedAtCeiling++;
    }
    assert.ok(stoppedAtCeiling > 20, `the scenario must actually press on the ceiling (only ${stoppedAtCeiling} runs reached it)`);
  });
});
