import { type AnyTool, defineTool } from '../../agent/tool.ts';
import type { Tier } from '../../core/tiers.ts';
import { WardenError } from '../../core/errors.ts';
import { jsonSchemaInput, modelFacingSchema } from './json-schema-input.ts';
import { declaredTiers } from './tiers.ts';

/**
 * The part of an OpenAI Agents SDK `FunctionTool` (what `tool({ … })` from `@openai/agents`
 * returns) that Warden uses, taken structurally so `@openai/agents` is not a dependency of Warden.
 */
export interface OpenAIAgentsFunctionTool {
  type: 'function';
  name: string;
  description: string;
  /** The JSON Schema of the arguments (the SDK converts zod `parameters` to it). */
  parameters: object;
  /** Parses the JSON arguments with the SDK's own parser and runs the tool's `execute`. */
  invoke: (runContext: never, input: string, details?: never) => Promise<unknown>;
  /** Always a function on a `tool()` result: `needsApproval: true` becomes `async () => true`. */
  needsApproval?: (runContext: never, input: never, callId?: string) => boolean | Promise<boolean>;
}

/** Options of `fromOpenAIAgentsTools`. */
export interface FromOpenAIAgentsToolsOptions {
  /** The tier of every tool, by its name. Required for each: never inferred. */
  tiers: Record<string, Tier>;
  /** What the tools see as `runContext.context` (the Agents SDK's run context value). Default `{}`. */
  context?: unknown;
}

/**
 * Wraps OpenAI Agents SDK function tools (`tool({ name, description, parameters, execute,
 * needsApproval })` from `@openai/agents`) as Warden tools. Tiers are yours to declare, one per
 * tool: a tool missing from `tiers` is refused (`INVALID_CONFIG`, naming it). `needsApproval` —
 * which the SDK always turns into an async predicate — becomes Warden's `approval`, awaited by
 * Warden's policy with its timeout: one that throws, rejects or answers anything but a boolean asks
 * a person; a delete-tier tool always waits. Arguments are checked against the tool's JSON Schema
 * (ajv) before policy and before the SDK's own parser sees them. Hosted, computer and shell tools
 * are refused: Warden runs every tool it governs.
 *
 * @example
 * import { tool } from '@openai/agents';
 * const refund = tool({ name: 'refund', description: 'Refund an order', parameters: z.object({ orderId: z.string() }), needsApproval: true, execute });
 * defineAgent({ name: 'billing', instructions: '…', model, tools: fromOpenAIAgentsTools([refund], { tiers: { refund: 'write' } }) });
 */
export function fromOpenAIAgentsTools(tools: readonly OpenAIAgentsFunctionTool[], options: FromOpenAIAgentsToolsOptions): AnyTool[] {
  if (!Array.isArray(tools)) {
    throw new WardenError('INVALID_CONFIG', 'fromOpenAIAgentsTools expects an array of tool({ … }) results from @openai/agents');
  }
  const names = tools.map((t, i) => (t && typeof t.name === 'string' ? t.name : `#${i}`));
  const tierOf = declaredTiers('fromOpenAIAgentsTools', names, options?.tiers);
  const runContext = { context: options.context ?? {} };
  return tools.map((foreign, i) => {
    const name = names[i];
    const where = `fromOpenAIAgentsTools: tool "${name}"`;
    if (foreign?.type !== 'function' || typeof foreign.invoke !== 'function') {
      const kind = foreign && typeof foreign === 'object' ? `a ${String((foreign as { type?: unknown }).type)} tool` : typeof foreign;
      throw new WardenError(
        'INVALID_CONFIG',
        `${where} is ${kind}: only function tools (tool({ … })) run under Warden; hosted, computer and shell tools run out of its reach`,
      );
    }
    if (!foreign.parameters || typeof foreign.parameters !== 'object') {
      throw new WardenError('INVALID_CONFIG', `${where} has no JSON Schema in parameters`);
    }
    const schema = foreign.parameters as Record<string, unknown>;
    const { input } = jsonSchemaInput(where, schema);
    const needsApproval = foreign.needsApproval;
    const tool = defineTool({
      name,
      description: foreign.description || name,
      tier: tierOf(name),
      input,
      ...(needsApproval !== undefined
        ? {
            approval:
              typeof needsApproval === 'function'
                ? (args: unknown) => needsApproval(runContext as never, args as never, undefined)
                : (needsApproval as boolean),
          }
        : {}),
      origin: { kind: 'openai-agents' },
      // The SDK's invoke parses the JSON again with its own parser (zod for zod parameters) and
      // calls execute; its own approval flow is its runner's, never reached from here.
      execute: (args, ctx) =>
        foreign.invoke(runContext as never, JSON.stringify(args), {
          signal: ctx.signal,
          toolCall: { type: 'function_call', callId: ctx.callId, name, arguments: JSON.stringify(args) },
        } as never),
    });
    return Object.freeze({ ...tool, jsonSchema: modelFacingSchema(schema) }) as AnyTool;
  });
}
