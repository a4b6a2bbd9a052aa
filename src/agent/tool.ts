import { z } from 'zod';
import { WardenError } from '../errors.ts';

/** Least-privilege tiers. `delete` always waits for a person unless loudly opted out. */
export type Tier = 'read' | 'write' | 'delete';
export const TIERS: readonly Tier[] = ['read', 'write', 'delete'];

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
   * `delete` always asks.
   */
  approval?: boolean | ((args: z.infer<I>) => boolean | Promise<boolean>);
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
  /** Where the tool comes from when it was imported (an MCP server), and how its tier was set. */
  origin?: { kind: 'mcp'; server: string; tierSource: string; trusted: boolean; openWorld: boolean | null };
}

/** A tool after `defineTool`: validated, frozen, with its JSON Schema computed once. */
export interface Tool<I extends z.ZodType = z.ZodType, O = unknown> extends Readonly<ToolConfig<I, O>> {
  readonly kind: 'warden.tool';
  readonly jsonSchema: Record<string, unknown>;
  readonly idempotent: boolean;
  readonly retries: number;
  readonly timeoutMs: number;
}

/** Anything with a name and a tier is governed the same way, whatever its input type. */
// biome-ignore lint: a tool collection is heterogeneous by nature
export type AnyTool = Tool<any, any>;

const TOOL_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;

export const TOOL_DEFAULTS = { retries: 2, timeoutMs: 30_000 } as const;

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
  const where = `defineTool(${JSON.stringify(config?.name)})`;
  if (!config || typeof config !== 'object') {
    throw new WardenError('INVALID_CONFIG', 'defineTool expects an object with name, description, tier, input and execute');
  }
  if (typeof config.name !== 'string' || !TOOL_NAME.test(config.name)) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where}: name must match ${TOOL_NAME} (letters, digits, _ and -, at most 64), got ${JSON.stringify(config.name)}`,
    );
  }
  if (!TIERS.includes(config.tier)) {
    throw new WardenError('INVALID_CONFIG', `${where}: tier must be "read", "write" or "delete", got ${JSON.stringify(config.tier)}`);
  }
  if (!(config.input instanceof z.ZodType)) {
    throw new WardenError('INVALID_CONFIG', `${where}: input must be a zod schema, e.g. z.object({ id: z.string() })`);
  }
  if (typeof config.execute !== 'function') {
    throw new WardenError('INVALID_CONFIG', `${where}: execute must be a function`);
  }
  const retries = config.retries ?? TOOL_DEFAULTS.retries;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new WardenError('INVALID_CONFIG', `${where}: retries must be a non-negative integer, got ${retries}`);
  }
  const timeoutMs = config.timeoutMs ?? TOOL_DEFAULTS.timeoutMs;
  if (!(timeoutMs > 0)) {
    throw new WardenError('INVALID_CONFIG', `${where}: timeoutMs must be positive, got ${timeoutMs}`);
  }
  if (config.compensate !== undefined && typeof config.compensate !== 'function') {
    throw new WardenError('INVALID_CONFIG', `${where}: compensate must be a function (args, result, ctx) that reverses the call`);
  }
  if (config.compensate && config.tier === 'read') {
    throw new WardenError('INVALID_CONFIG', `${where}: a read-tier tool changes nothing, so it has nothing to compensate`);
  }
  if (typeof config.costUsd === 'number' && !(config.costUsd >= 0)) {
    throw new WardenError('INVALID_CONFIG', `${where}: costUsd must be >= 0, got ${config.costUsd}`);
  }
  let jsonSchema: Record<string, unknown>;
  try {
    jsonSchema = z.toJSONSchema(config.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch (cause) {
    throw new WardenError('INVALID_CONFIG', `${where}: input schema cannot be expressed as JSON Schema`, { cause });
  }
  delete jsonSchema.$schema;
  return Object.freeze({
    ...config,
    kind: 'warden.tool' as const,
    jsonSchema,
    idempotent: config.idempotent ?? false,
    retries,
    timeoutMs,
    provides: config.provides ? Object.freeze([...config.provides]) as string[] : undefined,
    requires: config.requires ? Object.freeze([...config.requires]) as string[] : undefined,
  });
}

/** A write or delete tool that declares how to reverse itself. */
export function isReversible(tool: AnyTool): boolean {
  return tool.tier !== 'read' && typeof tool.compensate === 'function';
}

/** Price of one call of `tool` with `args`, in USD (0 when the tool declares none). */
export function toolCallCostUsd(tool: AnyTool, args: unknown): number {
  if (tool.costUsd === undefined) return 0;
  const cost = typeof tool.costUsd === 'function' ? tool.costUsd(args) : tool.costUsd;
  return Number.isFinite(cost) && cost > 0 ? cost : 0;
}
