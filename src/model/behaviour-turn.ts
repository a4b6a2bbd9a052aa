import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { Tier } from '../core/tiers.ts';
import { flawedArgs, plausibleValue, type ArgsSource } from './behaviour-args.ts';
import { seededRandom, seedFrom } from './seeded-random.ts';

/**
 * What the behaviour model does on one turn, decided from the seed, the request and the
 * conversation so far only: the same prompt always gets the same answer, so one model serves any
 * number of concurrent runs, and a resumed or replayed run sees the same behaviour.
 */

/** Rates of the failure modes, each a probability in [0, 1]. */

/**
 * What the behaviour model reads of a tool: its contract, never its code (it cannot call
 * `execute`). Every `defineTool` tool fits.
 */
export interface BehaviourTool {
  readonly name: string;
  readonly tier: Tier;
  readonly jsonSchema: Record<string, unknown>;
  readonly input: { safeParse(value: unknown): { success: boolean } };
  readonly requires?: readonly string[];
  readonly provides?: readonly string[];
}

export interface BehaviourRates {
  /** Per model call: the provider answers 429 with a `retry-after`. */
  rateLimited: number;
  /** Per model call: the provider answers 500, 502, 503 or 529. */
  serverError: number;
  /** Per model call: the answer takes far longer than usual. */
  slowResponse: number;
  /** Per turn: a call to a tool that does not exist. */
  hallucinatedTool: number;
  /** Per turn: arguments that break the schema (or are not JSON at all). */
  invalidArgs: number;
  /** Per turn: a delete-tier call nobody asked for. */
  unsafeDestructive: number;
  /** Per turn: the model reports low confidence in its step. */
  lowConfidence: number;
  /** Per turn: a step whose prerequisites (`requires`) were skipped. */
  planError: number;
  /** Per request: the model gets stuck repeating one call. */
  loop: number;
  /** Per request: an edge case the provider keeps failing on, so one step is retried again and again. */
  retryChain: number;
  /** Shape of the Pareto tail of output tokens: lower is heavier (1.1 is wild, 3 is tame). */
  tokenTail: number;
}

export type TurnFault = 'hallucinated_tool' | 'invalid_args' | 'malformed_args' | 'unsafe_destructive' | 'plan_error' | 'loop' | 'low_confidence';

export interface DecidedCall {
  tool: string;
  /** Serialised arguments (not valid JSON for a malformed call). */
  input: string;
}

export interface DecidedTurn {
  text: string;
  calls: DecidedCall[];
  confidence: number;
  rationale: string;
  faults: TurnFault[];
  /** Identifies the request (from the seed and its first message) for draws that are per request. */
  requestKey: string;
  /** Turns already taken in this run (assistant messages in the prompt). */
  turn: number;
}

interface Transcript {
  /** The request: the first user message. */
  input: string;
  turn: number;
  /** Tools that returned a result without error. */
  done: Set<string>;
  /** The latest outcome of each tool: `ok`, `denied`, `failed` or `rejected`. */
  last: Map<string, 'ok' | 'denied' | 'failed' | 'rejected'>;
}

/** Reads what the conversation says happened so far. */
export function readTranscript(prompt: LanguageModelV3Prompt): Transcript {
  let input = '';
  let turn = 0;
  const names = new Map<string, string>();
  const done = new Set<string>();
  const last = new Map<string, 'ok' | 'denied' | 'failed' | 'rejected'>();
  for (const message of prompt) {
    if (message.role === 'user' && input === '') {
      for (const part of message.content) if (part.type === 'text') input += part.text;
    } else if (message.role === 'assistant') {
      turn++;
      for (const part of message.content) if (part.type === 'tool-call') names.set(part.toolCallId, part.toolName);
    } else if (message.role === 'tool') {
      for (const part of message.content) {
        if (part.type !== 'tool-result') continue;
        const name = names.get(part.toolCallId) ?? part.toolName;
        if (part.output.type !== 'error-text' && part.output.type !== 'error-json') {
          done.add(name);
          last.set(name, 'ok');
          continue;
        }
        const text = String(part.output.value);
        last.set(name, /^(Denied|Not allowed|Stopped)/.test(text) ? 'denied' : /^Failed/.test(text) ? 'failed' : 'rejected');
      }
    }
  }
  return { input, turn, done, last };
}

