import { type ConversationOptions, type ResolvedConversationOptions, resolveConversation } from './conversation-options.ts';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { type AnyTool, governedTool } from './tool.ts';
import { type Tier, TIERS } from '../core/tiers.ts';
import type { ResolvedPrice } from '../model/pricing.ts';
import { type AgentModel, type ModelChoice, resolveModels } from './agent-models.ts';
import type { ModelPricing } from '../model/model-pricing.ts';
import {
  type DelegationLimits,
  type EscalationOptions,
  type PlanOptions,
  type ResolvedPlanOptions,
  resolveDelegation,
  resolveEscalation,
  resolveParallelToolCalls,
  resolvePlanOptions,
} from './agent-options.ts';
import { delegateTool } from './delegate.ts';
import { type GuardsConfig, type ResolvedGuards, resolveGuards } from './content-guard.ts';
import { PLAN_TOOL } from '../core/plan.ts';
import type { WardenModel } from '../core/ports/model.ts';
import {
  type CoreLimits,
  DEFAULT_BACKOFF,
  DEFAULT_LIMITS,
  DEFAULT_LOOP_DETECTION,
  type Limits,
  type LoopDetection,
  type RetryBackoff,
} from '../core/limits.ts';
import type { PolicyDecision } from '../core/tiers.ts';

/** Delegation tools by the agent each hands work to (the runtime starts a child run of it). */
const delegationTargets = new WeakMap<AnyTool, Agent>();

/** Each agent's delegates as declared, read without building its delegation tools (two agents may delegate to each other). */
const declaredDelegates = new WeakMap<Agent, () => readonly Agent[]>();

/**
 * The most a run of `agent` may do to data: the highest tier among its own tools and, through
 * delegation, its delegates' (cycles are walked once). A delegation tool takes this tier, so a
 * delegate that can write is vetted, approved and undone like any other write.
 *
 * @example
 * reachTier(writerAgent) // 'write' when one of its tools, or its delegates' tools, writes
 */
export function reachTier(agent: Agent, seen: Set<Agent> = new Set()): Tier {
  if (seen.has(agent)) return 'read';
  seen.add(agent);
  let tier: Tier = 'read';
  const raise = (t: Tier) => {
    if (TIERS.indexOf(t) > TIERS.indexOf(tier)) tier = t;
  };
  for (const tool of agent.tools) raise(tool.tier);
  for (const child of declaredDelegates.get(agent)?.() ?? []) raise(reachTier(child, seen));
  return tier;
}

/** A rule in the agent's policy. The strictest decision among all that match wins. */
export interface PolicyRule {
  name: string;
  /** Tool names this rule is about (all tools when omitted). */
  tools?: string[];
  tiers?: Tier[];
  /**
   * The rule applies when this says `true` (sync or async). One that throws, rejects, answers
   * anything but a boolean or takes longer than `policy.predicateTimeoutMs` fails closed: a deny or
   * approve rule then matches, an allow rule does not.
   */
  // biome-ignore lint/suspicious/noExplicitAny: one rule may cover several tools, so the predicate reads whichever tool's arguments it is handed
  when?: (args: any) => boolean | Promise<boolean>;
  decision: PolicyDecision;
  reason?: string;
}

export interface PolicyConfig {
  rules?: PolicyRule[];
  /** After a denial, let the model try something else (default) or stop the run with `denied`. */
  onDeny?: 'continue' | 'stop';
  /**
   * Escape hatch, named so it is seen in review: these `delete`-tier tools run without a person.
   * `warden audit` flags every entry as blocking.
   */
  dangerouslyAllowDeleteWithoutApproval?: string[];
  /** Tools whose compensation (undo) waits for a person. A delete-tier tool's always does. */
  compensationApproval?: string[];
  /** How long an `approval` predicate or a rule's `when` may take, in ms, before it fails closed. Default 5,000. */
  predicateTimeoutMs?: number;
  /**
   * How long a person has to decide an approval, in ms, unless the tool's `approval.timeoutMs`
   * says otherwise. Past it the approval expires (`onApprovalTimeout`). Default: no deadline.
   */
  approvalTimeoutMs?: number;
  /** What an expired approval becomes: `deny` (default) the call, or `escalate` to a person. Plans are always denied. */
  onApprovalTimeout?: 'deny' | 'escalate';
}

