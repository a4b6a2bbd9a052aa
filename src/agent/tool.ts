import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { type Tier, TIERS } from '../core/tiers.ts';

/** Least-privilege tiers. `delete` always waits for a person unless loudly opted out. */

/** What a tool's `execute` receives besides its arguments. */
export interface ToolContext {
  runId: string;
  /** The model's call id, unique within the run. */
  callId: string;
  /** Stable for this call across retries and resumes: pass it to the downstream API. */
  idempotencyKey: string;
  /** Aborted on timeout, cancel, kill switch or deadline. */
  signal: AbortSignal;
  /** 1 on the first try, 2 on the first retry, … */
  attempt: number;
  agent: string;
  tenant: string;
}

export interface ToolConfig<I extends z.ZodType = z.ZodType, O = unknown> {
  name: string;
  description: string;
  tier: Tier;
  /** Arguments schema. The model sees its JSON Schema; arguments that fail it never run. */
  input: I;
  /** Declared output schema: plan verification types references against it. */
  output?: z.ZodType<O>;
  execute(args: z.infer<I>, ctx: ToolContext): Promise<O> | O;
  /** Safe to retry with the same idempotency key when the outcome is unknown. Default false. */
  idempotent?: boolean;
  /**
   * Ask a person first: always, never, or when the predicate says so (sync or async). A predicate
   * that throws, rejects, answers anything but a boolean or takes too long asks a person.
   * `delete` always asks. The object form adds a deadline: `{ when, timeoutMs, onTimeout }`.
   */
  approval?: ApprovalWhen<z.infer<I>> | ApprovalOptions<z.infer<I>>;
  /** Retries after a failure (each one also draws from the run's `maxRetries`). Default 2. */
  retries?: number;
  /** Per-attempt timeout. Default 30 s. */
  timeoutMs?: number;
  /** Price of one call in USD, reserved against the ceiling before the call. */
  costUsd?: number | ((args: z.infer<I>) => number);
  /** Calls with the same key never overlap, across runs and processes. */
  lockKey?: (args: z.infer<I>) => string;
  /** Facts this tool establishes (for plan checks), e.g. `['order']`. */
  provides?: string[];
  /** Facts that must be established by an earlier step before this tool may run. */
  requires?: string[];
  /**
   * The action that reverses a call of this tool (a refund's reversal, a restored record). A
   * write or delete tool with one is *reversible*: `warden undo` and `compensateOnFailure` use it.
   * It gets its own idempotency key in `ctx` and may be retried, so make it idempotent.
   */
  compensate?(args: z.infer<I>, result: O, ctx: ToolContext): unknown;
  /**
   * In shadow mode a write or delete call is recorded, not made; the model gets this stand-in
   * result instead (default: a plain note that the action was only recorded).
   */
  shadowResult?(args: z.infer<I>): unknown;
  /**
   * Where the tool comes from when it was imported (an MCP server, and how its tier was set) or
   * adapted (an AI SDK or OpenAI Agents tool, whose tier the user declared).
   */
  origin?:
    | { kind: 'mcp'; server: string; tierSource: string; trusted: boolean; openWorld: boolean | null }
    | { kind: 'ai-sdk' | 'openai-agents'; server?: undefined; tierSource?: undefined; trusted?: undefined; openWorld?: undefined };
}

/** When a call asks a person: always, never, or when the predicate says so. */
export type ApprovalWhen<A> = boolean | ((args: A) => boolean | Promise<boolean>);

/** What an approval nobody decided in time becomes: the call denied, or an escalation to a person. */
export type ApprovalTimeoutOutcome = 'deny' | 'escalate';

/** A tool's approval with a deadline. */
export interface ApprovalOptions<A> {
  /** When to ask; default `true` (always). */
  when?: ApprovalWhen<A>;
  /**
   * How long a person has to decide, in ms. Past it the approval expires with `onTimeout` and can
   * no longer be approved. Default: the agent's `policy.approvalTimeoutMs`, else no deadline.
   */
  timeoutMs?: number;
  /** Default: the agent's `policy.onApprovalTimeout`, else `'deny'`. */
  onTimeout?: ApprovalTimeoutOutcome;
}