function pick<T>(random: () => number, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(random() * items.length) % items.length];
}

/** The tools a request needs, in order: a goal, preceded by the tools that provide what it requires. */
export function requestPlan(tools: readonly BehaviourTool[], random: () => number): BehaviourTool[] {
  const candidates = tools.filter((t) => t.tier !== 'delete');
  const goal = pick(random, candidates.length > 0 ? candidates : tools);
  if (!goal) return [];
  const plan: BehaviourTool[] = [];
  const add = (tool: BehaviourTool, depth: number) => {
    if (plan.includes(tool) || depth > 4) return;
    for (const fact of tool.requires ?? []) {
      const provider = tools.find((t) => t !== tool && t.provides?.includes(fact));
      if (provider) add(provider, depth + 1);
    }
    plan.push(tool);
  };
  add(goal, 0);
  return plan;
}

/**
 * The tool a plan-mode agent offers for proposing its whole plan first (the runtime's plan
 * protocol). When the request offers it, the behaviour model plans before it acts.
 */
export const PLAN_TOOL_NAME = 'submit_plan';

export interface TurnContext {
  seed: number;
  tools: readonly BehaviourTool[];
  rates: BehaviourRates;
}

/** The request's own id source: ids drawn once per field name, so one run talks about one order. */
function argsSource(seed: number, requestKey: string, salt: string): ArgsSource {
  const random = seededRandom(seedFrom(seed, requestKey, 'args', salt));
  const ids = new Map<string, string>();
  return {
    random,
    entity(field) {
      let id = ids.get(field);
      if (id === undefined) {
        id = String(1000 + (seedFrom(seed, requestKey, 'entity', field) % 9000));
        ids.set(field, id);
      }
      return id;
    },
  };
}

/** Plausible arguments that pass the tool's own schema, when a few draws can find them. */
export function argsFor(tool: BehaviourTool, seed: number, requestKey: string, salt = ''): unknown {
  let args: unknown = {};
  for (let i = 0; i < 5; i++) {
    args = plausibleValue(tool.jsonSchema, argsSource(seed, requestKey, `${tool.name}:${salt}:${i}`));
    if (tool.input.safeParse(args).success) return args;
  }
  return args;
}

function call(tool: string, args: unknown): DecidedCall {
  return { tool, input: JSON.stringify(args) ?? '{}' };
}

/**
 * Decides the turn: the next step of the request's plan, or one of the failure modes at its rate,
 * or the final answer once the plan is done (or a person said no).
 */