/** The plan-mode settings (`PlanOptions`), under the name `warden audit` first used. */
export type PlanSettings = PlanOptions;

export interface AgentConfig {
  name: string;
  instructions: string;
  /**
   * Any Vercel AI SDK language model, or `simulated.script(…)`. A list `[primary, fallback, …]`
   * falls back to the next model when one's breaker is open, its error is not retryable or its
   * retries are spent (docs/models.md); a fallback priced on its own is `{ model, pricing }`.
   */
  model: WardenModel | ModelChoice | readonly ModelChoice[];
  tools: AnyTool[];
  limits?: Partial<Limits>;
  policy?: PolicyConfig;
  loopDetection?: Partial<LoopDetection>;
  backoff?: Partial<RetryBackoff>;
  /**
   * Price of the (primary) model, USD per million tokens. Wins over every other source; needed when neither
   * the model (the simulated one carries its own) nor `@pydantic/genai-prices` knows it.
   */
  pricing?: ModelPricing;
  description?: string;
  /** Plan mode: the model proposes the whole plan first, and it is verified before anything runs. */
  plan?: boolean | PlanOptions;
  /** Steps scored below the threshold wait for a person. */
  escalation?: EscalationOptions;
  /**
   * Agents this one may hand tasks to. Each appears to the model as a `delegate_<name>` tool; a
   * function lets two agent modules refer to each other.
   */
  delegates?: Agent[] | (() => Agent[]);
  delegation?: Partial<DelegationLimits>;
  /** Tool calls of one model turn that run at the same time. Default 4. */
  parallelToolCalls?: number;
  /**
   * Shadow mode by default for this agent's runs: read tools run, write and delete calls are
   * recorded with the policy decision they would have met, and not made.
   */
  shadow?: boolean;
  /** When a run fails or is stopped after it has written, reverse what it did (saga style). */
  compensateOnFailure?: boolean;
  /**
   * Content guards on the request, the final answer and each tool's result: allow, block
   * (`guard_blocked`), redact (only the redacted value reaches the model and the log) or escalate.
   */
  guards?: GuardsConfig;
  /**
   * The shape of the final answer. The model's answer must be JSON that this schema accepts; one
   * that is not goes back to the model with the errors (at most `limits.maxOutputRepairs` times,
   * each a model step under the same ceiling), then the run stops with `invalid_output`. The
   * result's `output` is the parsed value, typed from the schema. Providers that support native
   * structured output get its JSON Schema.
   */
  output?: z.ZodType;
  /**
   * How a turn of a conversation (`warden.run(agent, input, { conversation })`) sees the earlier
   * turns: the history policy and whether tool calls are part of it. The conversation's own
   * ceilings are `limits.maxConversationCostUsd` and `limits.maxConversationTurns`.
   */
  conversation?: ConversationOptions;
}

/** The type of a run's `output`: the agent's `output` schema's, or `string` when it has none. */
export interface OutputOf<T> {
  /** Type-level only: never set at run time. */
  readonly '~output'?: T;
}

