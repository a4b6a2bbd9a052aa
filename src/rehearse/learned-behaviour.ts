import type { LanguageModelV3CallOptions, LanguageModelV3Content, LanguageModelV3GenerateResult, LanguageModelV3Prompt } from '@ai-sdk/provider';
import { hashValue } from '../core/canonical.ts';
import { flawedArgs } from '../model/behaviour-args.ts';
import { argsFor, type BehaviourRates, type BehaviourTool } from '../model/behaviour-turn.ts';
import type { ModelPricing } from '../model/model-pricing.ts';
import { PRICING_KEY } from '../model/pricing.ts';
import { seededRandom, seedFrom } from '../model/seeded-random.ts';
import { statedAttempt } from '../model/simulated-attempts.ts';
import { providerError } from '../model/simulated.ts';
import { toStreamResult } from '../model/simulated-stream.ts';
import type { SimulatedModel } from '../model/simulated-types.ts';
import { promptUtf8Bytes } from '../model/simulated-usage.ts';
import { drawKey, drawQuantile, FAILED_SUFFIX, FINAL, START, type LearnedModel } from './learned-model.ts';

export interface LearnedBehaviourOptions {
  learned: LearnedModel;
  /** The agent's tools: a tool the runs never called (a change under test) gets arguments from its schema. */
  tools: readonly BehaviourTool[];
  /** Fault rates layered on top of the learned ones (`--faults`); all zero for the learned behaviour alone. */
  rates: BehaviourRates;
  seed: number;
  pricing: ModelPricing;
  wait: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  modelId?: string;
  /** Filled as calls are proposed, read by the simulated tools (`simulateTools({ recorded })`). */
  recorded?: RecordedCalls;
}

/** A call proposed with arguments the recorded runs saw: how often those failed, and what they returned. */
export interface RecordedCall {
  failureRate: number;
  result: unknown;
}

/** The key of a request's draws: from the seed and the request's text (its first user message). */
export function requestKeyOf(seed: number, input: string): string {
  return String(seedFrom(seed, input));
}

/**
 * What the learned model proposed with recorded arguments, per request, for the simulated tools to
 * answer from. Keyed by request, so two requests whose renamed ids happen to agree never read each
 * other's entry, whatever order the concurrent runs interleave in.
 */
export class RecordedCalls {
  readonly #calls = new Map<string, RecordedCall>();
  readonly #requests = new Map<string, string>();

  /** Ties a run to its request (call before the run starts). */
  bindRun(runId: string, requestKey: string): void {
    this.#requests.set(runId, requestKey);
  }

  set(requestKey: string, tool: string, args: unknown, call: RecordedCall): void {
    this.#calls.set(`${requestKey}:${tool}:${hashValue(args)}`, call);
  }

  get(runId: string, tool: string, args: unknown): RecordedCall | undefined {
    const requestKey = this.#requests.get(runId);
    return requestKey === undefined ? undefined : this.#calls.get(`${requestKey}:${tool}:${hashValue(args)}`);
  }
}

/** Field names that hold an entity's id (`orderId`, `customer_id`, `id`). */
const ID_FIELD = /id$/i;

/**
 * Gives the ids in recorded arguments and results new values per request (the same recorded id
 * always becomes the same new one within a request), keeping their length. Every request replaying
 * order 1042 would otherwise contend for the same lock, which the recorded runs, spread over time,
 * never did.
 */
export function renameIds(value: unknown, rename: (id: string) => string, key = ''): unknown {
  if (typeof value === 'string') return ID_FIELD.test(key) && /\d/.test(value) ? rename(value) : value;
  if (Array.isArray(value)) return value.map((v) => renameIds(v, rename, key));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renameIds(v, rename, k);
    return out;
  }
  return value;
}

/** The same number of digits, drawn from the request and the recorded digits (never a leading zero). */
function renamedDigits(seed: number, requestKey: string, digits: string): string {
  if (digits.length < 2) return digits;
  const span = 9 * 10 ** (digits.length - 1);
  return String(10 ** (digits.length - 1) + (seedFrom(seed, requestKey, 'entity', digits) % Math.min(span, 2 ** 31)));
}

