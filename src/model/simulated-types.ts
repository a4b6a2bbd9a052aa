import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3GenerateResult, LanguageModelV3StreamResult } from '@ai-sdk/provider';
import type { ModelPricing } from './model-pricing.ts';
import type { PRICING_KEY } from './pricing.ts';

/** A tool call the simulated model proposes. `args` must be JSON-serialisable. */
export interface SimulatedToolCall {
  tool: string;
  args: unknown;
}

/**
 * Makes a turn fail the way a provider's HTTP call fails: the call throws an `APICallError` with
 * this `statusCode`, `isRetryable` true for 408, 409, 429 and 5xx, and `retry-after` /
 * `retry-after-ms` headers when `retryAfterMs` is given.
 */
export interface SimulatedError {
  /** HTTP status, e.g. 429 (rate limited), 500, 502, 503, 529 (overloaded), 400 (bad request). */
  status: number;
  /** Sent as the `retry-after-ms` header, and rounded up to seconds as `retry-after`. */
  retryAfterMs?: number;
  /** The provider's error message (a default per status otherwise). */
  message?: string;
  /** How many attempts at this turn fail before it goes through (default 1). */
  times?: number;
}

/** Simulated latency: a fixed wait, or one drawn log-uniformly from a range (heavy on the short side). */
export type SimulatedLatency = number | { min: number; max: number };

/** What a turn may carry besides its text or tool calls. */
export interface SimulatedTurnExtras {
  /** Reported usage; what is left out is estimated at four bytes a token. Clamped like a real provider's. */
  usage?: { inputTokens?: number; outputTokens?: number };
  /** The model's self-reported confidence in [0, 1], sent as `providerMetadata.warden.confidence`. */
  confidence?: number;
  /** The model's stated reason, sent as `providerMetadata.warden.rationale`. */
  rationale?: string;
  /** Milliseconds to wait before answering; the call's abort signal cuts the wait short. */
  delayMs?: SimulatedLatency;
  /** Fail this turn's first `times` attempts with a provider error, then answer. */
  error?: SimulatedError;
  /** Return each tool call's input as a string that is not valid JSON (a cut-off response). */
  malformed?: boolean;
}

/** One scripted response: text, tool calls, or both, plus optional extras. */
export type SimulatedTurn = ({ text: string; toolCalls?: SimulatedToolCall[] } | { toolCalls: SimulatedToolCall[]; text?: string }) & SimulatedTurnExtras;

export interface SimulatedOptions {
  /** USD per million input tokens (default 0.15). */
  inputPerMTok?: number;
  /** USD per million output tokens (default 0.6). */
  outputPerMTok?: number;
  /** Fixes the draws the model makes (latency within a `delayMs` range); default 0. */
  seed?: number;
  /** Reported as the model id (default `script`). */
  modelId?: string;
}

/** A v3 language model (its calls return real promises) that carries its own price for `resolvePricing`. */
export type SimulatedModel = Omit<LanguageModelV3, 'doGenerate' | 'doStream'> & {
  doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult>;
  doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult>;
  readonly [PRICING_KEY]: ModelPricing;
};