export interface Agent {
  readonly kind: 'warden.agent';
  readonly name: string;
  readonly instructions: string;
  readonly description?: string;
  /** The primary model (`models[0].model`). */
  readonly model: WardenModel;
  /** The primary and its fallbacks, in the order they are tried, each with its price. */
  readonly models: readonly AgentModel[];
  readonly tools: readonly AnyTool[];
  /** The agent's tools and its delegation tools, by name. */
  readonly toolsByName: ReadonlyMap<string, AnyTool>;
  /** Agents this one may delegate to (resolved on first use). */
  readonly delegates: readonly Agent[];
  readonly limits: Readonly<Limits>;
  /** Names of the limits left at their defaults (the audit pushes back on these). */
  readonly defaultedLimits: readonly (keyof CoreLimits)[];
  readonly policy: Readonly<Required<Pick<PolicyConfig, 'onDeny'>> & PolicyConfig>;
  readonly loopDetection: Readonly<LoopDetection>;
  readonly backoff: Readonly<RetryBackoff>;
  readonly pricing?: ModelPricing;
  /** The primary's price the ceiling is enforced with, resolved when the agent is defined, and where it came from (`models[0].price`). */
  readonly price: ResolvedPrice;
  readonly plan: ResolvedPlanOptions | null;
  readonly escalation: EscalationOptions | null;
  /** The final answer's schema and its JSON Schema, when the agent declares `output`. */
  readonly output: { readonly schema: z.ZodType; readonly jsonSchema: Record<string, unknown> } | null;
  readonly delegation: DelegationLimits;
  readonly parallelToolCalls: number;
  readonly shadow: boolean;
  readonly compensateOnFailure: boolean;
  readonly guards: ResolvedGuards;
  readonly conversation: ResolvedConversationOptions;
}

const AGENT_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/;

/** A duration setting, when given: a positive, finite number of ms. */
function optionalPositiveMs(where: string, name: string, value: unknown): void {
  if (value === undefined || (typeof value === 'number' && value > 0 && Number.isFinite(value))) return;
  throw new WardenError('INVALID_CONFIG', `${where}: ${name} must be a positive number of ms, got ${JSON.stringify(value)}`);
}

