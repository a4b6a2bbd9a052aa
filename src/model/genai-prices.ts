import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ModelInfo, ModelPrice } from '@pydantic/genai-prices';
import type { ContextTier, ModelPricing } from './model-pricing.ts';

type GenaiPrices = typeof import('@pydantic/genai-prices');
let library: GenaiPrices | undefined;

/**
 * The library, loaded on first use (its bundled price data is most of a megabyte): a CLI command
 * or an agent on the simulated model never pays for it.
 */
function genaiPrices(): GenaiPrices {
  library ??= createRequire(import.meta.url)('@pydantic/genai-prices') as GenaiPrices;
  return library;
}

/** Where a price from `@pydantic/genai-prices` came from: the provider and model entry it matched. */
export interface GenaiPricesMatch {
  pricing: ModelPricing;
  /** genai-prices' provider id, e.g. `anthropic`. */
  provider: string;
  /** genai-prices' model id the request's model id matched, e.g. `claude-sonnet-4-0`. */
  model: string;
  /** The library's version, whose bundled data gave the price. */
  version: string;
  /** True when the model's price changes with the time of day and the dearest rate was taken. */
  variable: boolean;
  /** True when the price is tiered by context length (each call is charged the tier its input reaches). */
  tiered: boolean;
}

/** AI SDK provider names (the part before the first dot) that genai-prices spells otherwise. */
const PROVIDER_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  'amazon-bedrock': 'aws',
  togetherai: 'together',
  xai: 'x-ai',
});

let version: string | undefined;

/** The installed library's version (read once from its package.json). */
export function genaiPricesVersion(): string {
  if (version === undefined) {
    try {
      const url = new URL('../package.json', import.meta.resolve('@pydantic/genai-prices'));
      version = String((JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** genai-prices' provider id for an AI SDK provider id such as `openai.responses` or `anthropic.messages`. */
export function genaiProviderId(aiSdkProvider: string): string {
  const head = aiSdkProvider.split('.')[0] ?? aiSdkProvider;
  return PROVIDER_ALIASES[head] ?? head;
}

/** A rate for a call whose input tokens are `inputTokens`: a tiered rate at the tier it is above (as genai-prices bills). */
function rateAt(rate: ModelPrice[string], inputTokens: number): number | undefined {
  if (typeof rate === 'number') return rate;
  if (rate && typeof rate === 'object' && Array.isArray(rate.tiers)) {
    let value = rate.base;
    for (const t of [...rate.tiers].sort((a, b) => a.start - b.start)) if (inputTokens > t.start) value = t.price;
    return value;
  }
  return undefined;
}

/** The input-token thresholds where a tiered rate changes. */
function thresholds(rate: ModelPrice[string]): number[] {
  return rate && typeof rate === 'object' && Array.isArray(rate.tiers) ? rate.tiers.map((t) => t.start) : [];
}

/**
 * The price sets that may apply to a call made now: the one in force at `at`, and every
 * time-of-day variant (a run can cross from off-peak to peak between reservation and bill).
 */
function candidatePrices(model: ModelInfo, current: ModelPrice): ModelPrice[] {
  const out = [current];
  if (Array.isArray(model.prices)) {
    for (const p of model.prices) if (p.constraint?.type === 'time_of_date') out.push(p.prices);
  }
  return out;
}

const KEYS = [
  ['inputPerMTok', 'input_mtok'],
  ['outputPerMTok', 'output_mtok'],
  ['cachedInputPerMTok', 'cache_read_mtok'],
  ['cacheWriteInputPerMTok', 'cache_write_mtok'],
] as const;

/**
 * The price of `modelId` served by `aiSdkProvider` from the bundled genai-prices data: a rate
 * tiered by context length keeps its tiers (`contextTiers`: a call is reserved at the tier its
 * input bound can reach and charged at the tier its real input reaches), and a rate that changes
 * with the time of day is taken at its dearest, so a reservation made with it is never short. Only the named provider (and the providers its entry defers to, as Azure does to
 * OpenAI) is searched: a self-hosted server's `gpt-4o` is not priced as OpenAI's. `undefined`
 * when the library does not know the model, or knows no token price for it.
 *
 * @example
 * genaiPricesFor('anthropic.messages', 'claude-sonnet-4-20250514')?.pricing.cacheWriteInputPerMTok; // 3.75
 */
export function genaiPricesFor(aiSdkProvider: string, modelId: string, at: Date = new Date()): GenaiPricesMatch | undefined {
  const { calcPrice, findProvider } = genaiPrices();
  const provider = findProvider({ providerId: genaiProviderId(aiSdkProvider) });
  if (!provider) return undefined;
  let found: ReturnType<typeof calcPrice>;
  try {
    found = calcPrice({ input_tokens: 0, output_tokens: 0 }, modelId, { provider, timestamp: at });
  } catch {
    return undefined;
  }
  if (!found) return undefined;
  const candidates = candidatePrices(found.model, found.model_price);
  // A time-of-day price is taken at its dearest (a run can cross from off-peak to peak); a price
  // tiered by context length keeps its tiers, so each call is charged the tier its input reaches.
  const variable = candidates.length > 1;
  const rates = (inputTokens: number) => {
    const out: Partial<Record<(typeof KEYS)[number][0], number>> = {};
    for (const [ours, theirs] of KEYS) {
      for (const prices of candidates) {
        const value = rateAt(prices[theirs], inputTokens);
        if (value !== undefined) out[ours] = Math.max(out[ours] ?? 0, value);
      }
    }
    return out;
  };
  const pricing: ModelPricing & Partial<Record<(typeof KEYS)[number][0], number>> = rates(0) as ModelPricing;
  const starts = [...new Set(candidates.flatMap((prices) => KEYS.flatMap(([, theirs]) => thresholds(prices[theirs]))))].sort((a, b) => a - b);
  if (starts.length > 0) pricing.contextTiers = starts.map((start): ContextTier => ({ aboveInputTokens: start, ...rates(start + 1) }));
  return {
    pricing: pricing as ModelPricing,
    provider: found.provider.id,
    model: found.model.id,
    version: genaiPricesVersion(),
    variable,
    tiered: starts.length > 0,
  };
}
