import { z } from 'zod';
import { type AnyTool, defineTool } from '../../agent/tool.ts';
import { type Tier, TIERS } from '../../core/tiers.ts';
import { describeError, WardenError } from '../../core/errors.ts';

/** How to reach an MCP server: a command speaking stdio, or a Streamable HTTP endpoint. */
export type McpServerSpec =
  | { command: string; args?: string[]; env?: Record<string, string>; cwd?: string; name?: string }
  | { url: string; headers?: Record<string, string>; name?: string };

export interface McpToolsOptions {
  server: McpServerSpec;
  /**
   * Trust the server's tool annotations. Annotations are the server's own claims: untrusted, no
   * hint can widen a tool's privilege, so every tool is `delete` (waits for a person) unless
   * `tiers` maps it, and no tool is taken as idempotent.
   */
  trust: boolean;
  /** Per-tool tiers that always win over annotations. */
  tiers?: Record<string, Tier>;
  /** Per-call timeout, ms. Default 30 s. */
  timeoutMs?: number;
}

/** Where an imported tool's tier came from, for the audit. */
export interface McpOrigin {
  kind: 'mcp';
  server: string;
  tierSource: 'override' | 'readOnlyHint' | 'destructiveHint' | 'default' | 'untrusted';
  trusted: boolean;
  openWorld: boolean | null;
}

export interface McpToolSet {
  tools: AnyTool[];
  /** Ends the connection (and, for stdio, the server process). */
  close(): Promise<void>;
}

interface Annotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

const open = new Set<McpToolSet>();

/** Closes every MCP connection this process opened (the CLI calls it before it exits). */
export async function closeAllMcp(): Promise<void> {
  await Promise.all([...open].map((s) => s.close().catch(() => {})));
}

/**
 * The tier of a server's tool. An override wins. Otherwise the MCP specification's defaults hold:
 * `readOnlyHint` is false and `destructiveHint` true unless the server says otherwise, so a tool
 * with no annotations is `delete` (it waits for a person). Hints that widen a tool's privilege
 * (`readOnlyHint: true` → read, `destructiveHint: false` → write) count only from a trusted
 * server; a tool that claims both read-only and destructive is destructive, from anyone.
 */
export function mcpTier(
  name: string,
  a: Annotations | undefined,
  trust: boolean,
  overrides: Record<string, Tier> = {},
): { tier: Tier; source: McpOrigin['tierSource'] } {
  const override = Object.hasOwn(overrides, name) ? overrides[name] : undefined;
  if (override !== undefined) return { tier: override, source: 'override' };
  if (a?.destructiveHint === true) return { tier: 'delete', source: 'destructiveHint' }; // stricter: believed from anyone, and wins over readOnlyHint
  if (!trust) return { tier: 'delete', source: 'untrusted' };
  if (a?.readOnlyHint === true) return { tier: 'read', source: 'readOnlyHint' };
  if (a?.destructiveHint === false) return { tier: 'write', source: 'destructiveHint' };
  return { tier: 'delete', source: 'default' };
}

function inputSchemaOf(name: string, schema: Record<string, unknown> | undefined): z.ZodType {
  const json = schema && typeof schema === 'object' ? schema : { type: 'object' };
  try {
    return z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    // A schema zod cannot express is left to the server to enforce; the model still sees it whole.
    process.emitWarning(`warden: MCP tool ${name}: its input schema cannot be checked locally; the server checks it`);
    return z.record(z.string(), z.unknown());
  }
}

/** MCP content as a JSON result: structured content when given, else the text (parsed when it is JSON). */
function resultOf(res: { content?: unknown; structuredContent?: unknown }): unknown {
  if (res.structuredContent !== undefined) return res.structuredContent;
  const parts = Array.isArray(res.content) ? (res.content as { type: string; text?: string }[]) : [];
  const texts = parts.filter((p) => p.type === 'text').map((p) => p.text ?? '');
  const [text] = texts;
  if (text !== undefined && texts.length === 1 && parts.length === 1) {
    try {
      return JSON.parse(text);
    } catch {
      return { text };
    }
  }
  return { content: parts };
}