/** What the conversation says of the previous turn: the state the next action is drawn from. */
function readState(prompt: LanguageModelV3Prompt): { input: string; turn: number; state: string; lastCalls: { tool: string; input: unknown }[] } {
  let input = '';
  let turn = 0;
  let lastIds: string[] = [];
  let lastCalls: { tool: string; input: unknown }[] = [];
  const failed = new Set<string>();
  for (const message of prompt) {
    if (message.role === 'user' && input === '') {
      for (const part of message.content) if (part.type === 'text') input += part.text;
    } else if (message.role === 'assistant') {
      turn++;
      lastIds = [];
      lastCalls = [];
      for (const part of message.content) {
        if (part.type !== 'tool-call') continue;
        lastIds.push(part.toolCallId);
        lastCalls.push({ tool: part.toolName, input: part.input });
      }
    } else if (message.role === 'tool') {
      for (const part of message.content) {
        if (
          part.type === 'tool-result' &&
          (part.output.type === 'error-text' || part.output.type === 'error-json' || part.output.type === 'execution-denied')
        ) {
          failed.add(part.toolCallId);
        }
      }
    }
  }
  if (turn === 0) return { input, turn, state: START, lastCalls };
  const action = lastCalls.length === 0 ? FINAL : lastCalls.map((c) => c.tool).join('+');
  return { input, turn, state: action + (lastIds.some((id) => failed.has(id)) ? FAILED_SUFFIX : ''), lastCalls };
}

/**
 * A behaviour model that plays back what an agent did on its recorded runs: each turn draws the
 * next action from the learned transitions (given the previous action and whether it succeeded),
 * arguments from one recorded run's (a persona, so a run's calls agree with each other), tokens,
 * latency and confidence from the recorded distributions, and provider errors at the recorded
 * rates. `rates` layers the rehearsal's fault profile on top. Like `behaviourModel` it keeps no
 * state: every answer follows from the seed, the request and the conversation so far.
 *
 * @example
 * const model = learnedBehaviourModel({ learned, tools: agent.tools, rates: NO_FAULTS.rates, seed: 1, pricing, wait });
 */