function positive(where: string, key: string, value: unknown, integer: boolean): void {
  const ok = typeof value === 'number' && Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where}: limits.${key} must be a positive ${integer ? 'integer' : 'number'} (limits are never unlimited), got ${JSON.stringify(value)}`,
    );
  }
}

/**
 * Declares an agent: its model, tools, limits and policy. An agent file's default export.
 *
 * @example
 * export default defineAgent({
 *   name: 'support-desk', instructions: 'Help customers with orders.',
 *   model: simulated.script([{ text: 'Done.' }]), tools: [lookupOrder],
 *   limits: { maxSteps: 8, maxCostUsd: 0.05 },
 * });
 */
export function defineAgent<O extends z.ZodType | undefined = undefined>(
  config: AgentConfig & { output?: O },
): Agent & OutputOf<O extends z.ZodType ? z.infer<O> : string> {
  if (!config || typeof config !== 'object') {
    throw new WardenError('INVALID_CONFIG', 'defineAgent expects an object with name, instructions, model, tools and limits');
  }
  const where = `defineAgent(${JSON.stringify(config.name)})`;
  if (typeof config.name !== 'string' || !AGENT_NAME.test(config.name)) {
    throw new WardenError('INVALID_CONFIG', `${where}: name must match ${AGENT_NAME}, got ${JSON.stringify(config.name)}`);
  }
  if (typeof config.instructions !== 'string') {
    throw new WardenError('INVALID_CONFIG', `${where}: instructions must be a string`);
  }
  if (!Array.isArray(config.tools)) {
    throw new WardenError('INVALID_CONFIG', `${where}: tools must be an array of defineTool(…) results`);
  }
  // Resolved now, not at the first run: an agent whose spend cannot be bounded is not an agent.
  const models = resolveModels(where, config.model, config.pricing);
  const primary = models[0] as AgentModel;
  const toolsByName = new Map<string, AnyTool>();
  const tools: AnyTool[] = [];
  for (const given of config.tools) {
    // Checked here whatever made the object: a tier is exactly read, write or delete.
    const tool = governedTool(where, given);
    tools.push(tool);
    if (toolsByName.has(tool.name) || tool.name === PLAN_TOOL) {
      throw new WardenError('INVALID_CONFIG', `${where}: two tools are named "${tool.name}"`);
    }
    toolsByName.set(tool.name, tool);
  }

  const given = config.limits ?? {};
  const optionalLimits = ['maxOutputRepairs', 'maxConversationCostUsd', 'maxConversationTurns'];
  for (const key of Object.keys(given)) {
    if (!(key in DEFAULT_LIMITS) && !optionalLimits.includes(key)) {
      throw new WardenError('INVALID_CONFIG', `${where}: unknown limit "${key}"; known: ${[...Object.keys(DEFAULT_LIMITS), ...optionalLimits].join(', ')}`);
    }
  }
  const limits: Limits = { ...DEFAULT_LIMITS };
  if (given.maxOutputRepairs !== undefined) {
    if (!Number.isInteger(given.maxOutputRepairs) || given.maxOutputRepairs < 0)
      throw new WardenError('INVALID_CONFIG', `${where}: limits.maxOutputRepairs must be an integer ≥ 0, got ${JSON.stringify(given.maxOutputRepairs)}`);
    limits.maxOutputRepairs = given.maxOutputRepairs;
  }
  if (given.maxConversationCostUsd !== undefined) {
    positive(where, 'maxConversationCostUsd', given.maxConversationCostUsd, false);
    limits.maxConversationCostUsd = given.maxConversationCostUsd;
  }
  if (given.maxConversationTurns !== undefined) {
    positive(where, 'maxConversationTurns', given.maxConversationTurns, true);
    limits.maxConversationTurns = given.maxConversationTurns;
  }
  const defaultedLimits: (keyof CoreLimits)[] = [];
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof CoreLimits)[]) {
    const value = given[key];
    if (value === undefined) {
      defaultedLimits.push(key);
      continue;
    }
    positive(where, key, value, key !== 'maxCostUsd');
    limits[key] = value;
  }

  const policy = config.policy ?? {};
  if (policy.onDeny !== undefined && policy.onDeny !== 'continue' && policy.onDeny !== 'stop') {
    throw new WardenError('INVALID_CONFIG', `${where}: policy.onDeny must be "continue" or "stop", got ${JSON.stringify(policy.onDeny)}`);
  }
  optionalPositiveMs(where, 'policy.predicateTimeoutMs', policy.predicateTimeoutMs);
  optionalPositiveMs(where, 'policy.approvalTimeoutMs', policy.approvalTimeoutMs);
  if (policy.onApprovalTimeout !== undefined && policy.onApprovalTimeout !== 'deny' && policy.onApprovalTimeout !== 'escalate') {
    throw new WardenError('INVALID_CONFIG', `${where}: policy.onApprovalTimeout must be "deny" or "escalate", got ${JSON.stringify(policy.onApprovalTimeout)}`);
  }
  for (const rule of policy.rules ?? []) {
    if (!rule || typeof rule.name !== 'string' || !['allow', 'approve', 'deny'].includes(rule.decision)) {
      throw new WardenError('INVALID_CONFIG', `${where}: each policy rule needs a name and a decision of allow, approve or deny`);
    }
    if (rule.when !== undefined && typeof rule.when !== 'function') {
      throw new WardenError('INVALID_CONFIG', `${where}: policy rule "${rule.name}": when must be a function (args) => boolean, got ${typeof rule.when}`);
    }
    for (const name of rule.tools ?? []) {
      if (!toolsByName.has(name) && !name.startsWith('delegate_')) {
        throw new WardenError('INVALID_CONFIG', `${where}: policy rule "${rule.name}" names unknown tool "${name}"`);
      }
    }
  }
  for (const name of policy.dangerouslyAllowDeleteWithoutApproval ?? []) {
    if (toolsByName.get(name)?.tier !== 'delete') {
      throw new WardenError('INVALID_CONFIG', `${where}: dangerouslyAllowDeleteWithoutApproval names "${name}", which is not a delete-tier tool of this agent`);
    }
  }

  const loopDetection = { ...DEFAULT_LOOP_DETECTION, ...config.loopDetection };
  if (!(Number.isInteger(loopDetection.repeats) && loopDetection.repeats >= 2)) {
    throw new WardenError('INVALID_CONFIG', `${where}: loopDetection.repeats must be an integer >= 2, got ${loopDetection.repeats}`);
  }
  if (!(Number.isInteger(loopDetection.noProgressSteps) && loopDetection.noProgressSteps >= 1)) {
    throw new WardenError('INVALID_CONFIG', `${where}: loopDetection.noProgressSteps must be a positive integer`);
  }
  const backoff = { ...DEFAULT_BACKOFF, ...config.backoff };
  if (!(backoff.baseMs >= 0 && backoff.maxMs >= backoff.baseMs)) {
    throw new WardenError('INVALID_CONFIG', `${where}: backoff needs 0 <= baseMs <= maxMs`);
  }
  if (backoff.maxRetryAfterMs !== undefined && !(backoff.maxRetryAfterMs >= 0)) {
    throw new WardenError('INVALID_CONFIG', `${where}: backoff.maxRetryAfterMs must be a non-negative number of ms, got ${backoff.maxRetryAfterMs}`);
  }

  const plan = resolvePlanOptions(where, config.plan);
  const escalation = resolveEscalation(where, config.escalation);
  const delegation = resolveDelegation(where, config.delegation);
  const parallelToolCalls = resolveParallelToolCalls(where, config.parallelToolCalls);
  const guards = resolveGuards(where, config.guards);
  if (config.delegates !== undefined && !Array.isArray(config.delegates) && typeof config.delegates !== 'function') {
    throw new WardenError('INVALID_CONFIG', `${where}: delegates must be an array of agents or a function returning one`);
  }
  let resolved: { delegates: Agent[]; toolsByName: Map<string, AnyTool> } | null = null;
  const declared = () => (typeof config.delegates === 'function' ? config.delegates() : (config.delegates ?? []));
  // Delegates are resolved on first use, so two agents may delegate to each other.
  const resolveDelegates = () => {
    if (resolved) return resolved;
    const list = declared();
    const all = new Map(toolsByName);
    for (const child of list) {
      if (child?.kind !== 'warden.agent') throw new WardenError('INVALID_CONFIG', `${where}: every delegate must come from defineAgent(…)`);
      const tool = delegateTool(child, reachTier(child));
      delegationTargets.set(tool, child);
      if (all.has(tool.name)) throw new WardenError('INVALID_CONFIG', `${where}: delegate "${child.name}" clashes with the tool "${tool.name}"`);
      all.set(tool.name, tool);
    }
    resolved = { delegates: [...list], toolsByName: all };
    return resolved;
  };

  const agent: Agent = Object.freeze({
    kind: 'warden.agent' as const,
    get toolsByName() {
      return resolveDelegates().toolsByName;
    },
    get delegates() {
      return resolveDelegates().delegates;
    },
    plan,
    escalation,
    delegation,
    parallelToolCalls,
    shadow: config.shadow === true,
    compensateOnFailure: config.compensateOnFailure === true,
    guards,
    conversation: resolveConversation(where, config.conversation),
    output: outputSchema(where, config.output),
    name: config.name,
    instructions: config.instructions,
    description: config.description,
    model: primary.model,
    models,
    tools: Object.freeze(tools),
    limits: Object.freeze(limits),
    defaultedLimits: Object.freeze(defaultedLimits),
    policy: Object.freeze({ ...policy, onDeny: policy.onDeny ?? 'continue' }),
    loopDetection: Object.freeze(loopDetection),
    backoff: Object.freeze(backoff),
    pricing: config.pricing,
    price: primary.price,
  });
  declaredDelegates.set(agent, declared);
  return agent;
}

/** The agent's `output` schema with its JSON Schema (for providers with native structured output). */
function outputSchema(where: string, schema: unknown): Agent['output'] {
  if (schema === undefined) return null;
  if (!(schema instanceof z.ZodType)) throw new WardenError('INVALID_CONFIG', `${where}: output must be a zod schema, e.g. z.object({ answer: z.string() })`);
  try {
    const jsonSchema = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
    delete jsonSchema.$schema;
    return Object.freeze({ schema, jsonSchema: Object.freeze(jsonSchema) });
  } catch (cause) {
    throw new WardenError('INVALID_CONFIG', `${where}: output schema cannot be expressed as JSON Schema`, { cause });
  }
}

/** The agent a delegation tool hands work to, or `undefined` for an ordinary tool. */
export function delegateTarget(tool: AnyTool | undefined): Agent | undefined {
  return tool ? delegationTargets.get(tool) : undefined;
}
