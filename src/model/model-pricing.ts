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
  /**
   * Rates that apply instead to a call whose input is above a number of tokens (a price tiered by
   * context length, such as Claude Sonnet 4.5's above 200k). The whole call pays the rates of the
   * highest tier it is above; a tier names only the rates that change.
   */
  contextTiers?: readonly ContextTier[];
}

/** The rates of one context-length tier: they apply to a call whose input tokens are above `aboveInputTokens`. */
export interface ContextTier {
  aboveInputTokens: number;
  inputPerMTok?: number;
  outputPerMTok?: number;
  cachedInputPerMTok?: number;
  cacheWriteInputPerMTok?: number;
}
