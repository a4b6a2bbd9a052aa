import type { Tool as AiSdkTool } from 'ai';
import { z } from 'zod';
import { type AnyTool, defineTool } from '../../agent/tool.ts';
import type { Tier } from '../../core/tiers.ts';
import { WardenError } from '../../core/errors.ts';
import { jsonSchemaInput, modelFacingSchema } from './json-schema-input.ts';
import { declaredTiers } from './tiers.ts';

/** Options of `fromAiSdkTools`. */
export interface FromAiSdkToolsOptions<Names extends string = string> {
  /** The tier of every tool, by its key in the tool set. Required for each: never inferred. */
  tiers: Record<Names, Tier>;
  /**
   * The tools' context (AI SDK 7: `context` in `execute`'s options, and in a `description` or
   * `needsApproval` that is a function). Default `{}`.
   */
  context?: unknown;
}

/** Where an adapted tool came from, for the audit. */
export interface AdapterOrigin {
  kind: 'ai-sdk' | 'openai-agents';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/** The input of an AI SDK tool: its zod schema as it is, or its JSON Schema checked by its own `validate` or ajv. */
function inputOf(where: string, schema: unknown): { input: z.ZodType; jsonSchema?: Record<string, unknown>; finalArgs?: (args: unknown) => Promise<unknown> } {
  const resolved = typeof schema === 'function' && !(schema instanceof z.ZodType) ? (schema as () => unknown)() : schema; // lazySchema(() => …)
  if (resolved instanceof z.ZodType) return { input: resolved };
  const json = resolved && typeof resolved === 'object' ? (resolved as { jsonSchema?: unknown }).jsonSchema : undefined;
  if (isThenable(json)) {
    throw new WardenError('INVALID_CONFIG', `${where}: its JSON Schema is only available asynchronously; pass the schema itself to jsonSchema(…)`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where}: inputSchema must be a zod schema or jsonSchema(…) from 'ai'; got ${resolved === null ? 'null' : typeof resolved}`,
    );
  }
  const validate = (resolved as { validate?: unknown }).validate;
  const checked = jsonSchemaInput(
    where,
    json as Record<string, unknown>,
    typeof validate === 'function' ? (validate as (v: unknown) => unknown).bind(resolved) : undefined,
  );
  return { ...checked, jsonSchema: modelFacingSchema(json as Record<string, unknown>) };
}

/** An AI SDK tool's result: a streaming tool's last value (the AI SDK's final output), else the value. */
async function finalOutput(value: unknown): Promise<unknown> {
  if (!isAsyncIterable(value)) return value;
  let last: unknown;
  for await (const part of value) last = part;
  return last;
}

/**
 * Wraps an AI SDK tool set (`{ name: tool({ description, inputSchema, execute, needsApproval }) }`)
 * as Warden tools. Tiers are yours to declare, one per tool: a tool missing from `tiers` is
 * refused (`INVALID_CONFIG`, naming it). `needsApproval` becomes Warden's `approval`: `true`, or a
 * predicate of the arguments (sync or async) that Warden's policy awaits with its timeout — one
 * that throws, rejects or answers anything but a boolean asks a person. A delete-tier tool always
 * waits for a person. A zod `inputSchema` is used as it is; a `jsonSchema(…)` one is checked by its
 * own `validate`, else by ajv, before policy and again before `execute`. Tools without `execute`
 * and provider-executed tools are refused: Warden runs every tool it governs.
 *
 * @example
 * import { tool } from 'ai';
 * const aiTools = { lookupOrder: tool({ description: 'Find an order', inputSchema: z.object({ id: z.string() }), execute }) };
 * defineAgent({ name: 'desk', instructions: '…', model, tools: fromAiSdkTools(aiTools, { tiers: { lookupOrder: 'read' } }) });
 */
export function fromAiSdkTools<T extends Record<string, AiSdkTool>>(tools: T, options: FromAiSdkToolsOptions<Extract<keyof T, string>>): AnyTool[] {
  if (!tools || typeof tools !== 'object' || Array.isArray(tools)) {
    throw new WardenError('INVALID_CONFIG', 'fromAiSdkTools expects the AI SDK tool set: an object of name → tool({ … })');
  }
  const names = Object.keys(tools);
  const tierOf = declaredTiers('fromAiSdkTools', names, options?.tiers);
  return names.map((name) => {
    const where = `fromAiSdkTools: tool "${name}"`;
    const foreign = tools[name] as Omit<AiSdkTool, 'type'> & { type?: string };
    if (!foreign || typeof foreign !== 'object') throw new WardenError('INVALID_CONFIG', `${where} is not an AI SDK tool`);
    if (foreign.type === 'provider' || foreign.type === 'provider-defined') {
      throw new WardenError('INVALID_CONFIG', `${where} is executed by the model's provider, out of Warden's reach: use a tool Warden runs`);
    }
    const execute = foreign.execute;
    if (typeof execute !== 'function') {
      throw new WardenError('INVALID_CONFIG', `${where} has no execute: Warden runs the tools it governs, so each needs one`);
    }
    const { input, jsonSchema, finalArgs } = inputOf(where, foreign.inputSchema);
    const context = options.context ?? {};
    const needsApproval = foreign.needsApproval as unknown;
    const approval =
      typeof needsApproval === 'function'
        ? (args: unknown) =>
            (needsApproval as (input: unknown, o: object) => unknown)(args, { toolCallId: '', messages: [], context }) as boolean | Promise<boolean>
        : (needsApproval as boolean | undefined);
    const described: unknown =
      typeof foreign.description === 'function' ? (foreign.description as (o: { context: unknown }) => unknown)({ context }) : foreign.description;
    const tool = defineTool({
      name,
      description: typeof described === 'string' && described !== '' ? described : name,
      tier: tierOf(name),
      input,
      ...(approval !== undefined ? { approval } : {}),
      origin: { kind: 'ai-sdk' },
      execute: async (args, ctx) => {
        const checked = finalArgs ? await finalArgs(args) : args;
        return finalOutput(await execute(checked as never, { toolCallId: ctx.callId, messages: [], abortSignal: ctx.signal, context: context as never }));
      },
    });
    return jsonSchema ? (Object.freeze({ ...tool, jsonSchema }) as AnyTool) : tool;
  });
}
