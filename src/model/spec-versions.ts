import type {
  JSONValue,
  LanguageModelV2,
  LanguageModelV2CallOptions,
  LanguageModelV2StreamPart,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  LanguageModelV3Usage,
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4StreamPart,
  SharedV3ProviderMetadata,
  SharedV3Warning,
} from '@ai-sdk/provider';
import { WardenError } from '../core/errors.ts';
import type { WardenModel } from '../core/ports/model.ts';

/**
 * The one place that knows the AI SDK's language-model specification versions. Warden accepts
 * v2 (ai@5 providers), v3 (ai@6) and v4 (ai@7) models, and converts what each returns — generate
 * results and stream parts — to the v3 shape the rest of Warden reads, so nothing past this file
 * branches on the version.
 *
 * The prompt parts Warden sends (system, text, tool calls, json / text / error-text tool results)
 * have the same shape in v2, v3 and v4, so one set of call options serves every version.
 */

/** The specification versions Warden accepts, oldest first. */
export const SUPPORTED_SPECIFICATION_VERSIONS = ['v2', 'v3', 'v4'] as const;

type V2GenerateResult = Awaited<ReturnType<LanguageModelV2['doGenerate']>>;
type V4GenerateResult = Awaited<ReturnType<LanguageModelV4['doGenerate']>>;
/** A generate result of any accepted version. */
export type AnyGenerateResult = LanguageModelV3GenerateResult | V2GenerateResult | V4GenerateResult;
/** A stream part of any accepted version. */
export type AnyStreamPart = LanguageModelV4StreamPart | LanguageModelV3StreamPart | LanguageModelV2StreamPart;

/**
 * Throws INVALID_CONFIG unless `model` speaks a specification version Warden accepts.
 *
 * @example
 * assertSupportedModel(openai('gpt-4.1-mini')); // v4: fine
 */
export function assertSupportedModel(model: unknown): asserts model is WardenModel {
  const version = (model as { specificationVersion?: unknown } | null)?.specificationVersion;
  if ((SUPPORTED_SPECIFICATION_VERSIONS as readonly unknown[]).includes(version)) return;
  const other = (model ?? {}) as { provider?: unknown; modelId?: unknown };
  throw new WardenError(
    'INVALID_CONFIG',
    `Model "${String(other.provider)}:${String(other.modelId)}" speaks AI SDK specification ${String(version)}; ` +
      `Warden accepts ${SUPPORTED_SPECIFICATION_VERSIONS.join(', ')} (providers for ai@5, ai@6 and ai@7). Upgrade the provider package.`,
  );
}

/**
 * Calls `model.doGenerate` whatever its version and returns the result in the v3 shape.
 *
 * @example
 * const result = await generateV3(openai('gpt-4.1-mini'), callOptions(request));
 * result.usage.inputTokens.cacheRead; // cached input, whatever the version
 */
export async function generateV3(model: WardenModel, options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
  assertSupportedModel(model);
  switch (model.specificationVersion) {
    case 'v4':
      return toV3GenerateResult(await model.doGenerate(options as LanguageModelV4CallOptions));
    case 'v3':
      return toV3GenerateResult(await model.doGenerate(options));
    case 'v2':
      return toV3GenerateResult(await model.doGenerate(options as LanguageModelV2CallOptions));
  }
}

/**
 * Calls `model.doStream` whatever its version and returns a stream of v3 stream parts.
 *
 * @example
 * const { stream } = await streamV3(anthropic('claude-sonnet-4-5'), callOptions(request));
 * for await (const part of stream) if (part.type === 'text-delta') process.stdout.write(part.delta);
 */
export async function streamV3(model: WardenModel, options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
  assertSupportedModel(model);
  const result =
    model.specificationVersion === 'v4'
      ? await model.doStream(options as LanguageModelV4CallOptions)
      : model.specificationVersion === 'v3'
        ? await model.doStream(options)
        : await model.doStream(options as LanguageModelV2CallOptions);
  return {
    stream: normalizeStream(result.stream as ReadableStream<AnyStreamPart>),
    ...(result.request ? { request: result.request } : {}),
    ...(result.response ? { response: result.response } : {}),
  };
}

/**
 * A stream of v3 parts from a stream of parts of any version (see `toV3StreamPart`).
 *
 * @example
 * const v3 = normalizeStream((await model.doStream(options)).stream);
 */
