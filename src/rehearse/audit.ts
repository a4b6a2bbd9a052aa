import type { Agent } from '../agent/agent.ts';
import { type CoreLimits, DEFAULT_LIMITS, type Limits } from '../core/limits.ts';
import { type AnyTool, isReversible } from '../agent/tool.ts';
import type { Tier } from '../core/tiers.ts';
import { formatUsd, nanoToUsd, tokensToNano, usdToNano } from '../core/money.ts';
import type { PriceSource } from '../model/pricing.ts';
import type { ModelPricing } from '../model/model-pricing.ts';

/**
 * `warden audit`: the four sign-off questions answered from the agent's declarations alone (no
 * run needed), and the list of what a reviewer should push back on.
 *
 * Blocking items (the audit exits non-zero while any remains):
 * - `delete_without_approval`: a delete-tier tool listed in `dangerouslyAllowDeleteWithoutApproval`;
 * - `write_not_idempotent_or_reversible`: a write tool a retry could apply twice and nothing can undo;
 * - `irreversible_without_approval`: a write or delete nothing can undo that runs with no person
 *   asked (not blocking for an agent that starts in shadow mode);
 * - `no_explicit_ceiling`: `maxCostUsd` left at the default;
 * - `no_plan_verification`: an agent with write or delete tools that does not run in plan mode;
 * - `no_escalation_threshold`: no confidence threshold sends doubtful steps to a person.
 * Advisory (reported, not blocking): `limits_at_defaults`, the other limits left at their defaults,
 * which are safe but not chosen for this agent.
 */

export type FindingId =
  | 'delete_without_approval'
  | 'write_not_idempotent_or_reversible'
  | 'irreversible_without_approval'
  | 'no_explicit_ceiling'
  | 'limits_at_defaults'
  | 'no_plan_verification'
  | 'no_escalation_threshold';

export interface AuditFinding {
  id: FindingId;
  blocking: boolean;
  /** The tool or setting it is about. */
  subject: string;
  message: string;
  fix: string;
}

export interface ToolEvidence {
  name: string;
  tier: Tier;
  /** Who decides before it runs, in words: `a person, always (delete tier)`, `a person when refund.approval says so`, `nobody`, … */
  approval: string;
  idempotent: boolean;
  /** A compensation (`compensate`) undoes it. */
  reversible: boolean;
  lockKey: boolean;
  costUsd: number | 'per call' | null;
  timeoutMs: number;
  retries: number;
  requires: string[];
  provides: string[];
  /** For a tool imported from an MCP server: the server, where its tier came from, and whether it reaches the open world. */
  origin: string | null;
}

export interface AuditReport {
  agent: string;
  ready: boolean;
  stopConditions: {
    limits: { name: keyof Limits; value: number; isDefault: boolean }[];
    loopDetection: { repeats: number; noProgressSteps: number };
    planMode: boolean;
    escalationThreshold: number | null;
  };
  permissions: {
    tools: ToolEvidence[];
    rules: { name: string; decision: string; tools: string[] | 'all'; tiers: Tier[] | 'all' }[];
    onDeny: string;
    /** Content guards by stage, by name, in the order they run. */
    guards: { input: string[]; output: string[]; toolResult: string[] };
  };
  observability: { decisionTrace: string; openTelemetry: string };
  cost: {
    ceilingUsd: number;
    explicit: boolean;
    worstCaseUsd: number;
    limitsAloneAllowUsd: number;
    detail: string;
    /** The model's price (USD per million tokens) the ceiling is enforced with, where it came from, and that in words. */
    price: { pricing: ModelPricing; source: PriceSource; from: string };
    /** The fallback models (`model: [primary, fallback, …]`), in the order they are tried, each with the price its calls are held to. */
    fallbacks: { model: string; pricing: ModelPricing; source: PriceSource; from: string }[];
  };
  /** Write/delete tools with a compensation, and those without. */
  reversibleTools: string[];
  irreversibleTools: string[];
  pushBack: AuditFinding[];
}

function approvalWords(agent: Agent, tool: AnyTool): string {
  const rules = (agent.policy.rules ?? []).filter(
    (r) => r.decision !== 'allow' && (!r.tools || r.tools.includes(tool.name)) && (!r.tiers || r.tiers.includes(tool.tier)),
  );
  const byRule = rules.map((r) => `rule ${r.name} (${r.decision})`);
  let base: string;
  if (tool.tier === 'delete') {
    base = agent.policy.dangerouslyAllowDeleteWithoutApproval?.includes(tool.name)
      ? 'NOBODY: approval waived by dangerouslyAllowDeleteWithoutApproval'
      : 'a person, always (delete tier)';
  } else if (tool.approval === true) base = 'a person, always';
  else if (typeof tool.approval === 'function') base = `a person when ${tool.name}.approval(args) says so`;
  else base = 'nobody (runs on its tier)';
  return [base, ...byRule].join('; ');
}

