import type { LanguageModelV2, LanguageModelV3, LanguageModelV4 } from '@ai-sdk/provider';

/**
 * The model port: any Vercel AI SDK language model works unchanged — specification v4 (`ai` 7
 * providers), v3 (`ai` 6) or v2 (`ai` 5) — including `simulated.script(…)`, which speaks v3.
 * src/model/spec-versions.ts converts what each version returns to the v3 shape.
 */
export type WardenModel = LanguageModelV4 | LanguageModelV3 | LanguageModelV2;

/** A tool as the model sees it. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  inputSchema: Record<string, unknown>;
}

/** A call the model proposed. `args` is parsed JSON; `parseError` is set when it was not JSON. */
export interface ProposedCall {
  callId: string;
  tool: string;
  args: unknown;
  parseError?: string;
}

/** Warden's own, provider-neutral view of the conversation so far (derived from the event log). */
export type ConversationMessage =
  | { role: 'user'; text: string }
  | { role: 'assistant'; text: string; toolCalls: ProposedCall[] }
  | { role: 'tool'; results: ToolResultMessage[] };

export interface ToolResultMessage {
  callId: string;
  tool: string;
  /** What the tool returned, or the error the runtime reports to the model. */
  output: unknown;
  isError: boolean;
}

export interface ModelRequest {
  system: string;
  messages: ConversationMessage[];
  tools: ToolSpec[];
  /** The reservation was sized for this; a provider never returns more. */
  maxOutputTokens: number;
  /** The final answer's JSON Schema (the agent's `output`), for providers with native structured output. */
  responseFormat?: { schema: Record<string, unknown>; name?: string };
  signal?: AbortSignal;
  seed?: number;
  /**
   * Which attempt at this step the call is (1 for the first, 2 for the first retry, …). Sent to the
   * model as `providerOptions.warden.attempt`, which real providers ignore; the simulated model uses
   * it to decide whether an error turn fails this attempt, without keeping any state.
   */
  attempt?: number;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Of `inputTokens`, those served from the provider's prompt cache (priced at the cached rate). */
  cachedInputTokens?: number;
  /** Of `inputTokens`, those the provider wrote to its prompt cache (priced at the cache-write rate). */
  cacheWriteInputTokens?: number;
}

/** One model response, normalised. This is what `model.called` records and replay feeds back. */
export interface ModelTurn {
  text: string;
  toolCalls: ProposedCall[];
  usage: TokenUsage;
  finishReason: string;
  /** The model's self-reported confidence in [0, 1], when it gave one. */
  confidence?: number;
  /** The model's stated reason for its proposal, when it gave one. */
  rationale?: string;
  /** Mean token log-probability, where the provider returns them. */
  avgLogprob?: number;
  /**
   * True when the provider did not report input or output tokens; `usage` then holds only what was
   * reported (0 for the rest), so the runtime must charge the call's whole reservation instead.
   */
  usageMissing?: boolean;
  /** The response id and model the provider reported, when it did (OpenTelemetry `gen_ai.response.*`). */
  response?: ModelResponseIdentity;
}

/** Why a model call failed, classified so the runtime knows whether a retry can help. */
export interface ModelFailure {
  kind: 'rate_limited' | 'server_error' | 'timeout' | 'malformed' | 'client_error' | 'aborted' | 'network' | 'breaker_open' | 'retry_budget';
  retryable: boolean;
  status?: number;
  retryAfterMs?: number;
  message: string;
}

/** Where a model is served: the host and port of its provider's base URL. */
export interface ModelServer {
  address: string;
  port?: number;
}

/** What the provider said it answered with (OpenTelemetry `gen_ai.response.id` / `.model`). */
export interface ModelResponseIdentity {
  id?: string;
  modelId?: string;
}
