import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';

/**
 * The learned behaviour model as a file: what an agent did on its own recorded runs, fitted by
 * `learnBehaviour` and played back by `learnedBehaviourModel`. It is plain JSON, so a reviewer can
 * read what the rehearsal assumes, and a saved file makes a rehearsal reproducible.
 *
 * Every distribution is stored as 101 quantiles (q0, q1, … q100) and drawn by inverse CDF with
 * linear interpolation between them: exact at the percentiles, compact whatever the run count.
 */

/** Names the document kind, so a stray JSON file is refused with a clear message. */
export const LEARNED_MODEL_FORMAT = 'warden.learned-behaviour';

/**
 * Version of the file's shape. v1: this module's `LearnedModel`. A reader accepts its own
 * version only (a newer file names the version it needs); bump it when the shape changes.
 */
export const LEARNED_MODEL_SCHEMA_VERSION = 1;

/** The turn that ends a run: text and no tool call. */
export const FINAL = 'final';
/** The state before the first turn. */
export const START = 'start';
/** Suffix of a state whose calls did not all succeed (failed, rejected, denied, or declined by a person). */
export const FAILED_SUFFIX = '!';

/** A distribution as its 101 percentiles, ascending; an empty array when nothing was seen. */
export type Quantiles = number[];

export interface ToolBehaviour {
  /** Attempts seen (first attempts and retries). */
  attempts: number;
  /** Per attempt: the tool threw. */
  failureRate: number;
  /** Per attempt: the tool timed out. */
  timeoutRate: number;
  /** Per first attempt: a retry followed. */
  retryRate: number;
  latencyMs: Quantiles;
  /** Distinct arguments the model proposed for it (up to MAX_ARGS), drawn from when it calls the tool. */
  args: unknown[];
  /**
   * Per entry of `args`: the share of attempts with those arguments that threw. Failures follow
   * the arguments (an order that does not exist fails every time), so a call with arguments seen
   * fails at their rate, any other at `failureRate`.
   */
  argsFailureRate: number[];
  /**
   * Per entry of `args`: the first result the tool returned for them (null when it never
   * succeeded), so a lookup answers what it answered on the recorded runs and a plan's references
   * resolve as they did.
   */
  results: unknown[];
}

export interface ProviderBehaviour {
  /** Model call attempts seen. */
  attempts: number;
  rateLimitedRate: number;
  serverErrorRate: number;
  otherErrorRate: number;
  retryAfterMs: Quantiles;
}

/** What the recorded runs showed, summarised the way the rehearsal report reads a rehearsal. */
export interface BehaviourFigures {
  runs: number;
  /** Final status → share of runs. */
  status: Record<string, number>;
  /** Stop reason → share of runs. */
  stopReasons: Record<string, number>;
  stepsPerRun: { mean: number; p50: number; p99: number };
  inputTokensPerStep: number;
  outputTokensPerStep: number;
  costUsd: { mean: number; p50: number; p99: number };
  activeMs: { p50: number; p99: number };
  approvalsPer1000: number;
  escalationsPer1000: number;
  /** Share of decided approvals that were approved. */
  approvedShare: number;
  /** Per 1,000 model call attempts. */
  modelErrorsPer1000: number;
  /** Per 1,000 tool attempts. */
  toolFailuresPer1000: number;
  /** Tool calls by name, per run. */
  toolCallsPerRun: Record<string, number>;
  meanConfidence: number;
}

export interface LearnedModel {
  format: typeof LEARNED_MODEL_FORMAT;
  schemaVersion: number;
  agent: string;
  fittedAt: string;
  source: { description: string; runs: number; from: string | null; to: string | null };
  /**
   * State → next action → count. A state is START or the previous turn's action (its tool names
   * joined by `+`, FAILED_SUFFIX appended when not every call succeeded); an action is FINAL or tool names.
   */
  transitions: Record<string, Record<string, number>>;
  /** Input tokens by step (index 0 is step 1; the last entry serves every later step). */
  inputTokensByStep: Quantiles[];
  /** Output tokens per turn, by action. */
  outputTokens: Record<string, Quantiles>;
  /** Self-reported confidence per turn, by action (absent: the model gave none). */
  confidence: Record<string, Quantiles>;
  modelLatencyMs: Quantiles;
  providers: Record<string, ProviderBehaviour>;
  tools: Record<string, ToolBehaviour>;
  /** One per recorded run (up to MAX_PERSONAS): tool → index into `tools[tool].args`, so a run's calls agree with each other. */
  personas: Record<string, number>[];
  people: {
    approvals: { requested: number; approved: number; denied: number };
    approvalsByTool: Record<string, { requested: number; approved: number; denied: number }>;
    escalations: { total: number; byReason: Record<string, number>; decisions: Record<string, number> };
    /** Decided ÷ asked, over approvals and escalations: the share the rehearsal's reviewer decides. */
    decidedShare: number;
    /** Approved ÷ decided: the share the rehearsal's reviewer approves. */
    approvedShare: number;
  };
  observed: BehaviourFigures;
}

export const MAX_ARGS = 200;
export const MAX_PERSONAS = 1000;

const quantiles = z.array(z.number().finite());
const rate = z.number().min(0).max(1);
const counts = z.record(z.string(), z.number().nonnegative());
const figures = z.object({
  runs: z.number().int().nonnegative(),
  status: counts,
  stopReasons: counts,
  stepsPerRun: z.object({ mean: z.number(), p50: z.number(), p99: z.number() }),
  inputTokensPerStep: z.number(),
  outputTokensPerStep: z.number(),
  costUsd: z.object({ mean: z.number(), p50: z.number(), p99: z.number() }),
  activeMs: z.object({ p50: z.number(), p99: z.number() }),
  approvalsPer1000: z.number(),
  escalationsPer1000: z.number(),
  approvedShare: z.number(),
  modelErrorsPer1000: z.number(),
  toolFailuresPer1000: z.number(),
  toolCallsPerRun: counts,
  meanConfidence: z.number(),
});
const decisions = z.object({ requested: z.number().int().nonnegative(), approved: z.number().int().nonnegative(), denied: z.number().int().nonnegative() });

