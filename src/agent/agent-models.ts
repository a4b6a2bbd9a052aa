import { WardenError } from '../core/errors.ts';
import { modelKey } from '../core/events.ts';
import type { WardenModel } from '../core/ports/model.ts';
import type { ModelPricing } from '../model/model-pricing.ts';
import { type ResolvedPrice, resolvePrice } from '../model/pricing.ts';

/** A fallback model with its own price (wins over every other source, as the agent's `pricing` does for the primary). */
export interface PricedModel {
  model: WardenModel;
  pricing?: ModelPricing;
}

/** One entry of `model: [primary, fallback, …]`: an AI SDK model, or one with its price. */
export type ModelChoice = WardenModel | PricedModel;

/**
 * One model an agent may call: the primary (first) or a fallback, with the price its calls are
 * reserved and charged at, resolved when the agent is defined.
 */
export interface AgentModel {
  readonly model: WardenModel;
  readonly price: ResolvedPrice;
  /** `provider/modelId`: the model's own circuit breaker (`model:<key>`) and its name in the trace. */
  readonly key: string;
}

function isModel(value: unknown): value is WardenModel {
  return typeof (value as { doGenerate?: unknown } | null)?.doGenerate === 'function';
}

/**
 * The agent's models, primary first, each priced now: a model whose price is unknown is refused
 * (`UNKNOWN_MODEL_PRICE`), a fallback as much as the primary, since a fallback's calls are held to
 * the same ceiling. `pricing` (the agent's) prices the primary; a fallback takes `{ model, pricing }`.
 *
 * @example
 * resolveModels('defineAgent("desk")', [openai('gpt-4o'), anthropic('claude-sonnet-4-5')], undefined).map((m) => m.key);
 * // ['openai.chat/gpt-4o', 'anthropic.messages/claude-sonnet-4-5']
 */
export function resolveModels(where: string, given: unknown, pricing: ModelPricing | undefined): readonly AgentModel[] {
  const list: unknown[] = Array.isArray(given) ? given : [given];
  if (list.length === 0) throw new WardenError('INVALID_CONFIG', `${where}: model must be a model or a non-empty list [primary, fallback, …]`);
  const out: AgentModel[] = [];
  for (const [i, entry] of list.entries()) {
    const what = list.length === 1 && !Array.isArray(given) ? 'model' : `model[${i}]`;
    const model = isModel(entry) ? entry : (entry as PricedModel | null)?.model;
    if (!isModel(model)) {
      throw new WardenError(
        'INVALID_CONFIG',
        `${where}: ${what} must be an AI SDK language model (with doGenerate), simulated.script(…), or { model, pricing }`,
      );
    }
    const own = isModel(entry) ? undefined : (entry as PricedModel).pricing;
    if (i === 0 && own && pricing)
      throw new WardenError('INVALID_CONFIG', `${where}: the primary model's price is given twice (pricing and model[0].pricing); keep one`);
    if (i > 0 && !isModel(entry) && own === undefined && Object.keys(entry as object).some((k) => k !== 'model')) {
      throw new WardenError('INVALID_CONFIG', `${where}: ${what} takes { model, pricing }, got keys ${Object.keys(entry as object).join(', ')}`);
    }
    let price: ResolvedPrice;
    try {
      // Resolved now, not at the first run: a model whose spend cannot be bounded is not one to fall back on.
      price = resolvePrice(model, own ?? (i === 0 ? pricing : undefined));
    } catch (e) {
      if (e instanceof WardenError) throw new WardenError(e.code, `${where}: ${what === 'model' ? '' : `${what}: `}${e.message}`, { cause: e });
      throw e;
    }
    const key = modelKey(model);
    if (out.some((m) => m.key === key)) {
      throw new WardenError(
        'INVALID_CONFIG',
        `${where}: ${what} is "${key}" again; each model in the list must be a different provider/modelId (each has its own breaker)`,
      );
    }
    out.push(Object.freeze({ model, price, key }));
  }
  return Object.freeze(out);
}
