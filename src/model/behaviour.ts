import type { LanguageModelV3CallOptions, LanguageModelV3Content, LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import { WardenError } from '../core/errors.ts';
import { type BehaviourRates, type BehaviourTool, decideTurn, type DecidedTurn } from './behaviour-turn.ts';
import { PRICING_KEY } from './pricing.ts';
import type { ModelPricing } from './model-pricing.ts';
import { seededRandom, seedFrom } from './seeded-random.ts';
import { statedAttempt } from './simulated-attempts.ts';
import { toStreamResult } from './simulated-stream.ts';
import { outputUtf8Bytes, promptUtf8Bytes } from './simulated-usage.ts';
import { providerError, sleep } from './simulated.ts';
import type { SimulatedLatency, SimulatedModel } from './simulated-types.ts';

export type { BehaviourRates, TurnFault } from './behaviour-turn.ts';

/** Rates a production agent meets on an ordinary day (the rehearsal's `realistic` profile). */
export const DEFAULT_BEHAVIOUR_RATES: Readonly<BehaviourRates> = Object.freeze({
  rateLimited: 0.02,
  serverError: 0.01,
  slowResponse: 0.02,
  hallucinatedTool: 0.01,
  invalidArgs: 0.02,
  unsafeDestructive: 0.005,
  lowConfidence: 0.03,
  planError: 0.01,
  loop: 0.01,
  retryChain: 0.003,
  tokenTail: 1.6,
});

export interface BehaviourLatency {
  /** An ordinary answer, drawn log-uniformly, ms. Default 400–2500. */
  typical: { min: number; max: number };
  /** A slow answer, ms. Default 8000–30000. */
  slow: { min: number; max: number };
}

export interface BehaviourOptions {
  /** The agent's tools: the model proposes calls to them, with arguments from their schemas. */
  tools: readonly BehaviourTool[];
  /** Failure-mode rates (defaults: `DEFAULT_BEHAVIOUR_RATES`). */
  rates?: Partial<BehaviourRates>;
  /** Fixes every draw; the same seed and request always behave the same. Default 0. */
  seed?: number;
  /** The price the run is charged at (default 0.15 / 0.6 USD per million tokens). */
  pricing?: ModelPricing;
  latency?: Partial<BehaviourLatency>;
  /**
   * How simulated latency is spent. Default: really wait. A rehearsal passes a virtual clock here
   * so ten thousand requests' worth of model latency costs no real time.
   */
  wait?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Reported as the model id (default `behaviour`). */
  modelId?: string;
}

const DEFAULT_LATENCY: BehaviourLatency = { typical: { min: 400, max: 2500 }, slow: { min: 8_000, max: 30_000 } };
const SERVER_ERRORS = [500, 502, 503, 529];
/** Output tokens a turn spends thinking before it answers, at the least (the Pareto scale). */
const MIN_THINKING_TOKENS = 40;

function logUniform(random: () => number, range: SimulatedLatency): number {
  if (typeof range === 'number') return range;
  return Math.round((range.min + 1) * ((range.max + 1) / (range.min + 1)) ** random() - 1);
}

function checkRates(rates: BehaviourRates): void {
  for (const [name, value] of Object.entries(rates)) {
    if (name === 'tokenTail') {
      if (!(typeof value === 'number' && value > 1))
        throw new WardenError('INVALID_CONFIG', `behaviourModel: tokenTail must be a number above 1, got ${JSON.stringify(value)}`);
    } else if (!(typeof value === 'number' && value >= 0 && value <= 1)) {
      throw new WardenError('INVALID_CONFIG', `behaviourModel: rate ${name} must be a probability in [0, 1], got ${JSON.stringify(value)}`);
    }
  }
}

/**
 * The behaviour model: a seeded AI SDK language model built from an agent's own tools. It plays a
 * plausible agent — looks things up before acting, with arguments drawn from each tool's schema —
 * and injects the failure modes production brings at the given rates: loops, hallucinated tools,
 * invalid arguments, unsafe destructive calls, low confidence, skipped prerequisites, slow answers,
 * 429 and 5xx errors, retry chains and heavy-tailed token usage. `warden rehearse` runs agents on it.
 *
 * It keeps no state: each answer follows from the seed, the request and the conversation so far
 * (and the attempt Warden states in the call), so it serves any number of concurrent runs.
 *
 * @example
 * const model = behaviourModel({ tools: agent.tools, seed: 7, rates: { loop: 0.05 } });
 * const rehearsalAgent = defineAgent({ ...config, model });
 */
export function behaviourModel(options: BehaviourOptions): SimulatedModel {
  const rates: BehaviourRates = { ...DEFAULT_BEHAVIOUR_RATES, ...options.rates };
  checkRates(rates);
  const seed = options.seed ?? 0;
  const latency = { ...DEFAULT_LATENCY, ...options.latency };
  const wait = options.wait ?? sleep;
  const pricing = Object.freeze({ ...(options.pricing ?? { inputPerMTok: 0.15, outputPerMTok: 0.6 }) });
  const modelId = options.modelId ?? 'behaviour';
  const ctx = { seed, tools: options.tools, rates };

  /** Decides everything about the call up front (synchronously), then spends the latency. */
  function decide(call: LanguageModelV3CallOptions) {
    const turn = decideTurn(
      ctx,
      call.prompt,
      (call.tools ?? []).map((t) => t.name),
    );
    const attempt = statedAttempt(call) ?? 1;
    const random = seededRandom(seedFrom(seed, turn.requestKey, turn.turn, 'call', attempt));
    // The edge case hits one request at one early turn, and keeps failing there for a while.
    const chain = seededRandom(seedFrom(seed, turn.requestKey, 'chain'));
    const chainHere = chain() < rates.retryChain && turn.turn === Math.floor(chain() * 2);
    const delayMs = logUniform(random, random() < rates.slowResponse ? latency.slow : latency.typical);
    let error: ReturnType<typeof providerError> | undefined;
    const draw = random();
    const chainLength = chainHere ? 3 + Math.floor(chain() * 5) : 0;
    if (attempt <= chainLength) {
      error = providerError({ status: 503, times: chainLength, message: 'upstream overloaded (edge case)' }, turn.turn, attempt);
    } else if (draw < rates.rateLimited) {
      error = providerError({ status: 429, times: 1, retryAfterMs: 1000 + Math.floor(random() * 4000) }, turn.turn, attempt);
    } else if (draw < rates.rateLimited + rates.serverError) {
      error = providerError({ status: SERVER_ERRORS[Math.floor(random() * SERVER_ERRORS.length)]!, times: 1 }, turn.turn, attempt);
    }
    return { turn, delayMs, error, thinking: Math.ceil(MIN_THINKING_TOKENS / (1 - random()) ** (1 / rates.tokenTail)) };
  }

  function result(call: LanguageModelV3CallOptions, turn: DecidedTurn, thinking: number): LanguageModelV3GenerateResult {
    const index = turn.turn;
    const content: LanguageModelV3Content[] = [];
    if (turn.text) content.push({ type: 'text', text: turn.text });
    for (const [i, c] of turn.calls.entries()) content.push({ type: 'tool-call', toolCallId: `call_${index}_${i}`, toolName: c.tool, input: c.input });
    const promptBytes = promptUtf8Bytes(call);
    const inputTokens = Math.min(promptBytes, Math.max(1, Math.ceil(promptBytes / 4)));
    const wanted =
      Math.max(
        1,
        Math.ceil(
          outputUtf8Bytes(
            turn.text,
            turn.calls.map((c) => ({ toolName: c.tool, input: c.input })),
          ) / 4,
        ),
      ) + thinking;
    const outputTokens = Math.min(wanted, call.maxOutputTokens ?? wanted);
    const finish = outputTokens < wanted ? 'length' : turn.calls.length > 0 ? 'tool-calls' : 'stop';
    return {
      content,
      finishReason: { unified: finish, raw: finish },
      usage: {
        inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: outputTokens, text: outputTokens - Math.min(thinking, outputTokens), reasoning: Math.min(thinking, outputTokens) },
      },
      providerMetadata: { warden: { confidence: turn.confidence, rationale: turn.rationale, faults: turn.faults } },
      response: { id: `beh_${index}`, modelId },
      warnings: [],
    };
  }

  async function generate(call: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    call.abortSignal?.throwIfAborted();
    // All the work happens before the latency is spent, so a caller can time it on its own.
    const decided = decide(call);
    const answer = decided.error ? undefined : result(call, decided.turn, decided.thinking);
    await wait(decided.delayMs, call.abortSignal);
    if (decided.error) throw decided.error;
    return answer!;
  }

  return {
    specificationVersion: 'v3',
    provider: 'warden.behaviour',
    modelId,
    supportedUrls: {},
    doGenerate: generate,
    doStream: async (call) => toStreamResult(await generate(call)),
    [PRICING_KEY]: pricing,
  };
}