/** A tool after `defineTool`: validated, frozen, with its JSON Schema computed once. */
export interface Tool<I extends z.ZodType = z.ZodType, O = unknown> extends Readonly<Omit<ToolConfig<I, O>, 'approval'>> {
  readonly kind: 'warden.tool';
  /** When a call asks a person (the object form's `when`, defaulting to `true`). */
  readonly approval?: ApprovalWhen<z.infer<I>>;
  /** The object form's deadline settings, when it gave any. */
  readonly approvalDeadline?: Readonly<{ timeoutMs?: number; onTimeout?: ApprovalTimeoutOutcome }>;
  readonly jsonSchema: Record<string, unknown>;
  readonly idempotent: boolean;
  readonly retries: number;
  readonly timeoutMs: number;
}

/** Anything with a name and a tier is governed the same way, whatever its input type. */
// biome-ignore lint/suspicious/noExplicitAny: a tool collection is heterogeneous by nature
export type AnyTool = Tool<any, any>;

const TOOL_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;

export const TOOL_DEFAULTS = { retries: 2, timeoutMs: 30_000 } as const;

/** Tools made by `defineTool` (or checked by `governedTool`): validated and frozen, taken as they are. */
const checked = new WeakSet<object>();

function fail(where: string, what: string): never {
  throw new WardenError('INVALID_CONFIG', `${where}: ${what}`);
}

function optionalFunction(where: string, config: Record<string, unknown>, key: string, shape: string): void {
  if (config[key] !== undefined && typeof config[key] !== 'function') fail(where, `${key} must be a function ${shape}, got ${typeof config[key]}`);
}

function stringList(where: string, config: Record<string, unknown>, key: string): void {
  const v = config[key];
  if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) fail(where, `${key} must be a list of fact names (strings)`);
}