export function normalizeStream(stream: ReadableStream<AnyStreamPart>): ReadableStream<LanguageModelV3StreamPart> {
  // Pull-based, with no queue of its own: the provider's stream is read only when Warden reads, so
  // a stream cut at the ceiling is not read ahead of the cut (a pipe would prefetch a few parts),
  // and cancelling reaches the provider.
  const reader = stream.getReader();
  return new ReadableStream<LanguageModelV3StreamPart>(
    {
      async pull(controller) {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          const v3 = toV3StreamPart(value);
          if (v3 !== undefined) {
            controller.enqueue(v3);
            return;
          }
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * One stream part of any version as a v3 part, or undefined for a part v3 has no word for (v4's
 * `ping`, `custom` and `reasoning-file` parts, a file given only by URL). Recognised by shape, so a
 * model that declares one version and sends another's usage still reads right.
 *
 * - `finish`: usage and finish reason converted (v2's plain numbers; Anthropic's cache writes).
 * - `stream-start`: warnings converted to v3 warnings.
 * - `text-end` loses v4 citations, `tool-input-start` its input encoding: both are hints.
 *
 * @example
 * toV3StreamPart({ type: 'ping' }); // undefined
 * toV3StreamPart({ type: 'finish', usage: { inputTokens: 10, outputTokens: 2, totalTokens: 12 }, finishReason: 'stop' });
 * // { type: 'finish', usage: { inputTokens: { total: 10, noCache: 10, … }, … }, finishReason: { unified: 'stop', raw: 'stop' } }
 */
export function toV3StreamPart(part: AnyStreamPart): LanguageModelV3StreamPart | undefined {
  switch (part.type) {
    case 'ping':
    case 'custom':
    case 'reasoning-file':
      return undefined;
    case 'finish':
      return {
        type: 'finish',
        usage: toV3Usage(part.usage, part.providerMetadata),
        finishReason: toV3FinishReason(part.finishReason),
        ...(part.providerMetadata ? { providerMetadata: part.providerMetadata as SharedV3ProviderMetadata } : {}),
      };
    case 'stream-start':
      return { type: 'stream-start', warnings: (part.warnings as unknown[]).map(toV3Warning) };
    case 'text-end': {
      const { citations: _citations, ...rest } = part as Extract<LanguageModelV4StreamPart, { type: 'text-end' }>;
      return rest as LanguageModelV3StreamPart;
    }
    case 'tool-input-start': {
      const { inputEncoding: _encoding, ...rest } = part as Extract<LanguageModelV4StreamPart, { type: 'tool-input-start' }>;
      return rest as LanguageModelV3StreamPart;
    }
    case 'file':
      return toV3File(part) as LanguageModelV3StreamPart | undefined;
    case 'tool-result':
      return toV3ToolResult(part) as LanguageModelV3StreamPart;
    default:
      return part as LanguageModelV3StreamPart;
  }
}

/**
 * A generate result of any version in the v3 shape: usage and finish reason converted, content
 * parts v3 has no word for dropped. A result without a content array is returned as it came, for
 * the caller to reject as malformed.
 *
 * @example
 * toV3GenerateResult(await v2Model.doGenerate(options)).usage.inputTokens.total;
 */
export function toV3GenerateResult(result: AnyGenerateResult): LanguageModelV3GenerateResult {
  if (!result || !Array.isArray(result.content)) return result as LanguageModelV3GenerateResult;
  const content: LanguageModelV3Content[] = [];
  for (const part of result.content as Array<AnyGenerateResult['content'][number]>) {
    const v3 = toV3Content(part);
    if (v3 !== undefined) content.push(v3);
  }
  return {
    ...(result as LanguageModelV3GenerateResult),
    content,
    usage: toV3Usage(result.usage, result.providerMetadata),
    finishReason: toV3FinishReason(result.finishReason),
    warnings: Array.isArray(result.warnings) ? (result.warnings as unknown[]).map(toV3Warning) : [],
  };
}

function toV3Content(part: AnyGenerateResult['content'][number]): LanguageModelV3Content | undefined {
  switch (part.type) {
    case 'custom':
    case 'reasoning-file':
      return undefined;
    case 'text': {
      const { citations: _citations, ...rest } = part as { type: 'text'; text: string; citations?: unknown };
      return rest as LanguageModelV3Content;
    }
    case 'file':
      return toV3File(part);
    case 'tool-result':
      return toV3ToolResult(part);
    default:
      return part as LanguageModelV3Content;
  }
}

/** v4 tags file data (`{ type: 'data', data }` or a URL); v2 and v3 carry the bytes or base64. */
function toV3File(part: { type: 'file'; mediaType: string; data: unknown; providerMetadata?: unknown }): LanguageModelV3Content | undefined {
  const data = part.data as { type?: unknown; data?: unknown } | string | Uint8Array;
  if (typeof data === 'string' || data instanceof Uint8Array) return part as LanguageModelV3Content;
  if (data?.type === 'data' && (typeof data.data === 'string' || data.data instanceof Uint8Array)) {
    return {
      type: 'file',
      mediaType: part.mediaType,
      data: data.data,
      ...(part.providerMetadata ? { providerMetadata: part.providerMetadata as SharedV3ProviderMetadata } : {}),
    };
  }
  return undefined;
}

/** v2 allowed any `result` and a `providerExecuted` flag; v3 wants a non-null JSON value. */
function toV3ToolResult(part: { type: 'tool-result'; result: unknown; providerExecuted?: boolean }): LanguageModelV3Content {
  const { providerExecuted: _executed, ...rest } = part;
  return { ...rest, result: (part.result ?? {}) as NonNullable<JSONValue> } as LanguageModelV3Content;
}

/**
 * v2 and v4 finish reasons as v3's `{ unified, raw }`. v2's bare string becomes both; v4's
 * `interrupted` (the stream ended without a completion signal) is v3's `other`.
 *
 * @example
 * toV3FinishReason('tool-calls'); // { unified: 'tool-calls', raw: 'tool-calls' }
 */
export function toV3FinishReason(reason: unknown): LanguageModelV3FinishReason {
  if (typeof reason === 'string') return { unified: reason === 'unknown' ? 'other' : (reason as LanguageModelV3FinishReason['unified']), raw: reason };
  const given = (reason ?? {}) as { unified?: unknown; raw?: unknown };
  const unified = given.unified === 'interrupted' ? 'other' : given.unified;
  return {
    unified: (typeof unified === 'string' ? unified : 'other') as LanguageModelV3FinishReason['unified'],
    raw: typeof given.raw === 'string' ? given.raw : undefined,
  };
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Usage of any version in v3's shape, where `inputTokens.total` counts all input (cache reads
 * and writes included). v3 and v4 share the shape and pass through. v2 reports plain numbers;
 * there Anthropic's `inputTokens` leaves out both cache reads (`cachedInputTokens`) and cache
 * writes (`providerMetadata.anthropic.cacheCreationInputTokens`), so they are added back.
 * Values are not checked here: the reader of the usage decides what a nonsense count means.
 *
 * @example
 * toV3Usage({ inputTokens: 100, outputTokens: 20, totalTokens: 120, cachedInputTokens: 60 });
 * // { inputTokens: { total: 100, noCache: 40, cacheRead: 60, cacheWrite: undefined }, outputTokens: { total: 20, … } }
 */
export function toV3Usage(usage: unknown, providerMetadata?: unknown): LanguageModelV3Usage {
  const given = (typeof usage === 'object' && usage !== null ? usage : {}) as Record<string, unknown>;
  if (typeof given.inputTokens === 'object' && given.inputTokens !== null) return given as unknown as LanguageModelV3Usage;
  const output = given.outputTokens as number | undefined;
  const outputTokens = { total: output, text: undefined, reasoning: given.reasoningTokens as number | undefined };
  const anthropic = (providerMetadata as Record<string, Record<string, unknown> | undefined> | undefined)?.anthropic;
  if (anthropic) {
    const plain = count(given.inputTokens);
    const read = count(given.cachedInputTokens) ?? 0;
    const written = count(anthropic.cacheCreationInputTokens) ?? 0;
    return {
      inputTokens: { total: plain === undefined ? undefined : plain + read + written, noCache: plain, cacheRead: read, cacheWrite: written },
      outputTokens,
    };
  }
  const total = given.inputTokens as number | undefined;
  const read = given.cachedInputTokens as number | undefined;
  const noCache = count(total) !== undefined && count(read) !== undefined ? Math.max(0, total! - read!) : undefined;
  return { inputTokens: { total, noCache, cacheRead: read, cacheWrite: undefined }, outputTokens };
}

/** v2's `unsupported-setting` / `unsupported-tool` and v4's `deprecated` as v3 warnings. */
function toV3Warning(warning: unknown): SharedV3Warning {
  const w = (warning ?? {}) as { type?: string; setting?: unknown; tool?: unknown; details?: string; message?: unknown };
  switch (w.type) {
    case 'unsupported':
    case 'compatibility':
      return warning as SharedV3Warning;
    case 'unsupported-setting':
      return { type: 'unsupported', feature: String(w.setting), ...(w.details ? { details: w.details } : {}) };
    case 'unsupported-tool':
      return { type: 'unsupported', feature: `tool ${String((w.tool as { name?: unknown } | undefined)?.name)}`, ...(w.details ? { details: w.details } : {}) };
    case 'deprecated':
      return { type: 'other', message: `${String(w.setting)} is deprecated: ${String(w.message)}` };
    default:
      return { type: 'other', message: typeof w.message === 'string' ? w.message : JSON.stringify(warning) };
  }
}
