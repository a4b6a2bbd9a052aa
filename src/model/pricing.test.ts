import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { calcPrice } from '@pydantic/genai-prices';
import { defineAgent } from '../agent/agent.ts';
import { isWardenError } from '../core/errors.ts';
import { auditAgent, auditText } from '../rehearse/index.ts';
import { testWarden } from '../../test/helpers.ts';
import { genaiPricesFor, genaiPricesVersion } from './genai-prices.ts';
import { ratesUpTo, resolvePrice, resolvePricing, usageCostNano } from './pricing.ts';
import { simulated } from './simulated.ts';

/** A v3 model of `provider`/`modelId` that answers once, reporting `usage`. */
function providerModel(provider: string, modelId: string, usage = { input: 1000, cacheRead: 200, cacheWrite: 500, output: 10 }): LanguageModelV3 {
  return {
    specificationVersion: 'v3',
    provider,
    modelId,
    supportedUrls: {},
    doGenerate: async () => ({
      content: [{ type: 'text', text: 'done' }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: {
          total: usage.input,
          noCache: usage.input - usage.cacheRead - usage.cacheWrite,
          cacheRead: usage.cacheRead,
          cacheWrite: usage.cacheWrite,
        },
        outputTokens: { total: usage.output, text: usage.output, reasoning: 0 },
      },
      warnings: [],
    }),
    doStream: () => {
      throw new Error('not used');
    },
  };
}

/** The library's own rate for `key`, as it would bill a call today. */
function libraryRate(providerId: string, modelId: string, key: string): unknown {
  return calcPrice({ input_tokens: 0, output_tokens: 0 }, modelId, { providerId })?.model_price[key];
}

