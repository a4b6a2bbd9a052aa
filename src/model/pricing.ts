import { WardenError } from '../errors.ts';
import type { TokenUsage, WardenModel } from './port.ts';

/** Price of a model in USD per million tokens. */
export interface ModelPricing {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Price of input tokens served from the provider's cache (defaults to `inputPerMTok`). */
  cachedInputPerMTok?: number;
  /**
   * Price of input tokens the provider writes to its prompt cache (Anthropic charges 1.25× the
   * input price for them; defaults to `inputPerMTok`).
   */
  cacheWriteInputPerMTok?: number;
  /**
   * Input tokens the provider adds to every request on its own — Anthropic's tool-use system
   * prompt, OpenAI's message framing — reserved on top of Warden's bound of the request. Defaults
   * per provider (`PROVIDER_ADDED_INPUT_TOKENS`); set it when a provider adds more (or less).
   */
  providerInputTokens?: number;
}

/**
 * Input tokens each provider is known to add to a request Warden sends (tool-use system prompts:
 * Anthropic documents 264–346 for tool use; OpenAI's framing adds a few per message, which
 * Warden's own bound already counts, so it gets a small margin). Unknown providers get 0: set
 * `pricing.providerInputTokens` for them.
 */
export const PROVIDER_ADDED_INPUT_TOKENS: Readonly<Record<string, number>> = Object.freeze({
  anthropic: 500,
  openai: 64,
});

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

/**
 * What a call cost: input read from the cache at the cached rate, input written to the cache at
 * the cache-write rate, the rest of the input at full price, and the output. `inputTokens` counts
 * all input (cache reads and writes included).
 */
export function usageCostNano(usage: TokenUsage, pricing: ModelPricing): number {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const written = Math.min(usage.cacheWriteInputTokens ?? 0, usage.inputTokens - cached);
  const cachedRate = pricing.cachedInputPerMTok ?? pricing.inputPerMTok;
  return (
    tokensToNano(usage.inputTokens - cached - written, pricing.inputPerMTok) +
    tokensToNano(cached, cachedRate) +
    tokensToNano(written, writeRate(pricing)) +
    tokensToNano(usage.outputTokens, pricing.outputPerMTok)
  );
}

function writeRate(pricing: ModelPricing): number {
  return pricing.cacheWriteInputPerMTok ?? pricing.inputPerMTok;
}

/**
 * The rate input is reserved at: the dearest an input token can be billed (a cache write can
 * cost more than plain input), so no mix of cached, written and plain input exceeds the reservation.
 */
export function reservedInputPerMTok(pricing: ModelPricing): number {
  return Math.max(pricing.inputPerMTok, writeRate(pricing), pricing.cachedInputPerMTok ?? 0);
}

/** Input tokens `model`'s provider adds to a request: the pricing's own figure, else the provider default. */
export function providerInputTokens(model: Pick<WardenModel, 'provider'>, pricing: ModelPricing): number {
  if (pricing.providerInputTokens !== undefined) return pricing.providerInputTokens;
  const provider = model.provider.split('.')[0] ?? model.provider;
  return PROVIDER_ADDED_INPUT_TOKENS[provider] ?? 0;
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
  // Anthropic bills 5-minute cache writes at 1.25× the input price.
  'anthropic:claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3, cacheWriteInputPerMTok: 3.75 },
  'anthropic:claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4, cachedInputPerMTok: 0.08, cacheWriteInputPerMTok: 1 },
  'anthropic:claude-opus-4': { inputPerMTok: 15, outputPerMTok: 75, cachedInputPerMTok: 1.5, cacheWriteInputPerMTok: 18.75 },
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
  for (const key of ['cachedInputPerMTok', 'cacheWriteInputPerMTok'] as const) {
    const value = pricing[key];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new WardenError('INVALID_CONFIG', `pricing.${key} must be a non-negative number of USD per million tokens, got ${value}`);
    }
  }
  if (pricing.providerInputTokens !== undefined && !(Number.isInteger(pricing.providerInputTokens) && pricing.providerInputTokens >= 0)) {
    throw new WardenError(
      'INVALID_CONFIG',
      `pricing.providerInputTokens must be a non-negative integer (input tokens the provider adds to each request), got ${pricing.providerInputTokens}`,
    );
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
