import { join } from 'node:path';
import { mustExist } from '../../src/core/errors.ts';
import type { LanguageModelV3, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { z } from 'zod';
import { defineAgent, type Agent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { simulated } from '../../src/model/simulated.ts';
import type { AgentCatalog } from '../../src/scheduler/agent-catalog.ts';
import { createApiKey, type Role } from '../../src/server/api-keys.ts';
import { startServer, type RunningServer } from '../../src/server/serve.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/core/ports/store.ts';
import type { WardenOptions } from '../../src/runtime/warden.ts';
import { type Json, tempDir, waitFor as waitUntil } from '../helpers.ts';

export const deleted: string[] = [];

const deleteAccount = defineTool({
  name: 'delete_account',
  description: 'Delete an account',
  tier: 'delete',
  input: z.object({ customerId: z.string() }),
  execute: ({ customerId }) => {
    deleted.push(customerId);
    return { deleted: customerId };
  },
});

const slowScan = defineTool({
  name: 'slow_scan',
  description: 'A scan that takes a while',
  tier: 'read',
  input: z.object({ n: z.number() }),
  timeoutMs: 60_000,
  execute: async (_args, ctx) => {
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 20_000);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve(null);
        },
        { once: true },
      );
    });
    return { done: true };
  },
});

/**
 * The `writer` agent's model: its stream sends "drafting " every 100 ms until `writerGate.open()`,
 * then its final sentence and a finish part. Tests wait for the text to show, then open the gate,
 * then wait for completion: no timing luck.
 */
export const writerGate = {
  opened: false,
  open() {
    this.opened = true;
  },
  close() {
    this.opened = false;
  },
};

export const WRITER_FINAL = 'The reply is ready.';

const writerModel: LanguageModelV3 = {
  specificationVersion: 'v3',
  provider: 'test.writer',
  modelId: 'writer-1',
  supportedUrls: {},
  async doGenerate() {
    throw new Error('the writer model only streams');
  },
  async doStream(options) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let sent = 0;
    const stream = new ReadableStream<LanguageModelV3StreamPart>({
      start(controller) {
        controller.enqueue({ type: 'stream-start', warnings: [] });
        controller.enqueue({ type: 'text-start', id: 't' });
        const tick = () => {
          if (writerGate.opened || options.abortSignal?.aborted) {
            controller.enqueue({ type: 'text-delta', id: 't', delta: WRITER_FINAL });
            controller.enqueue({ type: 'text-end', id: 't' });
            controller.enqueue({
              type: 'finish',
              usage: { inputTokens: { total: 50, noCache: 50, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 5 + sent, text: 5 + sent, reasoning: 0 } },
              finishReason: { unified: 'stop', raw: 'stop' },
            });
            controller.close();
            return;
          }
          sent++;
          controller.enqueue({ type: 'text-delta', id: 't', delta: 'drafting ' });
          timer = setTimeout(tick, 100);
        };
        tick();
      },
      cancel() {
        clearTimeout(timer);
      },
    });
    return { stream };
  },
};

/** `desk` deletes an account (always waits for a person); `slow` runs a long scan (for the kill switch). */
export const AGENTS: Record<string, Agent> = {
  desk: defineAgent({
    name: 'desk',
    instructions: 'Delete accounts on request.',
    model: simulated.script([
      { toolCalls: [{ tool: 'delete_account', args: { customerId: 'c-42' } }], rationale: 'The customer asked to close the account.' },
      { text: 'Handled the account request.' },
    ]),
    tools: [deleteAccount],
    limits: { maxCostUsd: 0.05 },
  }),
  slow: defineAgent({
    name: 'slow',
    instructions: 'Scan.',
    model: simulated.script([{ toolCalls: [{ tool: 'slow_scan', args: { n: 1 } }] }, { text: 'Scanned.' }]),
    tools: [slowScan],
    limits: { maxCostUsd: 0.05, maxWallMs: 120_000 },
  }),
  writer: defineAgent({
    name: 'writer',
    instructions: 'Write replies.',
    model: writerModel,
    tools: [],
    limits: { maxCostUsd: 0.05, maxOutputTokens: 20_000 },
    pricing: { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  }),
};

export const catalog: AgentCatalog = {
  names: Object.keys(AGENTS),
  agentFor: async (run) => {
    const agent = AGENTS[run.agent];
    if (!agent) throw new Error(`no agent ${run.agent}`);
    return agent;
  },
};

export interface TestServer {
  server: RunningServer;
  store: Store;
  keys: Record<Role | 'approver2' | 'foreign', string>;
  call(key: string | null, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: Json }>;
  close(): Promise<void>;
}

/** A server on a free loopback port with one key per role for tenant acme, an admin, and a viewer of another tenant. */
export async function testServer(options: { execute?: boolean; warden?: Omit<WardenOptions, 'store'> } = {}): Promise<TestServer> {
  const store = createSqliteStore({ path: join(tempDir('warden-server-'), 'w.db') });
  const key = async (name: string, role: Role, tenant: string) => (await createApiKey(store, { name, role, tenants: [tenant] })).secret;
  const keys: TestServer['keys'] = {
    submitter: await key('submitter', 'submitter', 'acme'),
    approver: await key('approver', 'approver', 'acme'),
    operator: await key('operator', 'operator', 'acme'),
    viewer: await key('viewer', 'viewer', 'acme'),
    admin: await key('root', 'admin', '*'),
    approver2: await key('second approver', 'approver', 'acme'),
    foreign: await key('globex viewer', 'viewer', 'globex'),
  };
  const server = await startServer({
    store,
    agents: catalog,
    port: 0,
    ...(options.execute === false ? { execute: false } : {}),
    ...(options.warden ? { warden: options.warden } : {}),
  });
  return {
    server,
    store,
    keys,
    async call(key, method, path, body, headers = {}) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let json: Json = text;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON (metrics, SSE)
      }
      return { status: res.status, json };
    },
    async close() {
      await server.close();
      await store.close();
    },
  };
}

/** `waitFor` of test/helpers.ts, with the argument order the server tests use. */
export function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  return waitUntil(predicate, { timeoutMs, message: what, intervalMs: 20 });
}

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** Reads an SSE response message by message. */
export async function* messages(res: Response): AsyncGenerator<SseMessage> {
  const reader = mustExist(res.body, 'a response body').pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = { data: '' };
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
        else if (field === 'data') message.data += value;
      }
      yield message;
    }
  }
}
