import { z } from 'zod';
import type { Agent } from '../agent/agent.ts';
import { type AnyTool, toolCallCostUsd } from '../agent/tool.ts';
import { dependenciesOf, findRefs, type Plan, PLAN_TOOL, type PlanStep, substituteRefs } from '../core/plan.ts';
import { formatUsd, usdToNano } from '../core/money.ts';
import { describeTypes, type JsonSchema, schemasAt, typesFit, typesOf } from './json-schema-types.ts';
import { decidePolicy } from './policy.ts';
import { describeError, mustExist } from '../core/errors.ts';
import type { PlanIssue } from '../core/plan.ts';

/** What the verifier needs to know about the run besides the agent. */
export interface PlanContext {
  /** Facts already established by calls that ran earlier in this run. */
  establishedFacts: ReadonlySet<string>;
  remainingToolCalls: number;
  /** Model calls the run may still make. */
  remainingSteps: number;
  remainingNano: number;
  /** Estimated cost of one more model call, in nano-USD. */
  modelCallNano: number;
}

export type PlanVerdict =
  | { ok: true; order: string[]; estimateNano: number; modelCalls: number; needsApproval: string[] }
  | { ok: false; issues: PlanIssue[]; estimateNano: number };

const outputSchemas = new WeakMap<AnyTool, JsonSchema | null>();

function outputSchemaOf(tool: AnyTool): JsonSchema | null {
  let schema = outputSchemas.get(tool);
  if (schema === undefined) {
    schema = null;
    if (tool.output) {
      try {
        schema = z.toJSONSchema(tool.output, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
      } catch {
        schema = {};
      }
    }
    outputSchemas.set(tool, schema);
  }
  return schema;
}

/** One schema as itself, several as the union of them. */
function oneOrAnyOf(schemas: JsonSchema[]): JsonSchema {
  const [only, ...rest] = schemas;
  return only !== undefined && rest.length === 0 ? only : { anyOf: schemas };
}

function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((k, i) => String(path[i]) === String(k));
}

/** Orders steps so each comes after what it depends on; returns a cycle when there is one. */
function topologicalOrder(steps: PlanStep[]): { order: string[]; levels: number; cycle: string[] | null } {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const level = new Map<string, number>();
  const order: string[] = [];
  const stack: string[] = [];
  let cycle: string[] | null = null;
  const visit = (id: string): void => {
    if (cycle || state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      cycle = [...stack.slice(stack.indexOf(id)), id];
      return;
    }
    state.set(id, 'visiting');
    stack.push(id);
    let depth = 0;
    for (const dep of dependenciesOf(mustExist(byId.get(id), 'the plan step'))) {
      if (!byId.has(dep)) continue;
      visit(dep);
      depth = Math.max(depth, (level.get(dep) ?? 0) + 1);
    }
    stack.pop();
    state.set(id, 'done');
    level.set(id, depth);
    order.push(id);
  };
  for (const s of steps) visit(s.id);
  return { order, levels: Math.max(0, ...level.values()) + 1, cycle };
}

/**
 * Checks a plan statically, before any of it runs: every tool exists; literal arguments satisfy
 * each schema; references point at earlier steps and their declared output types fit; every
 * `requires` is met by a `provides` of a step it depends on (or of a call that already ran); the
 * dependencies are acyclic; the step count fits the limits; the estimated cost fits what is left
 * of the ceiling; no step is denied by the policy. All problems are reported, not just the first.
 */
