import { WardenError } from '../errors.ts';
import type { TokenUsage, WardenModel } from './port.ts';

/** Price of a model in USD per million tokens. */
export interface ModelPricing {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Price of input tokens served from the provider's cache (defaults to `inputPerMTok`). */
  cachedInputPerMTok?: number;
}

/**
 * Money is kept in integer nano-dollars (1e-9 USD) inside the runtime and the store, so the
 * ceiling check is exact: no floating-point drift across thousands of small charges.
 */
export const NANO_PER_USD = 1_000_000_000;

export function usdToNano(usd: number): number {
  return Math.ceil(usd * NANO_PER_USD - 1e-6);
}

export function nanoToUsd(nano: number): number {
  return nano / NANO_PER_USD;
}

/** Cost of `tokens` at `perMTok` USD per million, in nano-USD, rounded up (never under-count). */
export function tokensToNano(tokens: number, perMTok: number): number {
  // perMTok USD / 1e6 tokens = perMTok * 1000 nano-USD per token.
  return Math.ceil(tokens * perMTok * 1000 - 1e-9);
}

/** What a call cost: cached input at the cached rate (when the model has one), the rest at full price. */
export function usageCostNano(usage: TokenUsage, pricing: ModelPricing): number {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const cachedRate = pricing.cachedInputPerMTok ?? pricing.inputPerMTok;
  return tokensToNano(usage.inputTokens - cached, pricing.inputPerMTok) + tokensToNano(cached, cachedRate) + tokensToNano(usage.outputTokens, pricing.outputPerMTok);
}

/** Models that carry their own price (the simulated model does) expose it under this key. */
export const PRICING_KEY = 'wardenPricing';

/**
 * Prices of common models, USD per million tokens: input, output, and input served from the
 * provider's prompt cache. These are the providers' published list prices as last checked (they
 * change; no network is reached to refresh them). Override any of them per agent with `pricing`;
 * a model missing here needs `pricing`, or the run refuses to start (the ceiling needs a price).
 */
export const PRICE_TABLE: Readonly<Record<string, ModelPricing>> = Object.freeze({
  'openai:gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 },
  'openai:gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 },
  'openai:gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5 },
  'openai:gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6, cachedInputPerMTok: 0.1 },
  'openai:gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4, cachedInputPerMTok: 0.025 },
  'openai:o4-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4, cachedInputPerMTok: 0.275 },
  'anthropic:claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 },
  'anthropic:claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4, cachedInputPerMTok: 0.08 },
  'anthropic:claude-opus-4': { inputPerMTok: 15, outputPerMTok: 75, cachedInputPerMTok: 1.5 },
});

function tableKey(model: WardenModel): string {
  const provider = model.provider.split('.')[0] ?? model.provider;
  return `${provider}:${model.modelId}`;
}

/**
 * The price the ceiling is enforced with: the agent's override, else the model's own (simulated),
 * else the table (longest matching model-id prefix, so dated ids such as `gpt-4o-2024-08-06` match).
 */
export function resolvePricing(model: WardenModel, override?: ModelPricing): ModelPricing {
  const pricing = override ?? (model as unknown as Record<string, ModelPricing | undefined>)[PRICING_KEY] ?? lookupTable(model);
  if (!pricing) {
    throw new WardenError(
      'UNKNOWN_MODEL_PRICE',
      `No price known for model "${tableKey(model)}": the cost ceiling cannot be enforced without one. ` +
        'Set `pricing: { inputPerMTok, outputPerMTok }` on the agent.',
    );
  }
  if (!(pricing.inputPerMTok >= 0) || !(pricing.outputPerMTok >= 0)) {
    throw new WardenError('INVALID_CONFIG', `pricing must have non-negative inputPerMTok and outputPerMTok, got ${JSON.stringify(pricing)}`);
  }
  return pricing;
}

function lookupTable(model: WardenModel): ModelPricing | undefined {
  const key = tableKey(model);
  let best: string | undefined;
  for (const candidate of Object.keys(PRICE_TABLE)) {
    if (key.startsWith(candidate) && (best === undefined || candidate.length > best.length)) best = candidate;
  }
  return best === undefined ? undefined : PRICE_TABLE[best];
}