export function learnedBehaviourModel(options: LearnedBehaviourOptions): SimulatedModel {
  const { learned, seed, rates } = options;
  const tools = new Map(options.tools.map((t) => [t.name, t]));
  const destructive = options.tools.filter((t) => t.tier === 'delete');
  const provider = Object.values(learned.providers)[0];
  const rateLimited = (provider?.rateLimitedRate ?? 0) + rates.rateLimited;
  const serverError = (provider?.serverErrorRate ?? 0) + rates.serverError;
  const modelId = options.modelId ?? `learned:${learned.agent}`;
  const pricing = Object.freeze({ ...options.pricing });

  const recorded = options.recorded;
  function argsOf(tool: string, persona: Record<string, number> | undefined, random: () => number, requestKey: string): unknown {
    const learnedTool = learned.tools[tool];
    const seen = learnedTool?.args ?? [];
    let index = persona?.[tool];
    if (index === undefined || seen[index] === undefined) index = seen.length > 0 ? Math.floor(random() * seen.length) : undefined;
    if (index === undefined || !learnedTool) {
      const own = tools.get(tool);
      return own ? argsFor(own, seed, requestKey) : {};
    }
    const rename = (id: string) => id.replace(/\d+/g, (digits) => renamedDigits(seed, requestKey, digits));
    const args = renameIds(seen[index], rename);
    recorded?.set(requestKey, tool, args, {
      failureRate: learnedTool.argsFailureRate[index] ?? learnedTool.failureRate,
      result: renameIds(learnedTool.results[index] ?? null, rename),
    });
    return args;
  }

  function decide(call: LanguageModelV3CallOptions) {
    const t = readState(call.prompt);
    const requestKey = requestKeyOf(seed, t.input);
    const request = seededRandom(seedFrom(seed, requestKey, 'request'));
    const persona = learned.personas[Math.floor(request() * learned.personas.length)];
    const loops = request() < rates.loop;
    const loopFrom = 1 + Math.floor(request() * 2);
    const random = seededRandom(seedFrom(seed, requestKey, 'turn', t.turn));
    const row = learned.transitions[t.state] ?? learned.transitions[t.state.replace(/!$/, '')] ?? { [FINAL]: 1 };
    let action = drawKey(row, random()) ?? FINAL;
    let calls: { tool: string; input: string }[] =
      action === FINAL ? [] : action.split('+').map((tool) => ({ tool, input: JSON.stringify(argsOf(tool, persona, random, requestKey)) ?? '{}' }));
    let lowConfidence = false;
    // Layered faults, at the profile's rates, on top of what the runs showed.
    const draw = random();
    if (loops && t.turn >= loopFrom && t.lastCalls.length > 0) {
      calls = t.lastCalls.map((c) => ({ tool: c.tool, input: typeof c.input === 'string' ? c.input : JSON.stringify(c.input) }));
      action = calls.map((c) => c.tool).join('+');
    } else if (calls.length > 0 && draw < rates.hallucinatedTool) {
      calls = [{ tool: `${calls[0]?.tool}_v2`, input: '{}' }];
    } else if (calls.length > 0 && draw < rates.hallucinatedTool + rates.invalidArgs) {
      const target = calls[0]!;
      const schema = tools.get(target.tool)?.jsonSchema ?? {};
      const source = { random, entity: () => '1000' };
      calls = [{ tool: target.tool, input: JSON.stringify(flawedArgs(schema, JSON.parse(target.input) as unknown, source).args) }];
    } else if (destructive.length > 0 && draw < rates.hallucinatedTool + rates.invalidArgs + rates.unsafeDestructive) {
      const tool = destructive[Math.floor(random() * destructive.length)]!;
      calls = [{ tool: tool.name, input: JSON.stringify(argsOf(tool.name, persona, random, requestKey)) }];
    } else if (draw < rates.hallucinatedTool + rates.invalidArgs + rates.unsafeDestructive + rates.lowConfidence) {
      lowConfidence = true;
    }
    const confidenceTable = learned.confidence[action];
    const confidence = lowConfidence ? 0.15 + random() * 0.3 : confidenceTable ? drawQuantile(confidenceTable, random()) : undefined;
    const outputTokens = Math.max(1, Math.round(drawQuantile(learned.outputTokens[action] ?? learned.outputTokens[FINAL] ?? [], random(), 40)));
    const tables = learned.inputTokensByStep;
    const inputTokens = Math.max(1, Math.round(drawQuantile(tables[Math.min(t.turn, tables.length - 1)] ?? [], random(), 200)));
    // Per attempt: provider errors at the learned rates plus the profile's.
    const attempt = statedAttempt(call) ?? 1;
    const attemptRandom = seededRandom(seedFrom(seed, requestKey, t.turn, 'call', attempt));
    const slow = attemptRandom() < rates.slowResponse;
    const latency = Math.round(drawQuantile(learned.modelLatencyMs, attemptRandom(), 800) * (slow ? 10 : 1));
    const e = attemptRandom();
    let error: ReturnType<typeof providerError> | undefined;
    if (e < rateLimited) {
      const retryAfterMs = Math.round(drawQuantile(provider?.retryAfterMs ?? [], attemptRandom(), 2000));
      error = providerError({ status: 429, times: 1, retryAfterMs }, t.turn, attempt);
    } else if (e < rateLimited + serverError) {
      error = providerError({ status: 503, times: 1 }, t.turn, attempt);
    }
    return { turn: t.turn, calls, confidence, outputTokens, inputTokens, latency, error };
  }

  async function generate(call: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    call.abortSignal?.throwIfAborted();
    const d = decide(call);
    await options.wait(d.latency, call.abortSignal);
    if (d.error) throw d.error;
    const content: LanguageModelV3Content[] = [];
    if (d.calls.length === 0) content.push({ type: 'text', text: `Done (learned behaviour of ${learned.agent}).` });
    for (const [i, c] of d.calls.entries()) content.push({ type: 'tool-call', toolCallId: `call_${d.turn}_${i}`, toolName: c.tool, input: c.input });
    // Never more input tokens than the prompt's bytes: the bound Warden reserves against.
    const inputTokens = Math.min(d.inputTokens, Math.max(1, promptUtf8Bytes(call)));
    const outputTokens = Math.min(d.outputTokens, call.maxOutputTokens ?? d.outputTokens);
    const finish = outputTokens < d.outputTokens ? 'length' : d.calls.length > 0 ? 'tool-calls' : 'stop';
    return {
      content,
      finishReason: { unified: finish, raw: finish },
      usage: {
        inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: outputTokens, text: outputTokens, reasoning: 0 },
      },
      providerMetadata: { warden: { ...(d.confidence !== undefined ? { confidence: d.confidence } : {}), rationale: 'learned behaviour' } },
      response: { id: `learned_${d.turn}`, modelId },
      warnings: [],
    };
  }

  return {
    specificationVersion: 'v3',
    provider: 'warden.learned',
    modelId,
    supportedUrls: {},
    doGenerate: generate,
    doStream: async (call) => toStreamResult(await generate(call)),
    [PRICING_KEY]: pricing,
  };
}