export async function verifyPlan(plan: Plan, agent: Agent, ctx: PlanContext): Promise<PlanVerdict> {
  const issues: PlanIssue[] = [];
  const byId = new Map<string, PlanStep>();
  for (const step of plan.steps) {
    if (byId.has(step.id)) issues.push({ code: 'duplicate_step', step: step.id, message: `Two steps have the id "${step.id}".` });
    byId.set(step.id, step);
  }
  const known = [...agent.toolsByName.keys()].join(', ');
  let toolCostNano = 0;
  const needsApproval: string[] = [];

  for (const step of plan.steps) {
    const tool = step.tool === PLAN_TOOL ? undefined : agent.toolsByName.get(step.tool);
    for (const dep of step.dependsOn ?? []) {
      if (!byId.has(dep) || dep === step.id)
        issues.push({ code: 'bad_reference', step: step.id, message: `Step "${step.id}" depends on "${dep}", which is not another step of this plan.` });
    }
    if (!tool) {
      issues.push({
        code: 'unknown_tool',
        step: step.id,
        message: `Step "${step.id}" uses "${step.tool}", which is not a tool of this agent. Available: ${known}.`,
      });
      continue;
    }
    const sites = findRefs(step.args);
    for (const site of sites) {
      const source = byId.get(site.ref.step);
      const where = `Step "${step.id}" argument ${site.at.join('.') || '(root)'}`;
      if (!source || source.id === step.id) {
        issues.push({ code: 'bad_reference', step: step.id, message: `${where} refers to "${site.ref.step}", which is not another step of this plan.` });
        continue;
      }
      const sourceTool = agent.toolsByName.get(source.tool);
      if (!sourceTool) continue; // reported as unknown_tool on its own step
      const out = outputSchemaOf(sourceTool);
      if (!out) {
        issues.push({
          code: 'bad_reference',
          step: step.id,
          message: `${where} uses the output of "${source.id}", but ${source.tool} declares no output schema to check it against.`,
        });
        continue;
      }
      const found = schemasAt(out, site.ref.path);
      if (found.length === 0) {
        issues.push({
          code: 'bad_reference',
          step: step.id,
          message: `${where} refers to ${[source.id, ...site.ref.path].join('.')}, but ${source.tool}'s output has no such field.`,
        });
        continue;
      }
      const target = schemasAt(tool.jsonSchema, site.at.map(String));
      const sourceTypes = typesOf(oneOrAnyOf(found));
      const targetTypes = target.length ? typesOf(oneOrAnyOf(target)) : null;
      if (!typesFit(sourceTypes, targetTypes)) {
        issues.push({
          code: 'bad_reference',
          step: step.id,
          message: `${where} expects ${describeTypes(targetTypes)}, but ${[source.id, ...site.ref.path].join('.')} is ${describeTypes(sourceTypes)}.`,
        });
      }
    }
    // Literal arguments are checked now; the parts given by references are checked when they are known.
    const literal = substituteRefs(step.args, () => undefined);
    let parsed: ReturnType<z.ZodType['safeParse']> | null = null;
    try {
      parsed = (tool.input as z.ZodType).safeParse(literal);
    } catch (e) {
      // A schema's own transform or refinement threw: the step cannot run as planned.
      issues.push({
        code: 'invalid_args',
        step: step.id,
        message: `Step "${step.id}" has invalid arguments for ${tool.name}: the schema's own check threw (${describeError(e)}).`,
      });
    }
    if (parsed && !parsed.success) {
      const real = parsed.error.issues.filter((i) => !sites.some((s) => startsWith(i.path, s.at)));
      if (real.length) {
        const text = real
          .slice(0, 6)
          .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
          .join('; ');
        issues.push({ code: 'invalid_args', step: step.id, message: `Step "${step.id}" has invalid arguments for ${tool.name}: ${text}.` });
      }
    }
    const verdict = await decidePolicy(agent, tool, literal);
    if (verdict.decision === 'deny')
      issues.push({ code: 'denied', step: step.id, message: `Step "${step.id}" would be denied: ${tool.name} — ${verdict.reason} (${verdict.rule}).` });
    if (verdict.decision === 'approve') needsApproval.push(step.id);
    try {
      toolCostNano += usdToNano(toolCallCostUsd(tool, literal));
    } catch {
      // A price function that cannot price partial arguments is priced when the call is made.
    }
  }

  const { order, levels, cycle } = topologicalOrder(plan.steps);
  if (cycle) issues.push({ code: 'cycle', message: `The steps depend on each other in a circle: ${(cycle as string[]).join(' → ')}.` });

  if (!cycle) {
    const provided = new Map<string, Set<string>>();
    for (const id of order) {
      const step = mustExist(byId.get(id), 'the plan step');
      const facts = new Set<string>();
      for (const dep of dependenciesOf(step)) for (const f of provided.get(dep) ?? []) facts.add(f);
      const tool = agent.toolsByName.get(step.tool);
      for (const need of tool?.requires ?? []) {
        if (facts.has(need) || ctx.establishedFacts.has(need)) continue;
        const providers = [...agent.toolsByName.values()].filter((t) => t.provides?.includes(need)).map((t) => t.name);
        issues.push({
          code: 'unmet_requirement',
          step: id,
          message: `Step "${id}" (${step.tool}) requires "${need}", which no step it depends on provides${providers.length ? ` (${providers.join(', ')} would)` : ''}.`,
        });
      }
      for (const f of tool?.provides ?? []) facts.add(f);
      provided.set(id, facts);
    }
  }

  if (plan.steps.length > ctx.remainingToolCalls) {
    issues.push({
      code: 'too_many_steps',
      message: `The plan has ${plan.steps.length} steps; the run may make ${ctx.remainingToolCalls} more tool calls (maxToolCalls).`,
    });
  }
  const modelCalls = levels + 1; // one turn per level of the graph, then the answer
  if (modelCalls > ctx.remainingSteps) {
    issues.push({ code: 'too_many_steps', message: `The plan needs about ${modelCalls} more model calls; the run may make ${ctx.remainingSteps} (maxSteps).` });
  }
  const estimateNano = toolCostNano + modelCalls * ctx.modelCallNano;
  if (estimateNano > ctx.remainingNano) {
    issues.push({
      code: 'over_budget',
      message: `The plan is estimated at ${formatUsd(estimateNano)} (${formatUsd(toolCostNano)} of priced tools + ${modelCalls} model calls), but ${formatUsd(Math.max(0, ctx.remainingNano))} of the ceiling is left.`,
    });
  }
  return issues.length ? { ok: false, issues, estimateNano } : { ok: true, order, estimateNano, modelCalls, needsApproval };
}
