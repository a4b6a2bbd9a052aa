import { WardenError } from '../core/errors.ts';
import type { ConfidenceScorer } from '../core/confidence.ts';

/**
 * Plan mode: before any tool runs, the model proposes the whole plan, which the runtime verifies
 * against the tool contracts, the policy, the limits and the budget.
 */
export interface PlanOptions {
  /** Rejected plans sent back to the model before the run stops with `plan_rejected`. Default 2. */
  maxRejections?: number;
  /**
   * A proposed call that is not the next step of the verified plan: verify it on its own against
   * the same checks (`reverify`, the default) or ask a person (`escalate`). It never runs unchecked.
   */
  onDeviation?: 'reverify' | 'escalate';
  /**
   * Let a person approve the whole plan once, instead of each step that needs approval. A step
   * is covered only when its arguments are exactly what the approved plan says.
   */
  approveAsWhole?: boolean;
}

/** Confidence-based escalation: a step scored below `threshold` waits for a person. */
export interface EscalationOptions {
  /** In [0, 1]. */
  threshold: number;
  /** Replaces the default scorer (`defaultConfidenceScorer`). */
  scorer?: ConfidenceScorer;
}

/** Limits on the tree of runs an agent may start by delegating. */
export interface DelegationLimits {
  /** Levels of children below the root. Default 3. Stops with `max_depth`. */
  maxDepth: number;
  /** Children one run may start in total. Default 8. Stops with `max_children`. */
  maxChildren: number;
  /** Children of one run running at the same time. Default 4; more wait their turn. */
  maxChildrenInFlight: number;
}

export const DEFAULT_DELEGATION: Readonly<DelegationLimits> = Object.freeze({ maxDepth: 3, maxChildren: 8, maxChildrenInFlight: 4 });

/** Tool calls of one model turn that run at the same time. */
export const DEFAULT_PARALLEL_TOOL_CALLS = 4;

export interface ResolvedPlanOptions {
  maxRejections: number;
  onDeviation: 'reverify' | 'escalate';
  approveAsWhole: boolean;
}

function positiveInteger(where: string, key: string, value: unknown, min = 1): number {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= min)) {
    throw new WardenError('INVALID_CONFIG', `${where}: ${key} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function resolvePlanOptions(where: string, plan: boolean | PlanOptions | undefined): ResolvedPlanOptions | null {
  if (plan === undefined || plan === false) return null;
  const given = plan === true ? {} : plan;
  if (typeof given !== 'object' || given === null) throw new WardenError('INVALID_CONFIG', `${where}: plan must be true or an object`);
  const onDeviation = given.onDeviation ?? 'reverify';
  if (onDeviation !== 'reverify' && onDeviation !== 'escalate') {
    throw new WardenError('INVALID_CONFIG', `${where}: plan.onDeviation must be "reverify" or "escalate", got ${JSON.stringify(onDeviation)}`);
  }
  return Object.freeze({
    maxRejections: positiveInteger(where, 'plan.maxRejections', given.maxRejections ?? 2, 0),
    onDeviation,
    approveAsWhole: given.approveAsWhole === true,
  });
}

export function resolveEscalation(where: string, escalation: EscalationOptions | undefined): EscalationOptions | null {
  if (escalation === undefined) return null;
  const t = escalation?.threshold;
  if (!(typeof t === 'number' && t >= 0 && t <= 1)) {
    throw new WardenError('INVALID_CONFIG', `${where}: escalation.threshold must be a number in [0, 1], got ${JSON.stringify(t)}`);
  }
  if (escalation.scorer !== undefined && typeof escalation.scorer !== 'function') {
    throw new WardenError('INVALID_CONFIG', `${where}: escalation.scorer must be a function of the step's signals`);
  }
  return Object.freeze({ ...escalation });
}

export function resolveDelegation(where: string, given: Partial<DelegationLimits> | undefined): DelegationLimits {
  const merged = { ...DEFAULT_DELEGATION, ...given };
  for (const key of Object.keys(merged) as (keyof DelegationLimits)[]) {
    if (!(key in DEFAULT_DELEGATION)) throw new WardenError('INVALID_CONFIG', `${where}: unknown delegation limit "${key}"`);
    positiveInteger(where, `delegation.${key}`, merged[key]);
  }
  return Object.freeze(merged);
}

export function resolveParallelToolCalls(where: string, value: number | undefined): number {
  return positiveInteger(where, 'parallelToolCalls', value ?? DEFAULT_PARALLEL_TOOL_CALLS);
}