/** Validates a tool declaration and freezes it; `where` names the caller in error messages. */
function buildTool(where: string, config: Record<string, unknown>): AnyTool {
  if (typeof config.name !== 'string' || !TOOL_NAME.test(config.name)) {
    fail(where, `name must match ${TOOL_NAME} (letters, digits, _ and -, at most 64), got ${safeJson(config.name)}`);
  }
  if (typeof config.tier !== 'string' || !TIERS.includes(config.tier as Tier)) {
    fail(where, `tier must be "read", "write" or "delete", got ${safeJson(config.tier)}`);
  }
  if (!(config.input instanceof z.ZodType)) fail(where, 'input must be a zod schema, e.g. z.object({ id: z.string() })');
  if (config.output !== undefined && !(config.output instanceof z.ZodType)) fail(where, 'output must be a zod schema when given');
  if (typeof config.execute !== 'function') fail(where, 'execute must be a function');
  const approval = approvalSettings(where, config.approval, config.approvalDeadline);
  if (config.idempotent !== undefined && typeof config.idempotent !== 'boolean')
    fail(where, `idempotent must be true or false, got ${safeJson(config.idempotent)}`);
  const retries = config.retries ?? TOOL_DEFAULTS.retries;
  if (!Number.isInteger(retries) || (retries as number) < 0) fail(where, `retries must be a non-negative integer, got ${safeJson(retries)}`);
  const timeoutMs = config.timeoutMs ?? TOOL_DEFAULTS.timeoutMs;
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0)) fail(where, `timeoutMs must be positive, got ${safeJson(timeoutMs)}`);
  optionalFunction(where, config, 'compensate', '(args, result, ctx) that reverses the call');
  if (config.compensate && config.tier === 'read') fail(where, 'a read-tier tool changes nothing, so it has nothing to compensate');
  if (config.costUsd !== undefined && typeof config.costUsd !== 'function' && !isPrice(config.costUsd)) {
    fail(where, `costUsd must be a finite number of USD >= 0, or a function (args) => number, got ${describeCost(config.costUsd)}`);
  }
  optionalFunction(where, config, 'lockKey', '(args) => string');
  optionalFunction(where, config, 'shadowResult', '(args) => stand-in result');
  stringList(where, config, 'provides');
  stringList(where, config, 'requires');
  let jsonSchema: Record<string, unknown>;
  try {
    jsonSchema = z.toJSONSchema(config.input as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch (cause) {
    throw new WardenError('INVALID_CONFIG', `${where}: input schema cannot be expressed as JSON Schema`, { cause });
  }
  delete jsonSchema.$schema;
  const { approval: _declared, approvalDeadline: _deadline, ...rest } = config;
  const tool = Object.freeze({
    ...rest,
    ...approval,
    kind: 'warden.tool' as const,
    jsonSchema,
    idempotent: config.idempotent ?? false,
    retries,
    timeoutMs,
    provides: config.provides ? (Object.freeze([...(config.provides as string[])]) as string[]) : undefined,
    requires: config.requires ? (Object.freeze([...(config.requires as string[])]) as string[]) : undefined,
  }) as unknown as AnyTool;
  checked.add(tool);
  return tool;
}

/** Splits a tool's `approval` into when it asks and its deadline, refusing anything else. */
function approvalSettings(where: string, declared: unknown, builtDeadline: unknown): { approval?: unknown; approvalDeadline?: unknown } {
  const isWhen = (v: unknown) => v === undefined || typeof v === 'boolean' || typeof v === 'function';
  if (builtDeadline !== undefined) {
    // A copy of a built tool (governedTool): `approval` is already the `when`, the deadline beside it.
    if (typeof builtDeadline !== 'object' || builtDeadline === null || !isWhen(declared))
      fail(where, `approvalDeadline must come from defineTool's approval: { when, timeoutMs, onTimeout }, got ${safeJson(builtDeadline)}`);
    return approvalSettings(where, { when: declared, ...builtDeadline }, undefined);
  }
  if (isWhen(declared)) return declared === undefined ? {} : { approval: declared };
  const shape = 'true, false, a predicate (args) => boolean, or { when, timeoutMs, onTimeout }';
  if (typeof declared !== 'object' || declared === null || Array.isArray(declared)) fail(where, `approval must be ${shape}, got ${safeJson(declared)}`);
  const { when, timeoutMs, onTimeout, ...unknown } = declared as Record<string, unknown>;
  const extra = Object.keys(unknown);
  if (extra.length) fail(where, `approval has unknown field(s) ${extra.join(', ')}; it takes when, timeoutMs and onTimeout`);
  if (!isWhen(when)) fail(where, `approval.when must be true, false or a predicate (args) => boolean, got ${safeJson(when)}`);
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0))
    fail(where, `approval.timeoutMs must be a positive number of ms, got ${safeJson(timeoutMs)}`);
  if (onTimeout !== undefined && onTimeout !== 'deny' && onTimeout !== 'escalate')
    fail(where, `approval.onTimeout must be "deny" or "escalate", got ${safeJson(onTimeout)}`);
  const deadline = { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(onTimeout !== undefined ? { onTimeout } : {}) };
  return { approval: when ?? true, ...(Object.keys(deadline).length ? { approvalDeadline: Object.freeze(deadline) } : {}) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value;
  }
}

/**
 * Declares a tool the model may propose and the runtime may run.
 *
 * @example
 * const lookupOrder = defineTool({
 *   name: 'lookup_order', description: 'Find an order by id', tier: 'read',
 *   input: z.object({ orderId: z.string() }),
 *   execute: async ({ orderId }) => db.orders.get(orderId),
 * });
 */
export function defineTool<I extends z.ZodType, O>(config: ToolConfig<I, O>): Tool<I, O> {
  if (!config || typeof config !== 'object') {
    throw new WardenError('INVALID_CONFIG', 'defineTool expects an object with name, description, tier, input and execute');
  }
  return buildTool(`defineTool(${safeJson(config.name)})`, config as unknown as Record<string, unknown>) as Tool<I, O>;
}

/** The fields a tool declaration may have, read once each when an agent takes a tool it did not see defined. */
const TOOL_FIELDS = [
  'name',
  'description',
  'tier',
  'input',
  'output',
  'execute',
  'idempotent',
  'approval',
  'approvalDeadline',
  'retries',
  'timeoutMs',
  'costUsd',
  'lockKey',
  'provides',
  'requires',
  'compensate',
  'shadowResult',
  'origin',
] as const;

