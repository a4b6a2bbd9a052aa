import type {
  JSONSchema7,
  JSONValue,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3Message,
  LanguageModelV3ToolResultOutput,
  SharedV3ProviderMetadata,
} from '@ai-sdk/provider';
import { classifyModelError, ModelCallError } from './model-failure.ts';
import { responseIdentity } from './model-identity.ts';
import { raceAbort } from './race-abort.ts';
import type { ConversationMessage, ModelRequest, ModelTurn, ProposedCall, ToolResultMessage, WardenModel } from '../core/ports/model.ts';
import { assertSupportedModel, generateV3 } from './spec-versions.ts';

export { classifyModelError, ModelCallError } from './model-failure.ts';

/**
 * The bridge from Warden's provider-neutral request to any AI SDK language model (specification
 * v2, v3 or v4, read through src/model/spec-versions.ts in the v3 shape), and back to a
 * normalised `ModelTurn`. It makes exactly one call: retries, backoff and
 * their budget belong to the runtime, which sees every attempt in the run's log.
 */

type GenerateResult = LanguageModelV3GenerateResult;

/**
 * Calls `model` once with `request` and returns what it proposed.
 *
 * Never throws for what the model said: tool arguments that are not JSON come back as the raw
 * string with `parseError` set, and missing usage sets `usageMissing` (the runtime then charges
 * the whole reservation). A failed call throws `ModelCallError`, whose `failure` says whether a
 * retry can help.
 *
 * @example
 * const turn = await callModel(openai('gpt-4o-mini'), {
 *   system: 'You help customers.', messages: [{ role: 'user', text: 'Where is order 1042?' }],
 *   tools: [{ name: 'lookup_order', description: 'Find an order', inputSchema: { type: 'object' } }],
 *   maxOutputTokens: 1024,
 * });
 * for (const call of turn.toolCalls) console.log(call.tool, call.args);
 */
export async function callModel(model: WardenModel, request: ModelRequest): Promise<ModelTurn> {
  // A model of a version Warden does not speak is a configuration error, not a failed call.
  assertSupportedModel(model);
  let result: GenerateResult;
  try {
    // Raced against the signal: a provider that ignores its abort signal still ends at the deadline.
    result = await raceAbort(generateV3(model, callOptions(request)), request.signal);
  } catch (e) {
    throw new ModelCallError(failureOf(e, request.signal), { cause: e });
  }
  if (!result || !Array.isArray(result.content)) {
    throw new ModelCallError({ kind: 'malformed', retryable: true, message: 'The provider returned no content array.' });
  }
  return toModelTurn(result);
}

/** A call cut by the run's own signal is an abort or a timeout, whatever the provider threw. */
export function failureOf(e: unknown, signal: AbortSignal | undefined) {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
    const message = `The call was ${timedOut ? 'timed out' : 'aborted'} by the runtime: ${reason instanceof Error ? reason.message : String(reason)}`;
    return timedOut ? { kind: 'timeout' as const, retryable: true, message } : { kind: 'aborted' as const, retryable: false, message };
  }
  return classifyModelError(e);
}

/**
 * The AI SDK call options for a request: the conversation as a prompt, the tools as function
 * tools the model may choose among, and the limits the reservation was sized for.
 *
 * @example
 * const options = callOptions({ system: 'Be brief.', messages: [{ role: 'user', text: 'hi' }], tools: [], maxOutputTokens: 256 });
 * options.prompt; // [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }]
 */
export function callOptions(request: ModelRequest): LanguageModelV3CallOptions {
  const prompt: LanguageModelV3Message[] = [];
  if (request.system !== '') prompt.push({ role: 'system', content: request.system });
  for (const message of request.messages) prompt.push(toPromptMessage(message));
  return {
    prompt,
    maxOutputTokens: request.maxOutputTokens,
    ...(request.tools.length > 0
      ? {
          tools: request.tools.map((t) => ({ type: 'function' as const, name: t.name, description: t.description, inputSchema: t.inputSchema as JSONSchema7 })),
          toolChoice: { type: 'auto' as const },
        }
      : {}),
    ...(request.responseFormat
      ? {
          responseFormat: {
            type: 'json' as const,
            schema: request.responseFormat.schema as JSONSchema7,
            ...(request.responseFormat.name ? { name: request.responseFormat.name } : {}),
          },
        }
      : {}),
    ...(request.signal ? { abortSignal: request.signal } : {}),
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
    // Providers read only their own key of providerOptions, so this reaches the simulated model alone.
    ...(request.attempt !== undefined ? { providerOptions: { warden: { attempt: request.attempt } } } : {}),
  };
}

function toPromptMessage(message: ConversationMessage): LanguageModelV3Message {
  switch (message.role) {
    case 'user':
      return { role: 'user', content: [{ type: 'text', text: message.text }] };
    case 'assistant': {
      const calls = message.toolCalls.map((c) => ({ type: 'tool-call' as const, toolCallId: c.callId, toolName: c.tool, input: c.args }));
      return { role: 'assistant', content: message.text !== '' || calls.length === 0 ? [{ type: 'text', text: message.text }, ...calls] : calls };
    }
    case 'tool':
      return {
        role: 'tool',
        content: message.results.map((r) => ({ type: 'tool-result' as const, toolCallId: r.callId, toolName: r.tool, output: toolOutput(r) })),
      };
  }
}

