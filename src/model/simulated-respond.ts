import type { LanguageModelV3CallOptions, LanguageModelV3Prompt } from '@ai-sdk/provider';
import { WardenError } from '../core/errors.ts';
import { PRICING_KEY } from './pricing.ts';
import type { SimulatedModel, SimulatedOptions, SimulatedTurn } from './simulated-types.ts';

/** One tool outcome the model has seen: the result of a call that ran, or why it did not. */
export interface SimulatedToolOutcome {
  tool: string;
  /** False when the call failed, was refused by policy or a person, or was rejected. */
  ok: boolean;
  /** The tool's result when `ok`; otherwise the words Warden told the model (e.g. `Denied by ana: …`). */
  output: unknown;
}

/** What a responding simulated model sees of the run before it answers. */
export interface SimulatedView {
  /** The request that started the run. */
  input: string;
  /** How many answers the model has given so far (0 before the first). */
  turn: number;
  /** Every tool outcome so far, oldest first. */
  results: readonly SimulatedToolOutcome[];
  /** The latest tool outcome, or null before any. */
  last: SimulatedToolOutcome | null;
  /**
   * Every user message in the prompt, oldest first: in a conversation's turn, what was said in the
   * earlier turns the history kept, then this turn's message (`input` is the first of them).
   */
  userMessages: readonly string[];
  /** The text of every answer in the prompt, oldest first (the earlier turns' answers included). */
  answers: readonly string[];
  /** The tool outcomes since the latest user message (in a conversation: this turn's so far). */
  sinceMessage: readonly SimulatedToolOutcome[];
}

export type SimulatedResponder = (view: SimulatedView) => SimulatedTurn;

/** Distinct turns kept (each keeps its own retry bookkeeping); past this the cache starts over. */
const MAX_CACHED_TURNS = 256;

/**
 * A simulated model that answers from what happened, not from a fixed list: `responder` gets the
 * request and every tool outcome so far (results, failures, a person's denial) and returns the next
 * turn, in the same shape `simulated.script` takes (text or tool calls, confidence, rationale,
 * usage, latency, errors). Deterministic: the same run history gives the same answer, so replay
 * and resume see what the first session saw.
 *
 * @example
 * const model = simulated.respond(({ last }) =>
 *   last === null ? { toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }] }
 *   : last.ok ? { text: `Order total: $${(last.output as { total: number }).total}` }
 *   : { text: `I could not look the order up: ${String(last.output)}` });
 */
export function respondModel(
  responder: SimulatedResponder,
  options: SimulatedOptions,
  script: (turns: readonly SimulatedTurn[], options: SimulatedOptions) => SimulatedModel,
): SimulatedModel {
  if (typeof responder !== 'function') {
    throw new WardenError('INVALID_CONFIG', 'simulated.respond expects a function (view) => turn');
  }
  // Validates the options once, and gives the price every answer is charged at.
  const probe = script([{ text: 'probe' }], options);
  const byTurn = new Map<string, SimulatedModel>();

  function modelFor(call: LanguageModelV3CallOptions): SimulatedModel {
    const turn = responder(viewOf(call.prompt));
    const key = JSON.stringify(turn);
    let model = byTurn.get(key);
    if (!model) {
      if (byTurn.size >= MAX_CACHED_TURNS) byTurn.clear();
      // A one-turn script answers with that turn whatever the history; it keeps its own retry count.
      model = script([turn], options);
      byTurn.set(key, model);
    }
    return model;
  }

  return {
    specificationVersion: probe.specificationVersion,
    provider: probe.provider,
    modelId: options.modelId ?? 'respond',
    supportedUrls: {},
    doGenerate: (call) => modelFor(call).doGenerate(call),
    doStream: (call) => modelFor(call).doStream(call),
    [PRICING_KEY]: probe[PRICING_KEY],
  } as SimulatedModel;
}

/** Reads the prompt Warden sent back into the request, the turn count and the tool outcomes. */
export function viewOf(prompt: LanguageModelV3Prompt): SimulatedView {
  let turn = 0;
  const results: SimulatedToolOutcome[] = [];
  const userMessages: string[] = [];
  const answers: string[] = [];
  let sinceMessage: SimulatedToolOutcome[] = [];
  for (const message of prompt) {
    if (message.role === 'user') {
      userMessages.push(message.content.map((part) => (part.type === 'text' ? part.text : '')).join(''));
      sinceMessage = [];
    } else if (message.role === 'assistant') {
      turn++;
      const text = message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
      if (text !== '') answers.push(text);
    } else if (message.role === 'tool') {
      for (const part of message.content) {
        if (part.type !== 'tool-result') continue;
        const output = part.output;
        const ok = output.type === 'json' || output.type === 'text';
        const outcome = { tool: part.toolName, ok, output: 'value' in output ? output.value : null };
        results.push(outcome);
        sinceMessage.push(outcome);
      }
    }
  }
  return { input: userMessages[0] ?? '', turn, results, last: results.at(-1) ?? null, userMessages, answers, sinceMessage };
}