function toolEvidence(agent: Agent, tool: AnyTool): ToolEvidence {
  return {
    name: tool.name,
    tier: tool.tier,
    approval: approvalWords(agent, tool),
    idempotent: tool.idempotent,
    reversible: isReversible(tool),
    lockKey: typeof tool.lockKey === 'function',
    costUsd: tool.costUsd === undefined ? null : typeof tool.costUsd === 'number' ? tool.costUsd : 'per call',
    timeoutMs: tool.timeoutMs,
    retries: tool.retries,
    requires: [...(tool.requires ?? [])],
    provides: [...(tool.provides ?? [])],
    origin: originWords(tool.origin),
  };
}

function originWords(origin: AnyTool['origin']): string | null {
  if (!origin) return null;
  if (origin.kind !== 'mcp') {
    return origin.kind === 'ai-sdk' ? 'an AI SDK tool; tier declared in fromAiSdkTools' : 'an OpenAI Agents SDK tool; tier declared in fromOpenAIAgentsTools';
  }
  return `MCP server ${origin.server} (${origin.trusted ? 'trusted' : 'untrusted'}); tier from ${TIER_SOURCES[origin.tierSource] ?? origin.tierSource}${origin.openWorld ? '; reaches the open world (openWorldHint)' : ''}`;
}

const TIER_SOURCES: Record<string, string> = {
  override: 'an explicit override',
  readOnlyHint: 'its readOnlyHint annotation',
  destructiveHint: 'its destructiveHint annotation',
  default: "the MCP specification's default for a tool with no annotations (destructive: delete)",
  untrusted: "distrust: no hint widens an untrusted server's tools, so they are delete",
};

/** Where the model's price came from, in words. */
export function priceSourceWords(source: PriceSource): string {
  switch (source.kind) {
    case 'override':
      return "the agent's own `pricing` (an override)";
    case 'model':
      return 'the model itself (a simulated model carries its price)';
    case 'genai-prices':
      return (
        `@pydantic/genai-prices ${source.version}: provider "${source.provider}", model "${source.model}"` +
        (source.tiered ? ' (tiered by context length: each call is charged the tier its input reaches, and reserved at the tier its input could reach)' : '') +
        (source.variable ? ' (its price changes with the time of day: the dearest rate is used)' : '')
      );
  }
}

/** What the limits alone would let one request spend, without the ceiling: every model call at its largest completion, every tool call priced. */
function limitsAloneAllowNano(agent: Agent): number {
  const { maxSteps, maxRetries, maxToolCalls, maxOutputTokens } = agent.limits;
  // Every call at the dearest model of the list: any step may fall back to it.
  const dearest = (rate: (p: ModelPricing) => number) => Math.max(...agent.models.map((m) => rate(m.price.pricing)));
  const pricing = { inputPerMTok: dearest((p) => p.inputPerMTok), outputPerMTok: dearest((p) => p.outputPerMTok) };
  // A step falls back without spending a retry: each fallback is one more call.
  const modelCalls = (maxSteps + maxRetries) * agent.models.length;
  const priciestTool = Math.max(0, ...agent.tools.map((t) => (typeof t.costUsd === 'number' ? t.costUsd : 0)));
  const promptBytes = agent.instructions.length + JSON.stringify(agent.tools.map((t) => [t.name, t.description, t.jsonSchema])).length;
  return (
    modelCalls * (tokensToNano(maxOutputTokens, pricing.outputPerMTok) + tokensToNano(promptBytes, pricing.inputPerMTok)) +
    maxToolCalls * usdToNano(priciestTool)
  );
}

/**
 * Audits an agent from its declarations.
 *
 * @example
 * const report = auditAgent(agent);
 * if (!report.ready) for (const f of report.pushBack.filter((x) => x.blocking)) console.log(f.message);
 */
