import { APICallError, JSONParseError, type LanguageModelV3, type LanguageModelV3CallOptions, type LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { promptUtf8Bytes } from '../../src/model/simulated-usage.ts';

/**
 * A scripted provider that lies about what a call cost, for the ceiling's promise tests. Each
 * call plays the next response of the script (the last one repeats). Honest input is a quarter
 * of the prompt's bytes, like the simulated model; the lies are added on top.
 */
export type LyingResponse =
  | {
      kind: 'answer';
      /** Tool calls to propose (by tool name; `delegate_*` get a task), or none for a final answer. */
      calls: string[];
      /** Input tokens the provider adds on its own and bills. */
      extraInput: number;
      /** honest: within maxOutputTokens; full: exactly maxOutputTokens (honest, the most allowed); over: maxOutputTokens + overBy; missing: no usage at all. */
      output: 'honest' | 'full' | 'over' | 'missing';
      overBy: number;
      /** Of the input, tokens the provider says it wrote to its cache. */
      cacheWrite?: number;
    }
  | { kind: 'error'; error: LyingError };

export type LyingError = '429' | '401' | '500' | '503' | 'timeout' | 'reset' | 'refused' | 'malformed';

export const LYING_ERRORS: readonly LyingError[] = ['429', '401', '500', '503', 'timeout', 'reset', 'refused', 'malformed'];

function apiError(status: number): APICallError {
  return new APICallError({
    message: `HTTP ${status}`,
    url: 'https://lying.test/v1',
    requestBodyValues: {},
    statusCode: status,
    isRetryable: status >= 500 || status === 429,
  });
}

export function thrown(error: LyingError): unknown {
  switch (error) {
    case '429':
      return apiError(429);
    case '401':
      return apiError(401);
    case '500':
      return apiError(500);
    case '503':
      return apiError(503);
    case 'timeout':
      return Object.assign(new Error('The operation timed out after the request was sent'), { name: 'TimeoutError' });
    case 'reset':
      return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    case 'refused':
      return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' });
    case 'malformed':
      return new JSONParseError({ text: '{"choices": [', cause: new SyntaxError('Unexpected end of JSON input') });
  }
}

/** A v3 model playing `script`; `provider` picks the default provider margin (e.g. `anthropic.messages`). */
export function lyingModel(script: readonly LyingResponse[], provider = 'lying'): LanguageModelV3 & { calls: number } {
  let call = 0;
  let nextId = 0;
  const model = {
    specificationVersion: 'v3' as const,
    provider,
    modelId: 'liar-1',
    supportedUrls: {},
    calls: 0,
    async doGenerate(options: LanguageModelV3CallOptions) {
      const r = script[Math.min(call++, script.length - 1)]!;
      model.calls = call;
      if (r.kind === 'error') throw thrown(r.error);
      const max = options.maxOutputTokens ?? 4096;
      const input = Math.max(1, Math.ceil(promptUtf8Bytes(options) / 4)) + r.extraInput;
      const output = r.output === 'over' ? max + r.overBy : r.output === 'full' ? max : Math.min(max, 40);
      const content = r.calls.length
        ? r.calls.map((tool) => ({
            type: 'tool-call' as const,
            toolCallId: `c${nextId + 1}`,
            toolName: tool,
            input: JSON.stringify(tool.startsWith('delegate_') ? { task: `task ${++nextId}` } : { n: ++nextId }),
          }))
        : [{ type: 'text' as const, text: 'done' }];
      const cacheWrite = Math.min(r.cacheWrite ?? 0, input);
      return {
        content,
        finishReason: { unified: r.calls.length ? ('tool-calls' as const) : ('stop' as const), raw: undefined },
        usage:
          r.output === 'missing'
            ? {
                inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
                outputTokens: { total: undefined, text: undefined, reasoning: undefined },
              }
            : {
                inputTokens: { total: input, noCache: input - cacheWrite, cacheRead: 0, cacheWrite },
                outputTokens: { total: output, text: output, reasoning: 0 },
              },
        warnings: [],
      };
    },
    async doStream(): Promise<never> {
      throw new Error('the lying model does not stream');
    },
  };
  return model;
}

/**
 * A v3 model that streams past `maxOutputTokens`: `chunk` again and again, forever (`forever`) or
 * as one delta of `bytes` bytes, never a finish part while it is read. `cancelled` says whether
 * Warden cancelled the stream.
 */
export function streamingLiar(mode: { forever: string } | { once: number }): LanguageModelV3 & { cancelled: boolean; sent: number } {
  const model = {
    specificationVersion: 'v3' as const,
    provider: 'lying',
    modelId: 'stream-liar-1',
    supportedUrls: {},
    cancelled: false,
    sent: 0,
    async doGenerate(): Promise<never> {
      throw new Error('the streaming liar only streams');
    },
    async doStream() {
      let started = false;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        pull(controller) {
          if (!started) {
            started = true;
            controller.enqueue({ type: 'stream-start', warnings: [] });
            controller.enqueue({ type: 'text-start', id: 't' });
          }
          const delta = 'forever' in mode ? mode.forever : 'y'.repeat(mode.once);
          model.sent += delta.length;
          controller.enqueue({ type: 'text-delta', id: 't', delta });
          if ('once' in mode) {
            controller.enqueue({ type: 'text-end', id: 't' });
            controller.enqueue({
              type: 'finish',
              usage: { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } },
              finishReason: { unified: 'stop', raw: 'stop' },
            });
            controller.close();
          }
        },
        cancel() {
          model.cancelled = true;
        },
      });
      return { stream };
    },
  };
  return model;
}

/** A stream for property tests: `chunk`-byte deltas up to `total` bytes (or forever), then a finish reporting `usage`. */
export interface StreamSpec {
  chunk: number;
  total: number | 'forever';
  /** honest: a quarter of the bytes, within maxOutputTokens; over: maxOutputTokens + overBy; missing: none. */
  usage: 'honest' | 'over' | 'missing';
  overBy: number;
}

export function specStreamer(spec: StreamSpec): LanguageModelV3 & { cancelled: boolean } {
  const model = {
    specificationVersion: 'v3' as const,
    provider: 'lying',
    modelId: 'spec-streamer-1',
    supportedUrls: {},
    cancelled: false,
    async doGenerate(): Promise<never> {
      throw new Error('the spec streamer only streams');
    },
    async doStream(options: LanguageModelV3CallOptions) {
      let sent = 0;
      const max = options.maxOutputTokens ?? 4096;
      const input = Math.max(1, Math.ceil(promptUtf8Bytes(options) / 4));
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        pull(controller) {
          if (spec.total === 'forever' || sent < spec.total) {
            const n = spec.total === 'forever' ? spec.chunk : Math.min(spec.chunk, spec.total - sent);
            sent += n;
            controller.enqueue({ type: 'text-delta', id: 't', delta: 'z'.repeat(n) });
            return;
          }
          const output = spec.usage === 'over' ? max + spec.overBy : Math.min(max, Math.ceil(sent / 4));
          controller.enqueue({
            type: 'finish',
            usage:
              spec.usage === 'missing'
                ? {
                    inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
                    outputTokens: { total: undefined, text: undefined, reasoning: undefined },
                  }
                : { inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: output, text: output, reasoning: 0 } },
            finishReason: { unified: 'stop', raw: 'stop' },
          });
          controller.close();
        },
        cancel() {
          model.cancelled = true;
        },
      });
      return { stream };
    },
  };
  return model;
}