/** Strings go as text (no extra quoting); errors as error-text; anything else as JSON. */
function toolOutput(result: ToolResultMessage): LanguageModelV3ToolResultOutput {
  if (result.isError) return { type: 'error-text', value: typeof result.output === 'string' ? result.output : stringify(result.output) };
  if (typeof result.output === 'string') return { type: 'text', value: result.output };
  return { type: 'json', value: JSON.parse(stringify(result.output)) as JSONValue };
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return JSON.stringify(String(value));
  }
}

export function toModelTurn(result: GenerateResult): ModelTurn {
  let text = '';
  const toolCalls: ProposedCall[] = [];
  for (const part of result.content) {
    if (part.type === 'text') text += part.text;
    // A provider-executed tool (web search and the like) has already run at the provider.
    else if (part.type === 'tool-call' && !part.providerExecuted) toolCalls.push(proposedCall(part.toolCallId, part.toolName, part.input));
  }
  const usage = readUsage(result);
  const metadata = result.providerMetadata as SharedV3ProviderMetadata | undefined;
  const warden = metadata?.warden;
  const confidence = warden?.confidence;
  const rationale = warden?.rationale;
  const avgLogprob = meanLogprob(metadata);
  const response = responseIdentity(result);
  return {
    text,
    toolCalls,
    usage: {
      inputTokens: usage.inputTokens ?? 0,
      outputTokens: usage.outputTokens ?? 0,
      ...(usage.cachedInputTokens ? { cachedInputTokens: Math.min(usage.cachedInputTokens, usage.inputTokens ?? 0) } : {}),
      ...(usage.cacheWriteInputTokens
        ? {
            cacheWriteInputTokens: Math.min(
              usage.cacheWriteInputTokens,
              (usage.inputTokens ?? 0) - Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens ?? 0),
            ),
          }
        : {}),
    },
    finishReason: result.finishReason?.unified ?? 'unknown',
    ...(typeof confidence === 'number' && confidence >= 0 && confidence <= 1 ? { confidence } : {}),
    ...(typeof rationale === 'string' ? { rationale } : {}),
    ...(avgLogprob !== undefined ? { avgLogprob } : {}),
    ...(usage.inputTokens === undefined || usage.outputTokens === undefined ? { usageMissing: true } : {}),
    ...(response ? { response } : {}),
  };
}

/** Parses the arguments like the AI SDK does (an empty string means no arguments), never throwing. */
function proposedCall(callId: string, tool: string, input: unknown): ProposedCall {
  if (typeof input !== 'string') return { callId, tool, args: input };
  if (input.trim() === '') return { callId, tool, args: {} };
  try {
    return { callId, tool, args: JSON.parse(input) };
  } catch (e) {
    return { callId, tool, args: input, parseError: `The arguments are not valid JSON: ${(e as Error).message}` };
  }
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function sum(...values: unknown[]): number | undefined {
  const known = values.map(count);
  return known.some((v) => v === undefined) ? undefined : known.reduce<number>((a, b) => a + b!, 0);
}

interface ReadUsage {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/**
 * Token counts as reported (v3 shape, whatever the model's version: see spec-versions.ts), with
 * `inputTokens` counting all input (cache reads and writes included); undefined where the
 * provider gave none or nonsense.
 */
function readUsage(result: GenerateResult): ReadUsage {
  const usage = result.usage as unknown;
  if (typeof usage !== 'object' || usage === null) return {};
  const { inputTokens, outputTokens } = usage as { inputTokens?: unknown; outputTokens?: unknown };
  const input = typeof inputTokens === 'object' && inputTokens !== null ? (inputTokens as Record<string, unknown>) : {};
  const output = typeof outputTokens === 'object' && outputTokens !== null ? (outputTokens as Record<string, unknown>) : {};
  return {
    inputTokens: count(input.total) ?? sum(input.noCache, input.cacheRead, input.cacheWrite ?? 0),
    outputTokens: count(output.total) ?? sum(output.text, output.reasoning),
    cachedInputTokens: count(input.cacheRead),
    cacheWriteInputTokens: count(input.cacheWrite),
  };
}

/**
 * The mean of every token log-probability the provider returned under a `logprobs` key of its
 * metadata (OpenAI: `providerMetadata.openai.logprobs`, a list of `{ token, logprob }`, possibly
 * nested one list per output). Undefined when there are none.
 */
function meanLogprob(metadata: SharedV3ProviderMetadata | undefined): number | undefined {
  let total = 0;
  let n = 0;
  const visit = (value: unknown, depth: number): void => {
    if (depth > 4) return;
    if (typeof value === 'number' && Number.isFinite(value)) {
      total += value;
      n++;
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
    } else if (typeof value === 'object' && value !== null && 'logprob' in value) {
      visit((value as { logprob: unknown }).logprob, depth + 1);
    }
  };
  for (const entry of Object.values(metadata ?? {})) visit(entry?.logprobs, 0);
  return n === 0 ? undefined : total / n;
}