export function auditAgent(agent: Agent): AuditReport {
  const tools = agent.tools.map((t) => toolEvidence(agent, t));
  const defaulted = new Set(agent.defaultedLimits);
  const pushBack: AuditFinding[] = [];
  const add = (f: AuditFinding) => pushBack.push(f);

  for (const t of tools) {
    if (t.tier === 'delete' && agent.policy.dangerouslyAllowDeleteWithoutApproval?.includes(t.name)) {
      add({
        id: 'delete_without_approval',
        blocking: true,
        subject: t.name,
        message: `${t.name} is a delete-tier tool that runs without a person's approval.`,
        fix: `Remove "${t.name}" from policy.dangerouslyAllowDeleteWithoutApproval.`,
      });
    }
    const runsUnasked =
      (t.tier === 'write' && !agent.toolsByName.get(t.name)?.approval) ||
      (t.tier === 'delete' && agent.policy.dangerouslyAllowDeleteWithoutApproval?.includes(t.name));
    if (t.tier !== 'read' && !t.reversible && runsUnasked && !agent.shadow) {
      add({
        id: 'irreversible_without_approval',
        blocking: true,
        subject: t.name,
        message: `${t.name} takes an action nothing can undo, with no person asked first: a first deployment could do damage that stays.`,
        fix: `Give it compensate(args, result, ctx), ask for approval, or start the agent in shadow mode (shadow: true).`,
      });
    }
    if (t.tier === 'write' && !t.idempotent && !t.reversible) {
      add({
        id: 'write_not_idempotent_or_reversible',
        blocking: true,
        subject: t.name,
        message: `${t.name} writes, is not idempotent and cannot be undone: a retry after an unknown outcome could apply it twice.`,
        fix: `Make it idempotent (pass ctx.idempotencyKey downstream and set idempotent: true) or give it a compensation.`,
      });
    }
  }
  if (defaulted.has('maxCostUsd')) {
    add({
      id: 'no_explicit_ceiling',
      blocking: true,
      subject: 'limits.maxCostUsd',
      message: `No explicit cost ceiling: every request may spend up to the default ${formatUsd(usdToNano(DEFAULT_LIMITS.maxCostUsd))}.`,
      fix: 'Set limits.maxCostUsd to what one request may cost, retries included.',
    });
  }
  const others = [...defaulted].filter((k) => k !== 'maxCostUsd');
  if (others.length > 0) {
    add({
      id: 'limits_at_defaults',
      blocking: false,
      subject: others.join(', '),
      message: `Limits left at their defaults: ${others.map((k) => `${k}=${DEFAULT_LIMITS[k]}`).join(', ')}.`,
      fix: 'Choose each limit for this agent (the defaults are safe, not tailored).',
    });
  }
  const acts = tools.some((t) => t.tier !== 'read');
  if (acts && !agent.plan) {
    add({
      id: 'no_plan_verification',
      blocking: true,
      subject: 'plan',
      message: 'The agent has write or delete tools but does not run in plan mode: no plan is verified before it acts.',
      fix: 'Set plan: true (or plan options) on defineAgent.',
    });
  }
  if (!agent.escalation) {
    add({
      id: 'no_escalation_threshold',
      blocking: true,
      subject: 'escalation',
      message: 'No escalation threshold: steps the model is unsure of run like any other.',
      fix: 'Set escalation: { threshold } (e.g. 0.6) on defineAgent.',
    });
  }

  const ceilingNano = usdToNano(agent.limits.maxCostUsd);
  const aloneNano = limitsAloneAllowNano(agent);
  const otel = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    agent: agent.name,
    ready: !pushBack.some((f) => f.blocking),
    stopConditions: {
      limits: (Object.keys(DEFAULT_LIMITS) as (keyof CoreLimits)[]).map((name) => ({ name, value: agent.limits[name], isDefault: defaulted.has(name) })),
      loopDetection: { ...agent.loopDetection },
      planMode: Boolean(agent.plan),
      escalationThreshold: agent.escalation?.threshold ?? null,
    },
    permissions: {
      tools,
      rules: (agent.policy.rules ?? []).map((r) => ({ name: r.name, decision: r.decision, tools: r.tools ?? 'all', tiers: r.tiers ?? 'all' })),
      onDeny: agent.policy.onDeny,
      guards: {
        input: agent.guards.input.map((g) => g.name),
        output: agent.guards.output.map((g) => g.name),
        toolResult: agent.guards.toolResult.map((g) => g.name),
      },
    },
    observability: {
      decisionTrace:
        "always on: every step is an event in the run's append-only log (model proposal, rationale, policy rule, approval, budget before and after)",
      openTelemetry: otel ? `spans exported to ${otel}` : 'not configured (set OTEL_EXPORTER_OTLP_ENDPOINT to export spans)',
    },
    cost: {
      ceilingUsd: agent.limits.maxCostUsd,
      explicit: !defaulted.has('maxCostUsd'),
      worstCaseUsd: agent.limits.maxCostUsd,
      limitsAloneAllowUsd: nanoToUsd(aloneNano),
      detail:
        `The runtime reserves each call's worst case before making it, so no request spends more than ${formatUsd(ceilingNano)}, retries included. ` +
        `Without the ceiling the other limits would allow about ${formatUsd(aloneNano)} (${(agent.limits.maxSteps + agent.limits.maxRetries) * agent.models.length} model calls at ${agent.limits.maxOutputTokens} output tokens${agent.models.length > 1 ? ", each step on every model of the list, at the dearest one's price" : ''}, ${agent.limits.maxToolCalls} tool calls): ` +
        (aloneNano > ceilingNano ? 'the ceiling is the binding limit.' : 'the step and token limits bind before the ceiling.'),
      price: { pricing: { ...agent.price.pricing }, source: { ...agent.price.source }, from: priceSourceWords(agent.price.source) },
      fallbacks: agent.models
        .slice(1)
        .map((m) => ({ model: m.key, pricing: { ...m.price.pricing }, source: { ...m.price.source }, from: priceSourceWords(m.price.source) })),
    },
    reversibleTools: tools.filter((t) => t.tier !== 'read' && t.reversible).map((t) => t.name),
    irreversibleTools: tools.filter((t) => t.tier !== 'read' && !t.reversible).map((t) => t.name),
    pushBack,
  };
}
