import { createHash } from 'node:crypto';
import { APICallError } from '@ai-sdk/provider';
import type { LanguageModelV3CallOptions, LanguageModelV3Content, LanguageModelV3GenerateResult, SharedV3ProviderMetadata } from '@ai-sdk/provider';
import { WardenError } from '../core/errors.ts';
import { PRICING_KEY } from './pricing.ts';
import { createAttemptTracker, hashPrompt } from './simulated-attempts.ts';
import { toStreamResult } from './simulated-stream.ts';
import { respondModel, type SimulatedResponder } from './simulated-respond.ts';
import { outputUtf8Bytes, promptUtf8Bytes, simulatedUsage } from './simulated-usage.ts';
import type { SimulatedError, SimulatedLatency, SimulatedModel, SimulatedOptions, SimulatedTurn } from './simulated-types.ts';

interface CompiledTurn {
  text: string;
  calls: { toolName: string; input: string }[];
  usage?: { inputTokens?: number; outputTokens?: number };
  metadata?: SharedV3ProviderMetadata;
  delay?: SimulatedLatency;
  error?: Required<Pick<SimulatedError, 'status' | 'times'>> & SimulatedError;
}

const SIMULATED_URL = 'simulated://warden/script';

const STATUS_MESSAGES: Record<number, string> = {
  400: 'bad request',
  401: 'invalid API key',
  408: 'request timeout',
  409: 'conflict',
  429: 'rate limit exceeded',
  500: 'internal server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
  529: 'overloaded',
};

/**
 * The simulated model: a scripted, deterministic AI SDK language model for rehearsal and tests.
 * It needs no API key and reproduces the failure modes agents meet in production on demand.
 *
 * The turn it answers with is the number of assistant messages already in the prompt, so one
 * model object serves any number of concurrent runs and a resumed run gets the same turn again.
 * Past the end of the script it repeats the last turn, which models a loop.
 *
 * @example
 * const model = simulated.script([
 *   { toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }], confidence: 0.9 },
 *   { toolCalls: [{ tool: 'refund', args: { orderId: '1042', amount: 250 } }], error: { status: 429, retryAfterMs: 500, times: 2 } },
 *   { text: 'Refunded $250.', usage: { inputTokens: 900, outputTokens: 12 } },
 * ], { inputPerMTok: 0.15, outputPerMTok: 0.6 });
 */
export const simulated = {
  /** A model that answers from what happened so far (see `respondModel`). */
  respond(responder: SimulatedResponder, options: SimulatedOptions = {}): SimulatedModel {
    return respondModel(responder, options, simulated.script);
  },

  script(turns: readonly SimulatedTurn[], options: SimulatedOptions = {}): SimulatedModel {
    const compiled = compileScript(turns);
    const pricing = Object.freeze({ inputPerMTok: options.inputPerMTok ?? 0.15, outputPerMTok: options.outputPerMTok ?? 0.6 });
    for (const [name, value] of Object.entries(pricing)) {
      if (!(Number.isFinite(value) && value >= 0)) invalid(`${name} must be a non-negative number, got ${value}`);
    }
    const seed = options.seed ?? 0;
    const modelId = options.modelId ?? 'script';
    const attempts = createAttemptTracker();

    async function generate(call: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
      call.abortSignal?.throwIfAborted();
      const index = call.prompt.filter((m) => m.role === 'assistant').length;
      const turn = compiled[Math.min(index, compiled.length - 1)];
      if (turn === undefined) throw new WardenError('INTERNAL', 'simulated.script: no turn to answer with (compileScript rejects an empty script)');
      let key: string | undefined;
      const promptKey = () => (key ??= hashPrompt(call));

      if (turn.delay !== undefined) await sleep(latencyMs(turn.delay, seed, promptKey), call.abortSignal);
      if (turn.error) {
        const attempt = attempts.attempt(call, promptKey);
        if (attempt <= turn.error.times) {
          attempts.failed(call, promptKey, attempt);
          throw providerError(turn.error, index, attempt);
        }
        attempts.passed(call, promptKey);
      }

      const content: LanguageModelV3Content[] = [];
      if (turn.text) content.push({ type: 'text', text: turn.text });
      for (const [i, c] of turn.calls.entries()) content.push({ type: 'tool-call', toolCallId: `call_${index}_${i}`, toolName: c.toolName, input: c.input });
      const usage = simulatedUsage(turn.usage, promptUtf8Bytes(call), outputUtf8Bytes(turn.text, turn.calls), call.maxOutputTokens);
      const finish = usage.clamped ? 'length' : turn.calls.length > 0 ? 'tool-calls' : 'stop';
      return {
        content,
        finishReason: { unified: finish, raw: finish },
        usage: {
          inputTokens: { total: usage.inputTokens, noCache: usage.inputTokens, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: usage.outputTokens, text: usage.outputTokens, reasoning: 0 },
        },
        ...(turn.metadata ? { providerMetadata: { warden: { ...turn.metadata.warden } } } : {}),
        response: { id: `sim_${index}`, modelId },
        warnings: [],
      };
    }

    return {
      specificationVersion: 'v3',
      provider: 'warden.simulated',
      modelId,
      supportedUrls: {},
      doGenerate: generate,
      doStream: async (call) => toStreamResult(await generate(call)),
      [PRICING_KEY]: pricing,
    };
  },
};