/**
 * The tool an agent governs. A `defineTool` result is taken as it is. Anything else that claims
 * to be a tool (a spread of one with a changed tier, a class instance, an object from JSON) is
 * read once, field by field, checked exactly as `defineTool` checks a declaration — a tier is
 * `read`, `write` or `delete`, `input` a zod schema, `execute` a function — and frozen, so a getter
 * cannot show one tier to the check and another to the runtime.
 */
export function governedTool(where: string, value: unknown): AnyTool {
  if (typeof value === 'object' && value !== null && checked.has(value)) return value as AnyTool;
  let snapshot: Record<string, unknown>;
  let jsonSchema: unknown;
  try {
    if (!value || typeof value !== 'object' || (value as { kind?: unknown }).kind !== 'warden.tool') {
      fail(where, `every tool must come from defineTool(…), got ${safeJson(value)}`);
    }
    snapshot = {};
    for (const key of TOOL_FIELDS) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined) snapshot[key] = typeof field === 'function' ? field.bind(value) : field;
    }
    jsonSchema = (value as { jsonSchema?: unknown }).jsonSchema;
  } catch (e) {
    if (e instanceof WardenError) throw e;
    throw new WardenError('INVALID_CONFIG', `${where}: a tool could not be read (${e instanceof Error ? e.message : 'unreadable value'})`, { cause: e });
  }
  const tool = buildTool(`${where}: tool ${safeJson(snapshot.name)}`, snapshot);
  if (typeof jsonSchema !== 'object' || jsonSchema === null || Array.isArray(jsonSchema)) return tool;
  // An imported tool shows the model its server's own schema; the zod input still decides.
  const kept = Object.freeze({ ...tool, jsonSchema: { ...(jsonSchema as Record<string, unknown>) } }) as AnyTool;
  checked.add(kept);
  return kept;
}

/** A write or delete tool that declares how to reverse itself. */
export function isReversible(tool: AnyTool): boolean {
  return tool.tier !== 'read' && typeof tool.compensate === 'function';
}

/** What `toolCallPrice` found: the price of one call in USD, or why there is none. */
export type ToolPrice = { ok: true; usd: number } | { ok: false; message: string };

/**
 * Price of one call of `tool` with `args`, in USD (0 when the tool declares none). A `costUsd`
 * function that throws or returns anything but a finite number >= 0 gives no price: the call
 * cannot be reserved for, so it must not run.
 *
 * @example
 * const price = toolCallPrice(sendSms, { to: '+44…' });
 * if (!price.ok) console.error(price.message);
 */
export function toolCallPrice(tool: AnyTool, args: unknown): ToolPrice {
  if (tool.costUsd === undefined) return { ok: true, usd: 0 };
  if (typeof tool.costUsd !== 'function') return { ok: true, usd: tool.costUsd };
  let cost: unknown;
  try {
    cost = tool.costUsd(args);
  } catch (e) {
    return { ok: false, message: `${tool.name}: costUsd threw (${e instanceof Error ? e.message : String(e)}), so the call cannot be priced and did not run` };
  }
  if (!isPrice(cost)) {
    return { ok: false, message: `${tool.name}: costUsd returned ${describeCost(cost)}; expected a finite number of USD >= 0. The call did not run` };
  }
  return { ok: true, usd: cost };
}

/** Price of one call of `tool` with `args`, in USD; throws `INVALID_CONFIG` when it cannot be priced. */
export function toolCallCostUsd(tool: AnyTool, args: unknown): number {
  const price = toolCallPrice(tool, args);
  if (!price.ok) throw new WardenError('INVALID_CONFIG', price.message);
  return price.usd;
}

function isPrice(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function describeCost(value: unknown): string {
  // safeJson: a user's costUsd may return anything, a BigInt or a revoked Proxy included.
  return typeof value === 'number' ? String(value) : `${typeof value} ${safeJson(value)}`;
}