describe('prices from @pydantic/genai-prices', () => {
  it('prices openai gpt-4.1-mini from the library, matching its data', () => {
    const { pricing, source } = resolvePrice(providerModel('openai.responses', 'gpt-4.1-mini'));
    assert.deepEqual(source, {
      kind: 'genai-prices',
      provider: 'openai',
      model: 'gpt-4.1-mini',
      version: genaiPricesVersion(),
      variable: false,
      tiered: false,
    });
    assert.equal(pricing.inputPerMTok, libraryRate('openai', 'gpt-4.1-mini', 'input_mtok'));
    assert.equal(pricing.outputPerMTok, libraryRate('openai', 'gpt-4.1-mini', 'output_mtok'));
    assert.equal(pricing.cachedInputPerMTok, libraryRate('openai', 'gpt-4.1-mini', 'cache_read_mtok'));
    assert.equal(genaiPricesVersion(), '0.1.8');
  });

  it('prices openai gpt-4o with its cached-input rate, and a dated id matches the same entry', () => {
    const chat = resolvePrice(providerModel('openai.chat', 'gpt-4o'));
    assert.equal(chat.pricing.cachedInputPerMTok, libraryRate('openai', 'gpt-4o', 'cache_read_mtok'));
    assert.ok(chat.pricing.cachedInputPerMTok! < chat.pricing.inputPerMTok);
    const dated = resolvePrice(providerModel('openai.chat', 'gpt-4o-2024-08-06'));
    assert.deepEqual(dated.pricing, chat.pricing);
    assert.equal(dated.source.kind === 'genai-prices' && dated.source.model, 'gpt-4o');
  });

  it('prices anthropic claude-sonnet-4 with its cache-write rate, and charges a call with it', async () => {
    const model = providerModel('anthropic.messages', 'claude-sonnet-4-20250514');
    const { pricing, source } = resolvePrice(model);
    assert.equal(source.kind === 'genai-prices' && source.provider, 'anthropic');
    assert.equal(pricing.inputPerMTok, libraryRate('anthropic', 'claude-sonnet-4-20250514', 'input_mtok'));
    assert.equal(pricing.cacheWriteInputPerMTok, libraryRate('anthropic', 'claude-sonnet-4-20250514', 'cache_write_mtok'));
    assert.equal(pricing.cachedInputPerMTok, libraryRate('anthropic', 'claude-sonnet-4-20250514', 'cache_read_mtok'));
    assert.equal(pricing.cacheWriteInputPerMTok, pricing.inputPerMTok * 1.25, 'Anthropic bills 5-minute cache writes at 1.25x input');

    const { warden } = testWarden();
    const agent = defineAgent({ name: 'claude', instructions: 'x', model, tools: [], limits: { maxCostUsd: 1, maxOutputTokens: 100 } });
    const run = await warden.run(agent, 'hello');
    assert.equal(run.status, 'completed', run.stopDetail ?? '');
    const called = (await warden.events(run.runId)).find((e) => e.type === 'model.called');
    assert.ok(called?.type === 'model.called');
    // 300 plain input at $3, 200 cache reads at $0.30, 500 cache writes at $3.75, 10 output at $15 (per million).
    assert.equal(called.data.costNano, usageCostNano({ inputTokens: 1000, outputTokens: 10, cachedInputTokens: 200, cacheWriteInputTokens: 500 }, pricing));
    assert.equal(called.data.costNano, 300 * 3000 + 200 * 300 + 500 * 3750 + 10 * 15000);
  });

  it('charges a price tiered by context length at the tier the call reaches, and reserves at the tier its input bound could reach', () => {
    const tiered = libraryRate('anthropic', 'claude-sonnet-4-5', 'input_mtok') as { base: number; tiers: { start: number; price: number }[] };
    assert.ok(typeof tiered === 'object' && tiered.tiers.length > 0, 'the library tiers claude-sonnet-4-5 by context length');
    const top = tiered.tiers.at(-1)!;
    const { pricing, source } = resolvePrice(providerModel('anthropic.messages', 'claude-sonnet-4-5'));
    assert.equal(source.kind === 'genai-prices' && source.tiered, true);
    assert.equal(pricing.inputPerMTok, tiered.base, 'the base rate is the list price below the threshold');
    // Charged as the library bills: below the threshold at the base rate, above it at the tier's.
    const bill = (input: number) => calcPrice({ input_tokens: input, output_tokens: 100 }, 'claude-sonnet-4-5', { providerId: 'anthropic' })!.total_price;
    for (const input of [1_000, top.start, top.start + 1, top.start + 50_000]) {
      assert.equal(usageCostNano({ inputTokens: input, outputTokens: 100 }, pricing), Math.round(bill(input) * 1e9), `${input} input tokens`);
    }
    // A reservation whose input bound is above the threshold is sized at the tier's rates.
    assert.equal(ratesUpTo(pricing, top.start + 1).inputPerMTok, top.price);
    assert.equal(ratesUpTo(pricing, top.start).inputPerMTok, tiered.base);
  });

  it('takes a price that changes with the time of day at its dearest, whatever the hour', () => {
    const offPeak = genaiPricesFor('deepseek.chat', 'deepseek-chat', new Date('2026-01-01T20:00:00Z'));
    const peak = genaiPricesFor('deepseek.chat', 'deepseek-chat', new Date('2026-01-01T10:00:00Z'));
    assert.ok(offPeak && peak);
    assert.deepEqual(offPeak.pricing, peak.pricing);
    const at = (iso: string) =>
      calcPrice({ input_tokens: 0 }, 'deepseek-chat', { providerId: 'deepseek', timestamp: new Date(iso) })!.model_price.input_mtok as number;
    assert.notEqual(at('2026-01-01T20:00:00Z'), at('2026-01-01T10:00:00Z'), 'the library prices deepseek-chat by the hour');
    assert.equal(peak.pricing.inputPerMTok, Math.max(at('2026-01-01T20:00:00Z'), at('2026-01-01T10:00:00Z')));
  });

  it("does not price a self-hosted server's model as the vendor's: only the named provider is searched", () => {
    assert.equal(genaiPricesFor('ollama.chat', 'gpt-4o'), undefined);
  });

  it("lets the agent's pricing win over the library", () => {
    const override = { inputPerMTok: 9, outputPerMTok: 99 };
    const agent = defineAgent({ name: 'o', instructions: 'x', model: providerModel('openai.chat', 'gpt-4o'), tools: [], pricing: override });
    assert.deepEqual(agent.price, { pricing: override, source: { kind: 'override' } });
    assert.deepEqual(resolvePricing(agent.model, agent.pricing), override);
  });

  it("keeps the simulated model's own price", () => {
    assert.deepEqual(resolvePrice(simulated.script([{ text: 'x' }])).source, { kind: 'model' });
  });

  it('refuses, when the agent is defined, a model with no known price and no override, saying how to set one', () => {
    let thrown: unknown;
    try {
      defineAgent({ name: 'local', instructions: 'x', model: providerModel('ollama.chat', 'llama3.1:8b'), tools: [] });
    } catch (e) {
      thrown = e;
    }
    assert.ok(isWardenError(thrown, 'UNKNOWN_MODEL_PRICE'), `expected UNKNOWN_MODEL_PRICE, got ${String(thrown)}`);
    assert.match((thrown as Error).message, /defineAgent\("local"\)/);
    assert.match((thrown as Error).message, /ollama\.chat:llama3\.1:8b/);
    assert.match((thrown as Error).message, /pricing: \{ inputPerMTok, outputPerMTok \}/);
    assert.throws(
      () => defineAgent({ name: 'typo', instructions: 'x', model: providerModel('openai.chat', 'gpt-4o-typo-xyz'), tools: [] }),
      (e) => isWardenError(e, 'UNKNOWN_MODEL_PRICE'),
    );
  });

  it('names where the price came from in the audit', () => {
    const lib = auditAgent(defineAgent({ name: 'lib', instructions: 'x', model: providerModel('anthropic.messages', 'claude-sonnet-4-20250514'), tools: [] }));
    assert.equal(lib.cost.price.source.kind, 'genai-prices');
    const text = auditText(lib);
    assert.match(
      text,
      /model price\s+input \$3, cached input \$0\.3, cache write \$3\.75, output \$15 per million tokens; from @pydantic\/genai-prices 0\.1\.8: provider "anthropic", model "claude-sonnet-4-0"/,
    );
    const own = auditText(
      auditAgent(
        defineAgent({
          name: 'own',
          instructions: 'x',
          model: providerModel('anthropic.messages', 'claude-sonnet-4-20250514'),
          tools: [],
          pricing: { inputPerMTok: 1, outputPerMTok: 2 },
        }),
      ),
    );
    assert.match(own, /model price\s+input \$1, output \$2 per million tokens; from the agent's own `pricing` \(an override\)/);
    const sim = auditText(auditAgent(defineAgent({ name: 'sim', instructions: 'x', model: simulated.script([{ text: 'x' }]), tools: [] })));
    assert.match(sim, /from the model itself \(a simulated model/);
  });
});