function invalid(message: string): never {
  throw new WardenError('INVALID_CONFIG', `simulated.script: ${message}`);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Checks the script once, up front, and freezes each turn's serialised tool inputs. */
function compileScript(turns: readonly SimulatedTurn[]): CompiledTurn[] {
  if (!Array.isArray(turns) || turns.length === 0) invalid('the script needs at least one turn');
  return turns.map((turn, i) => {
    const where = `turn ${i}`;
    const text = turn.text ?? '';
    const toolCalls = turn.toolCalls ?? [];
    if (typeof text !== 'string') invalid(`${where}: text must be a string`);
    if (!Array.isArray(toolCalls)) invalid(`${where}: toolCalls must be an array`);
    if (text === '' && toolCalls.length === 0) invalid(`${where}: a turn needs text or at least one tool call`);
    const calls = toolCalls.map((c, j) => {
      if (typeof c?.tool !== 'string' || c.tool === '') invalid(`${where}, call ${j}: tool must be a non-empty string`);
      const input = JSON.stringify(c.args);
      if (input === undefined) invalid(`${where}, call ${j}: args must be JSON-serialisable, got ${String(c.args)}`);
      // Cut the last character and leave a dangling comma: never valid JSON, whatever the args.
      return { toolName: c.tool, input: turn.malformed ? `${input.slice(0, -1)},` : input };
    });
    const { usage, confidence, rationale, delayMs, error } = turn;
    if (usage && !((usage.inputTokens === undefined || isCount(usage.inputTokens)) && (usage.outputTokens === undefined || isCount(usage.outputTokens)))) {
      invalid(`${where}: usage token counts must be non-negative integers, got ${JSON.stringify(usage)}`);
    }
    if (confidence !== undefined && !(confidence >= 0 && confidence <= 1)) invalid(`${where}: confidence must be between 0 and 1, got ${confidence}`);
    if (rationale !== undefined && typeof rationale !== 'string') invalid(`${where}: rationale must be a string`);
    if (delayMs !== undefined) {
      const ok = typeof delayMs === 'number' ? delayMs >= 0 : delayMs.min >= 0 && delayMs.max >= delayMs.min;
      if (!ok) invalid(`${where}: delayMs must be a non-negative number or { min, max } with 0 <= min <= max, got ${JSON.stringify(delayMs)}`);
    }
    const times = error?.times ?? 1;
    if (error) {
      if (!(Number.isInteger(error.status) && error.status >= 400 && error.status <= 599))
        invalid(`${where}: error.status must be an HTTP error status (400-599), got ${error.status}`);
      if (!(Number.isInteger(times) && times >= 1)) invalid(`${where}: error.times must be a positive integer, got ${times}`);
      if (error.retryAfterMs !== undefined && !(error.retryAfterMs >= 0))
        invalid(`${where}: error.retryAfterMs must be non-negative, got ${error.retryAfterMs}`);
    }
    const warden = { ...(confidence !== undefined ? { confidence } : {}), ...(rationale !== undefined ? { rationale } : {}) };
    return {
      text,
      calls,
      ...(usage ? { usage: { ...usage } } : {}),
      ...(Object.keys(warden).length > 0 ? { metadata: { warden } } : {}),
      ...(delayMs !== undefined ? { delay: typeof delayMs === 'number' ? delayMs : { ...delayMs } } : {}),
      ...(error ? { error: { ...error, times } } : {}),
    };
  });
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The error a provider's HTTP call throws for this status, with the headers it would send. */
export function providerError(spec: NonNullable<CompiledTurn['error']>, turn: number, attempt: number): APICallError {
  const headers: Record<string, string> = {};
  if (spec.retryAfterMs !== undefined) {
    headers['retry-after-ms'] = String(spec.retryAfterMs);
    headers['retry-after'] = String(Math.ceil(spec.retryAfterMs / 1000));
  }
  const reason = spec.message ?? STATUS_MESSAGES[spec.status] ?? 'error';
  return new APICallError({
    message: `Simulated ${spec.status}: ${reason} (turn ${turn}, attempt ${attempt} of ${spec.times} that fail)`,
    url: SIMULATED_URL,
    requestBodyValues: { turn, attempt },
    statusCode: spec.status,
    responseHeaders: headers,
    responseBody: JSON.stringify({ error: { message: reason } }),
    isRetryable: isRetryableStatus(spec.status),
  });
}

/** A fixed delay, or a log-uniform draw from the range fixed by the seed and the prompt. */
export function latencyMs(delay: SimulatedLatency, seed: number, promptKey: () => string): number {
  if (typeof delay === 'number') return delay;
  const digest = createHash('sha256').update(`${seed}:${promptKey()}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  return Math.round((delay.min + 1) * ((delay.max + 1) / (delay.min + 1)) ** u - 1);
}

/** Waits like a network call: an abort rejects with the signal's reason, as `fetch` does. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
