import { z } from 'zod';
import type { ToolSpec } from './ports/model.ts';

/**
 * The plan protocol. In plan mode the model first calls the reserved tool `submit_plan` with the
 * whole plan; the runtime verifies it before any tool runs. A step's arguments may refer to an
 * earlier step's output with `{ "$ref": "<stepId>.<path>" }`, e.g. `{ "$ref": "find.customer.id" }`.
 */
export const PLAN_TOOL = 'submit_plan';

export const planStepSchema = z.object({
  id: z.string().min(1).max(64),
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).default({}),
  dependsOn: z.array(z.string()).max(100).optional(),
  why: z.string().max(2000).optional(),
});

export const planSchema = z.object({ steps: z.array(planStepSchema).min(1).max(100) });

export type PlanStep = z.infer<typeof planStepSchema>;
export type Plan = z.infer<typeof planSchema>;

/** A reference to another step's output: the step and the path inside its output. */
export interface PlanRef {
  step: string;
  path: string[];
}

/** Where in a step's arguments a reference sits, and what it refers to. */
export interface RefSite {
  at: (string | number)[];
  ref: PlanRef;
}

export function isRefValue(value: unknown): value is { $ref: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { $ref?: unknown }).$ref === 'string'
  );
}

export function parseRef(text: string): PlanRef {
  const [step, ...path] = text.split('.');
  return { step: step ?? '', path };
}

/** Every reference inside `args`, depth first. */
export function findRefs(args: unknown, at: (string | number)[] = []): RefSite[] {
  if (isRefValue(args)) return [{ at, ref: parseRef(args.$ref) }];
  if (Array.isArray(args)) return args.flatMap((v, i) => findRefs(v, [...at, i]));
  if (typeof args === 'object' && args !== null) return Object.entries(args).flatMap(([k, v]) => findRefs(v, [...at, k]));
  return [];
}

/** `args` with each reference replaced by `lookup(ref)`. */
export function substituteRefs(args: unknown, lookup: (ref: PlanRef) => unknown): unknown {
  if (isRefValue(args)) return lookup(parseRef(args.$ref));
  if (Array.isArray(args)) return args.map((v) => substituteRefs(v, lookup));
  if (typeof args === 'object' && args !== null) return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, substituteRefs(v, lookup)]));
  return args;
}

/** The value at `path` inside `value`, or `undefined` when the path does not exist. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  let here = value;
  for (const key of path) {
    if (typeof here !== 'object' || here === null) return undefined;
    here = (here as Record<string, unknown>)[key];
  }
  return here;
}

/** Steps a step depends on: its `dependsOn` plus every step its arguments refer to. */
export function dependenciesOf(step: PlanStep): string[] {
  return [...new Set([...(step.dependsOn ?? []), ...findRefs(step.args).map((s) => s.ref.step)])];
}

const PLAN_DESCRIPTION =
  'Propose your whole plan before running any tool. Each step names a tool and its arguments; ' +
  'an argument may use the output of an earlier step as {"$ref": "<stepId>.<field>"}. ' +
  'List the steps a step needs in dependsOn. The runtime checks the plan and tells you why if it cannot run.';

/** The reserved tool the model calls to submit a plan. */
export function planToolSpec(): ToolSpec {
  const inputSchema = z.toJSONSchema(planSchema, { io: 'input' }) as Record<string, unknown>;
  delete inputSchema.$schema;
  return { name: PLAN_TOOL, description: PLAN_DESCRIPTION, inputSchema };
}

export type PlanIssueCode =
  | 'duplicate_step'
  | 'unknown_tool'
  | 'invalid_args'
  | 'bad_reference'
  | 'cycle'
  | 'unmet_requirement'
  | 'too_many_steps'
  | 'over_budget'
  | 'denied';

/** One reason a plan cannot run, addressed to the model (it gets them all back). */
export interface PlanIssue {
  code: PlanIssueCode;
  step?: string;
  message: string;
}
