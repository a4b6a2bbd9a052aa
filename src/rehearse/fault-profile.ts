import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { DEFAULT_BEHAVIOUR_RATES, type BehaviourRates } from '../model/behaviour.ts';

/** Every rate a rehearsal injects: the behaviour model's, plus the simulated tools'. */
export interface FaultRates extends BehaviourRates {
  /** Per tool attempt: the tool throws (a transient error its retries may get past). */
  toolFailure: number;
  /** Per tool attempt: the tool never answers and times out (its outcome is unknown). */
  toolTimeout: number;
}

/**
 * The simulated reviewer. A rehearsal has no person, so runs parked for approval or escalation
 * are counted, and this share of them is decided so the rest of the run is exercised too.
 */
export interface ReviewerProfile {
  /** Share of parked runs the reviewer decides; the rest stay waiting. */
  decides: number;
  /** Share of decided approvals that are approved (the rest are denied); escalations approved alike, else stopped. */
  approves: number;
}

export interface FaultProfile {
  name: string;
  rates: FaultRates;
  reviewer: ReviewerProfile;
  /**
   * Share of the requests, in one stretch, during which the agent's primary model is down (its
   * breaker open), so they go to its fallbacks, or fail without one (`outage.ts`). Default 0.
   */
  outage: number;
}

export const PROFILE_NAMES = ['none', 'calm', 'realistic', 'storm', 'outage'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

const REVIEWER: ReviewerProfile = { decides: 0.9, approves: 0.8 };

/**
 * The built-in profiles: none (no injected fault: a learned model's own rates alone, the default
 * with `--learn-from` or `--model`), a quiet day, an ordinary one, a bad one, and an ordinary one
 * with the primary model down for 30% of the requests (`outage`: its fallbacks answer them).
 */
export const FAULT_PROFILES: Readonly<Record<ProfileName, FaultProfile>> = Object.freeze({
  none: {
    name: 'none',
    rates: {
      rateLimited: 0,
      serverError: 0,
      slowResponse: 0,
      hallucinatedTool: 0,
      invalidArgs: 0,
      unsafeDestructive: 0,
      lowConfidence: 0,
      planError: 0,
      loop: 0,
      retryChain: 0,
      tokenTail: 2.5,
      toolFailure: 0,
      toolTimeout: 0,
    },
    reviewer: REVIEWER,
    outage: 0,
  },
  calm: {
    name: 'calm',
    rates: {
      rateLimited: 0.002,
      serverError: 0.001,
      slowResponse: 0.005,
      hallucinatedTool: 0.002,
      invalidArgs: 0.005,
      unsafeDestructive: 0.001,
      lowConfidence: 0.01,
      planError: 0.002,
      loop: 0.002,
      retryChain: 0.0005,
      tokenTail: 2.5,
      toolFailure: 0.002,
      toolTimeout: 0.0005,
    },
    reviewer: REVIEWER,
    outage: 0,
  },
  realistic: {
    name: 'realistic',
    rates: { ...DEFAULT_BEHAVIOUR_RATES, toolFailure: 0.02, toolTimeout: 0.003 },
    reviewer: REVIEWER,
    outage: 0,
  },
  outage: {
    name: 'outage',
    rates: { ...DEFAULT_BEHAVIOUR_RATES, toolFailure: 0.02, toolTimeout: 0.003 },
    reviewer: REVIEWER,
    outage: 0.3,
  },
  storm: {
    name: 'storm',
    rates: {
      rateLimited: 0.15,
      serverError: 0.08,
      slowResponse: 0.1,
      hallucinatedTool: 0.05,
      invalidArgs: 0.08,
      unsafeDestructive: 0.03,
      lowConfidence: 0.1,
      planError: 0.05,
      loop: 0.05,
      retryChain: 0.02,
      tokenTail: 1.2,
      toolFailure: 0.1,
      toolTimeout: 0.02,
    },
    reviewer: REVIEWER,
    outage: 0,
  },
});

const probability = z.number().min(0).max(1);
const rateShape = Object.fromEntries(
  Object.keys(FAULT_PROFILES.realistic.rates).map((key) => [key, key === 'tokenTail' ? z.number().gt(1) : probability]),
) as Record<keyof FaultRates, z.ZodNumber>;

/** A fault file: a base profile and the rates and reviewer shares it changes. */
const profileFile = z.strictObject({
  extends: z.enum(PROFILE_NAMES).optional(),
  name: z.string().min(1).max(64).optional(),
  rates: z.strictObject(rateShape).partial().optional(),
  reviewer: z.strictObject({ decides: probability, approves: probability }).partial().optional(),
  outage: probability.optional(),
});

/**
 * The profile `--faults` names: `calm`, `realistic`, `storm`, `outage`, or a JSON file such as
 * `{ "extends": "storm", "rates": { "loop": 0.2, "toolTimeout": 0 }, "reviewer": { "decides": 0.5 }, "outage": 0.1 }`.
 *
 * @example
 * resolveFaultProfile('storm').rates.rateLimited; // 0.15
 */
export function resolveFaultProfile(spec: string = 'realistic'): FaultProfile {
  if ((PROFILE_NAMES as readonly string[]).includes(spec)) return clone(FAULT_PROFILES[spec as ProfileName]);
  if (!spec.endsWith('.json') && !existsSync(spec)) {
    throw new WardenError('INVALID_ARGUMENT', `Unknown fault profile "${spec}": use ${PROFILE_NAMES.join(', ')}, or the path of a JSON file`);
  }
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (cause) {
    throw new WardenError('INVALID_ARGUMENT', `Cannot read the fault profile file ${spec}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new WardenError('INVALID_CONFIG', `The fault profile file ${spec} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return parseFaultProfile(json, spec);
}

/** Checks a fault profile written as JSON and fills it in from its base profile. */
export function parseFaultProfile(json: unknown, where = 'fault profile'): FaultProfile {
  const parsed = profileFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 6)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new WardenError(
      'INVALID_CONFIG',
      `${where}: ${issues}. Known rates: ${Object.keys(rateShape).join(', ')}; reviewer: decides, approves; outage (share of requests); extends: ${PROFILE_NAMES.join(', ')}`,
    );
  }
  const base = FAULT_PROFILES[parsed.data.extends ?? 'realistic'];
  return {
    name: parsed.data.name ?? `${base.name}+${where.split('/').at(-1)}`,
    rates: { ...base.rates, ...parsed.data.rates },
    reviewer: { ...base.reviewer, ...parsed.data.reviewer },
    outage: parsed.data.outage ?? base.outage,
  };
}

function clone(profile: FaultProfile): FaultProfile {
  return { name: profile.name, rates: { ...profile.rates }, reviewer: { ...profile.reviewer }, outage: profile.outage };
}