const modelSchema = z.object({
  format: z.literal(LEARNED_MODEL_FORMAT),
  schemaVersion: z.literal(LEARNED_MODEL_SCHEMA_VERSION),
  agent: z.string().min(1),
  fittedAt: z.string(),
  source: z.object({ description: z.string(), runs: z.number().int().positive(), from: z.string().nullable(), to: z.string().nullable() }),
  transitions: z.record(z.string(), counts).refine((t) => START in t, { message: `needs a "${START}" state` }),
  inputTokensByStep: z.array(quantiles).min(1),
  outputTokens: z.record(z.string(), quantiles),
  confidence: z.record(z.string(), quantiles),
  modelLatencyMs: quantiles,
  providers: z.record(
    z.string(),
    z.object({
      attempts: z.number().int().nonnegative(),
      rateLimitedRate: rate,
      serverErrorRate: rate,
      otherErrorRate: rate,
      retryAfterMs: quantiles,
    }),
  ),
  tools: z.record(
    z.string(),
    z.object({
      attempts: z.number().int().nonnegative(),
      failureRate: rate,
      timeoutRate: rate,
      retryRate: rate,
      latencyMs: quantiles,
      args: z.array(z.unknown()).max(MAX_ARGS),
      argsFailureRate: z.array(rate).max(MAX_ARGS),
      results: z.array(z.unknown()).max(MAX_ARGS),
    }),
  ),
  personas: z.array(z.record(z.string(), z.number().int().nonnegative())).max(MAX_PERSONAS),
  people: z.object({
    approvals: decisions,
    approvalsByTool: z.record(z.string(), decisions),
    escalations: z.object({ total: z.number().int().nonnegative(), byReason: counts, decisions: counts }),
    decidedShare: rate,
    approvedShare: rate,
  }),
  observed: figures,
});

/**
 * Checks a learned model read from JSON. Every problem is an `INVALID_CONFIG` WardenError naming
 * the file and the field, so a hand-edited or truncated file fails before a rehearsal starts.
 *
 * @example
 * const model = parseLearnedModel(JSON.parse(text), 'support.model.json');
 */
export function parseLearnedModel(json: unknown, where = 'learned model'): LearnedModel {
  const head = (json ?? {}) as { format?: unknown; schemaVersion?: unknown };
  if (head.format !== LEARNED_MODEL_FORMAT) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where} is not a learned behaviour model: expected format "${LEARNED_MODEL_FORMAT}", found ${JSON.stringify(head.format)} (write one with --save-model)`,
    );
  }
  if (head.schemaVersion !== LEARNED_MODEL_SCHEMA_VERSION) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where} has schemaVersion ${JSON.stringify(head.schemaVersion)}; this Warden reads schemaVersion ${LEARNED_MODEL_SCHEMA_VERSION}. Fit it again with --learn-from … --save-model.`,
    );
  }
  const parsed = modelSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new WardenError('INVALID_CONFIG', `${where} is a damaged learned model: ${issues}`);
  }
  const model = parsed.data as LearnedModel;
  for (const [name, tool] of Object.entries(model.tools)) {
    for (const persona of model.personas) {
      const index = persona[name];
      if (index !== undefined && index >= tool.args.length) {
        throw new WardenError(
          'INVALID_CONFIG',
          `${where} is a damaged learned model: a persona points at argument ${index} of ${name}, which has ${tool.args.length}`,
        );
      }
    }
  }
  return model;
}

/** Reads and checks a saved model (`--model FILE`). */
export function loadLearnedModel(path: string): LearnedModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new WardenError('INVALID_ARGUMENT', `Cannot read the learned model ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new WardenError('INVALID_CONFIG', `The learned model ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return parseLearnedModel(json, path);
}

/** Writes the model as indented JSON (`--save-model FILE`), readable and diffable. */
export function saveLearnedModel(path: string, model: LearnedModel): void {
  writeFileSync(path, `${JSON.stringify(model, null, 1)}\n`);
}

/** The 101 percentiles of `values` (nearest rank), rounded to keep the file readable. */
export function toQuantiles(values: readonly number[], digits = 3): Quantiles {
  if (values.length === 0) return [];
  const sorted = Float64Array.from(values).sort();
  const f = 10 ** digits;
  const out: number[] = [];
  for (let p = 0; p <= 100; p++) {
    const rank = Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1));
    out.push(Math.round((sorted[rank] ?? 0) * f) / f);
  }
  return out;
}

/** A draw from a quantile table by inverse CDF (linear between percentiles); `fallback` for an empty table. */
export function drawQuantile(q: Quantiles, u: number, fallback = 0): number {
  if (q.length === 0) return fallback;
  const x = u * (q.length - 1);
  const i = Math.min(q.length - 2, Math.floor(x));
  if (i < 0) return q[0] ?? fallback;
  const lo = q[i] ?? fallback;
  const hi = q[i + 1] ?? lo;
  return lo + (hi - lo) * (x - i);
}

/** A key drawn from counts in proportion to them (keys in a fixed order, so draws replay). */
export function drawKey(table: Record<string, number>, u: number): string | undefined {
  let total = 0;
  for (const k in table) total += table[k] ?? 0;
  if (total <= 0) return undefined;
  let edge = u * total;
  let last: string | undefined;
  for (const k in table) {
    last = k;
    edge -= table[k] ?? 0;
    if (edge < 0) return k;
  }
  return last;
}