/**
 * Imports the tools of a Model Context Protocol server as Warden tools, governed like any other:
 * tiers from the tool annotations with the specification's defaults (`readOnlyHint: true` → read,
 * `destructiveHint: false` → write, otherwise delete), widening hints trusted only when `trust`
 * is set; `tiers` overrides always win.
 *
 * @example
 * const notes = await mcpTools({ server: { command: 'node', args: ['notes-server.ts'] }, trust: true });
 * export default defineAgent({ name: 'notes', instructions: '…', model, tools: notes.tools });
 */
export async function mcpTools(options: McpToolsOptions): Promise<McpToolSet> {
  const spec = options.server;
  const label = spec.name ?? ('url' in spec ? new URL(spec.url).host : [spec.command, ...(spec.args ?? [])].join(' '));
  for (const [tool, tier] of Object.entries(options.tiers ?? {})) {
    if (!TIERS.includes(tier)) throw new WardenError('INVALID_CONFIG', `mcpTools: tiers.${tool} must be read, write or delete, got ${JSON.stringify(tier)}`);
  }
  // The MCP SDK is loaded on first use: importing Warden (and starting the CLI) should not pay for it.
  const [{ Client }, { StdioClientTransport }, { StreamableHTTPClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]);
  const client = new Client({ name: 'warden', version: '1' });
  const transport =
    'url' in spec
      ? new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers: spec.headers ?? {} } })
      : new StdioClientTransport({
          command: spec.command,
          args: spec.args ?? [],
          ...(spec.env ? { env: { ...process.env, ...spec.env } as Record<string, string> } : {}),
          ...(spec.cwd ? { cwd: spec.cwd } : {}),
          stderr: 'ignore',
        });
  try {
    await client.connect(transport);
  } catch (cause) {
    throw new WardenError('INVALID_CONFIG', `mcpTools: could not connect to the MCP server ${label}: ${describeError(cause)}`, { cause });
  }
  const listed = await client.listTools().catch(async (cause) => {
    await client.close().catch(() => {});
    throw new WardenError('INVALID_CONFIG', `mcpTools: the MCP server ${label} did not list its tools: ${describeError(cause)}`, { cause });
  });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const tools = listed.tools.map((t) => {
    const annotations = t.annotations as Annotations | undefined;
    const trusted = options.trust === true;
    const { tier, source } = mcpTier(t.name, annotations, trusted, options.tiers);
    const origin: McpOrigin = { kind: 'mcp', server: label, tierSource: source, trusted, openWorld: annotations?.openWorldHint ?? null };
    const tool = defineTool({
      name: t.name,
      description: t.description ?? `${t.name} (from the MCP server ${label})`,
      tier,
      input: inputSchemaOf(t.name, t.inputSchema as Record<string, unknown>),
      idempotent: trusted && annotations?.idempotentHint === true,
      timeoutMs,
      origin,
      execute: async (args, ctx) => {
        let res: Awaited<ReturnType<typeof client.callTool>>;
        try {
          res = await client.callTool(
            { name: t.name, arguments: args as Record<string, unknown>, _meta: { 'warden/idempotencyKey': ctx.idempotencyKey, 'warden/runId': ctx.runId } },
            undefined,
            { signal: ctx.signal, timeout: timeoutMs },
          );
        } catch (cause) {
          throw new WardenError('TOOL_FAILED', `${t.name} (MCP ${label}): ${describeError(cause)}`, { cause });
        }
        if (res.isError) {
          const text = (Array.isArray(res.content) ? res.content : [])
            .map((c: { text?: string }) => c.text ?? '')
            .join(' ')
            .trim();
          throw new WardenError('TOOL_FAILED', `${t.name} (MCP ${label}) reported an error: ${text || 'no detail'}`);
        }
        return resultOf(res as { content?: unknown; structuredContent?: unknown });
      },
    });
    // The model sees the server's own schema, unchanged.
    const jsonSchema = { ...(t.inputSchema as Record<string, unknown>) };
    delete jsonSchema.$schema;
    return Object.freeze({ ...tool, jsonSchema }) as AnyTool;
  });
  const set: McpToolSet = {
    tools,
    async close() {
      open.delete(set);
      await client.close();
    },
  };
  open.add(set);
  return set;
}
