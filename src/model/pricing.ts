import { WardenError } from '../core/errors.ts';
import { genaiPricesFor, genaiPricesVersion, genaiProviderId } from './genai-prices.ts';
import type { TokenUsage, WardenModel } from '../core/ports/model.ts';
import { tokensToNano } from '../core/money.ts';
import type { ContextTier, ModelPricing } from './model-pricing.ts';

const TIERED_RATES = ['inputPerMTok', 'outputPerMTok', 'cachedInputPerMTok', 'cacheWriteInputPerMTok'] as const;

function sortedTiers(pricing: ModelPricing): readonly ContextTier[] {
  const tiers = pricing.contextTiers ?? [];
  return tiers.length < 2 ? tiers : [...tiers].sort((a, b) => a.aboveInputTokens - b.aboveInputTokens);
}

/**
 * The rates a call with `inputTokens` of input (cached and cache-written included) is billed at:
 * the base rates, replaced by those of every tier the call is above, lowest first.
 *
 * @example
 * ratesFor(sonnet45, 250_000).inputPerMTok; // 6, where the base rate is 3
 */
export function ratesFor(pricing: ModelPricing, inputTokens: number): ModelPricing {
  if (!pricing.contextTiers?.length) return pricing;
  const rates: ModelPricing = { ...pricing, contextTiers: undefined };
  for (const tier of sortedTiers(pricing)) {
    if (!(inputTokens > tier.aboveInputTokens)) break;
    for (const key of TIERED_RATES) if (tier[key] !== undefined) rates[key] = tier[key];
  }
  return rates;
}

/**
 * The highest rates any call with at most `inputTokens` of input can be billed at: what a
 * reservation sized by an upper bound on the input must use, so it is never short whichever tier
 * the call's real input lands in.
 */
export function ratesUpTo(pricing: ModelPricing, inputTokens: number): ModelPricing {
  if (!pricing.contextTiers?.length) return pricing;
  const rates: ModelPricing = { ...pricing, contextTiers: undefined };
  for (const tier of sortedTiers(pricing)) {
    if (!(inputTokens > tier.aboveInputTokens)) break;
    for (const key of TIERED_RATES) {
      const value = tier[key];
      if (value !== undefined) rates[key] = Math.max(rates[key] ?? rates.inputPerMTok, value);
    }
  }
  return rates;
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
 * What a call cost: input read from the cache at the cached rate, input written to the cache at
 * the cache-write rate, the rest of the input at full price, and the output. `inputTokens` counts
 * all input (cache reads and writes included).
 */
export function usageCostNano(usage: TokenUsage, tiered: ModelPricing): number {
  // The provider bills the whole call at the tier its input reaches.
  const pricing = ratesFor(tiered, usage.inputTokens);
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

/** Where the price the ceiling is enforced with came from, for the audit. */
export type PriceSource =
  | { kind: 'override' }
  | { kind: 'model' }
  | { kind: 'genai-prices'; provider: string; model: string; version: string; variable: boolean; tiered: boolean };

/** A model's price and where it came from. */
export interface ResolvedPrice {
  pricing: ModelPricing;
  source: PriceSource;
}

function modelKey(model: WardenModel): string {
  return `${model.provider}:${model.modelId}`;
}

/**
 * The price the ceiling is enforced with: the agent's override, else the model's own (the
 * simulated model carries one), else `@pydantic/genai-prices`' bundled data for the model's
 * provider and id (a rate that varies is taken at its highest: see `genaiPricesFor`). A model
 * with none of these is refused (`UNKNOWN_MODEL_PRICE`): it is never charged $0.
 *
 * @example
 * resolvePrice(openai('gpt-4o')).source; // { kind: 'genai-prices', provider: 'openai', model: 'gpt-4o', version: '0.1.8', variable: false, tiered: false }
 */
export function resolvePrice(model: WardenModel, override?: ModelPricing): ResolvedPrice {
  const own = (model as unknown as Record<string, ModelPricing | undefined>)[PRICING_KEY];
  let resolved: ResolvedPrice | undefined;
  if (override) resolved = { pricing: override, source: { kind: 'override' } };
  else if (own) resolved = { pricing: own, source: { kind: 'model' } };
  else {
    const match = genaiPricesFor(String(model.provider), String(model.modelId));
    if (match) {
      const { pricing, ...source } = match;
      resolved = { pricing, source: { kind: 'genai-prices', ...source } };
    }
  }
  if (!resolved) {
    throw new WardenError(
      'UNKNOWN_MODEL_PRICE',
      `No price known for model "${modelKey(model)}" (genai-prices ${genaiPricesVersion()} has none for provider "${genaiProviderId(String(model.provider))}"): ` +
        'the cost ceiling cannot be enforced without one. ' +
        'Set `pricing: { inputPerMTok, outputPerMTok }` (USD per million tokens) on the agent.',
    );
  }
  checkPricing(resolved.pricing);
  return resolved;
}

/** The price the ceiling is enforced with (see `resolvePrice`, which also says where it came from). */
export function resolvePricing(model: WardenModel, override?: ModelPricing): ModelPricing {
  return resolvePrice(model, override).pricing;
}

function checkPricing(pricing: ModelPricing): void {
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
}