export function decideTurn(ctx: TurnContext, prompt: LanguageModelV3Prompt, offered: readonly string[] = []): DecidedTurn {
  const { seed, tools, rates } = ctx;
  const t = readTranscript(prompt);
  const requestKey = String(seedFrom(seed, t.input));
  const requestRandom = seededRandom(seedFrom(seed, requestKey, 'request'));
  const plan = requestPlan(tools, requestRandom);
  const loops = requestRandom() < rates.loop;
  const loopFrom = 1 + Math.floor(requestRandom() * 2);
  const random = seededRandom(seedFrom(seed, requestKey, 'turn', t.turn));
  const confidence = 0.7 + random() * 0.28;
  const decided = (turn: Omit<DecidedTurn, 'requestKey' | 'turn'>): DecidedTurn => ({ ...turn, requestKey, turn: t.turn });
  const answer = (text: string): DecidedTurn => decided({ text, calls: [], confidence, rationale: 'The request is settled.', faults: [] });

  if (loops && t.turn >= loopFrom) {
    // Stuck: the same call with the same arguments, turn after turn, whatever comes back.
    const stuck = plan.find((x) => x.tier === 'read') ?? plan[0];
    if (stuck) {
      return decided({
        text: '',
        calls: [call(stuck.name, argsFor(stuck, seed, requestKey))],
        confidence,
        rationale: `Checking ${stuck.name} again.`,
        faults: ['loop'],
      });
    }
  }

  if (offered.includes(PLAN_TOOL_NAME) && !t.done.has(PLAN_TOOL_NAME) && plan.length > 0) {
    // Plan mode: the whole plan first. A plan error leaves out the steps that establish what a later one requires.
    const careless = random() < rates.planError && plan.some((x) => (x.requires?.length ?? 0) > 0);
    const steps = (careless ? plan.filter((x) => (x.requires?.length ?? 0) > 0) : plan).map((x, i) => ({
      id: `s${i + 1}`,
      tool: x.name,
      args: argsFor(x, seed, requestKey),
      ...(i > 0 ? { dependsOn: [`s${i}`] } : {}),
    }));
    return decided({
      text: '',
      calls: [call(PLAN_TOOL_NAME, { steps })],
      confidence,
      rationale: `Plan: ${steps.map((x) => x.tool).join(' → ')}.`,
      faults: careless ? ['plan_error'] : [],
    });
  }

  const next = plan.find((x) => !t.done.has(x.name));
  if (!next) return answer(`Done: ${plan.map((x) => x.name).join(', ') || 'nothing was needed'} for "${t.input.slice(0, 60)}".`);
  const outcome = t.last.get(next.name);
  if (outcome === 'denied') return answer(`I could not ${next.name.replace(/_/g, ' ')}: a person or a rule declined it.`);
  if (outcome === 'failed') return answer(`${next.name} is failing right now; please try again later.`);

  const draw = random();
  let edge = 0;
  const hit = (rate: number) => {
    const lo = edge;
    edge += rate;
    return draw >= lo && draw < edge;
  };
  const intended = argsFor(next, seed, requestKey);
  if (hit(rates.hallucinatedTool)) {
    const name = random() < 0.5 ? `${next.name}_v2` : pick(random, ['escalate_to_manager', 'search_web', 'send_email'])!;
    return decided({ text: '', calls: [call(name, { query: t.input.slice(0, 40) })], confidence, rationale: `Using ${name}.`, faults: ['hallucinated_tool'] });
  }
  if (hit(rates.invalidArgs)) {
    if (random() < 0.25) {
      const input = JSON.stringify(intended) ?? '{}';
      return decided({
        text: '',
        calls: [{ tool: next.name, input: `${input.slice(0, -1)},` }],
        confidence,
        rationale: 'Cut off.',
        faults: ['malformed_args'],
      });
    }
    const { args, flaw } = flawedArgs(next.jsonSchema, intended, argsSource(seed, requestKey, `flaw:${t.turn}`));
    return decided({ text: '', calls: [call(next.name, args)], confidence, rationale: `Calling ${next.name} (it ${flaw}).`, faults: ['invalid_args'] });
  }
  const destructive = tools.filter((x) => x.tier === 'delete');
  if (hit(rates.unsafeDestructive) && destructive.length > 0) {
    const tool = pick(random, destructive)!;
    return decided({
      text: '',
      calls: [call(tool.name, argsFor(tool, seed, requestKey))],
      confidence,
      rationale: `Cleaning up with ${tool.name}.`,
      faults: ['unsafe_destructive'],
    });
  }
  if (hit(rates.planError)) {
    // Skip ahead to a step whose prerequisites are not met yet.
    const early = plan.find((x) => !t.done.has(x.name) && (x.requires?.length ?? 0) > 0 && x !== next);
    if (early) {
      return decided({
        text: '',
        calls: [call(early.name, argsFor(early, seed, requestKey))],
        confidence,
        rationale: `Going straight to ${early.name}.`,
        faults: ['plan_error'],
      });
    }
  }
  const low = hit(rates.lowConfidence);
  return decided({
    text: '',
    calls: [call(next.name, intended)],
    confidence: low ? 0.15 + random() * 0.3 : confidence,
    rationale: low ? `Not sure ${next.name} is right here.` : `Next step: ${next.name}.`,
    faults: low ? ['low_confidence'] : [],
  });
}
