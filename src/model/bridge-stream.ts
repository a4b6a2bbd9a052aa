import type { LanguageModelV3, LanguageModelV3Content, LanguageModelV3GenerateResult, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { callModel, callOptions, failureOf, toModelTurn } from './bridge.ts';
import { classifyModelError, ModelCallError } from './model-failure.ts';
import type { ModelRequest, ModelTurn, WardenModel } from '../core/ports/model.ts';
import { raceAbort } from './race-abort.ts';
import { streamV3 } from './spec-versions.ts';

/**
 * The streaming half of the bridge: one call through the model's `doStream`, its text handed out
 * as it arrives, ending in the same `ModelTurn` `callModel` gives for the same response (text,
 * tool calls, usage, finish reason), so the event log and replay do not depend on streaming.
 *
 * Written against the AI SDK provider specification v3 stream parts; models of other versions
 * reach it through the normalisation layer that turns their parts into v3 ones.
 */

export interface StreamModelOptions {
  /**
   * Asked once the streamed output passes the bytes covered so far (at first `maxOutputTokens`):
   * resolves to a higher cap in bytes when more is reserved, or null to cut the stream there.
   * Reading waits for the answer.
   */
  extendOutput?: (outputBytes: number) => Promise<number | null>;
}

/** What a streamed call gives back: the turn, and whether the stream was cut for running past its output. */
export interface StreamedTurn {
  turn: ModelTurn;
  /**
   * Set when the provider streamed more output than `maxOutputTokens` could hold, counted as
   * UTF-8 bytes (a byte-level tokenizer never makes more tokens than bytes): the stream was
   * cancelled there. `turn` then holds what arrived, with `usageMissing` and finish reason `length`.
   */
  cut?: { outputBytes: number };
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Calls `model.doStream` once with `request`, passes every text delta to `onText` as it arrives,
 * and returns the turn once the stream finishes.
 *
 * The output is counted as it streams (text, reasoning and tool-input deltas, in UTF-8 bytes, an
 * upper bound on tokens); once it passes `request.maxOutputTokens`, `options.extendOutput` may
 * raise the cap (the runtime reserves more), otherwise the stream is cancelled and the result says
 * so (`cut`): a provider that ignores `maxOutputTokens` cannot stream past what is reserved. `onText` is called synchronously and what it throws is ignored. A failed
 * stream throws `ModelCallError`, like `callModel`.
 *
 * @example
 * const { turn } = await streamModel(openai('gpt-4o-mini'), {
 *   system: 'Be brief.', messages: [{ role: 'user', text: 'hi' }], tools: [], maxOutputTokens: 256,
 * }, (delta) => process.stdout.write(delta));
 * turn.text; // the whole answer, as `callModel` would have returned it
 */
export async function streamModel(
  model: WardenModel,
  request: ModelRequest,
  onText: (delta: string) => void,
  options: StreamModelOptions = {},
): Promise<StreamedTurn> {
  if (typeof (model as Partial<LanguageModelV3>).doStream !== 'function') {
    // A hand-written model with no doStream: one plain call, its text handed out whole.
    const turn = await callModel(model, request);
    if (turn.text !== '') safely(onText, turn.text);
    return { turn };
  }
  const outer = request.signal;
  const stop = new AbortController();
  const signal = outer ? AbortSignal.any([outer, stop.signal]) : stop.signal;
  const parts = new StreamAssembly(request.maxOutputTokens, onText);
  let reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart> | undefined;
  try {
    // Through the version boundary: a v4 or v2 model's stream parts arrive as v3 ones.
    const started = await raceAbort(streamV3(model, callOptions({ ...request, signal })), outer);
    if (!started || typeof started.stream?.getReader !== 'function') {
      throw new ModelCallError({ kind: 'malformed', retryable: true, message: 'The provider returned no stream.' });
    }
    reader = started.stream.getReader();
    for (;;) {
      // Raced against the signal: a stream that stops sending still ends at the deadline or cancel.
      const { done, value } = await raceAbort(reader.read(), outer);
      if (done) break;
      parts.add(value);
      if (parts.overCap && parts.error === undefined) {
        const cap = options.extendOutput ? await options.extendOutput(parts.outputBytes) : null;
        if (cap !== null && parts.outputBytes <= cap) parts.raiseCap(cap);
        else parts.cut = true;
      }
      if (parts.cut || parts.error !== undefined) break;
    }
  } catch (e) {
    if (e instanceof ModelCallError) throw e;
    throw new ModelCallError(failureOf(e, outer), { cause: e });
  } finally {
    if (parts.cut) stop.abort(new DOMException('The stream ran past maxOutputTokens', 'AbortError'));
    // Never awaited: a source whose cancel hangs must not hold the run.
    reader?.cancel().catch(() => {});
  }
  if (parts.error !== undefined) throw new ModelCallError(classifyModelError(parts.error), { cause: parts.error });
  if (!parts.cut && !parts.finished) {
    throw new ModelCallError({ kind: 'malformed', retryable: true, message: 'The stream ended without a finish part.' });
  }
  const turn = toModelTurn(parts.result());
  return parts.cut ? { turn: { ...turn, finishReason: 'length', usageMissing: true }, cut: { outputBytes: parts.outputBytes } } : { turn };
}

/** A listener's failure is the listener's: the call goes on. */
function safely(onText: (delta: string) => void, delta: string): void {
  try {
    onText(delta);
  } catch {
    // ignored on purpose
  }
}

/** Folds v3 stream parts into the generate result `doGenerate` would have returned. */
class StreamAssembly {
  outputBytes = 0;
  /** The output passed the cap: extend it or cut. */
  overCap = false;
  cut = false;
  finished = false;
  error: unknown = undefined;
  private text = '';
  private readonly calls: LanguageModelV3Content[] = [];
  private readonly streamedInputs = new Set<string>();
  private finish?: Extract<LanguageModelV3StreamPart, { type: 'finish' }>;
  /** The provider's response id and model, as its `response-metadata` part gives them (for traces). */
  private response?: { id?: string; modelId?: string };

  private cap: number;
  private readonly onText: (delta: string) => void;

  constructor(maxOutputTokens: number, onText: (delta: string) => void) {
    this.cap = maxOutputTokens;
    this.onText = onText;
  }

  raiseCap(bytes: number): void {
    this.cap = bytes;
    this.overCap = this.outputBytes > this.cap;
  }

  add(part: LanguageModelV3StreamPart): void {
    switch (part.type) {
      case 'text-delta':
        this.text += part.delta;
        this.count(part.delta);
        safely(this.onText, part.delta);
        break;
      case 'reasoning-delta':
        this.count(part.delta);
        break;
      case 'tool-input-delta':
        this.streamedInputs.add(part.id);
        this.count(part.delta);
        break;
      case 'tool-call':
        if (!this.streamedInputs.has(part.toolCallId)) this.count(part.input);
        this.calls.push(part);
        break;
      case 'response-metadata':
        this.response = { ...this.response, ...(part.id ? { id: part.id } : {}), ...(part.modelId ? { modelId: part.modelId } : {}) };
        break;
      case 'finish':
        this.finish = part;
        this.finished = true;
        break;
      case 'error':
        this.error = part.error ?? new Error('The provider sent an error part with no error');
        break;
      default:
        break;
    }
  }

  private count(delta: unknown): void {
    if (typeof delta !== 'string') return;
    this.outputBytes += bytes(delta);
    if (this.outputBytes > this.cap) this.overCap = true;
  }

  result(): LanguageModelV3GenerateResult {
    const content: LanguageModelV3Content[] = [];
    if (this.text !== '') content.push({ type: 'text', text: this.text });
    content.push(...this.calls);
    return {
      content,
      finishReason: this.finish?.finishReason ?? { unified: 'other', raw: undefined },
      usage: this.finish?.usage ?? (undefined as unknown as LanguageModelV3GenerateResult['usage']),
      ...(this.finish?.providerMetadata ? { providerMetadata: this.finish.providerMetadata } : {}),
      ...(this.response ? { response: this.response } : {}),
      warnings: [],
    };
  }
}
