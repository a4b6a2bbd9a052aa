import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { defineAgent } from '../../src/agent/agent.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { simulated } from '../../src/model/simulated.ts';
import { mcpTier, mcpTools, type McpToolSet } from '../../src/tools/mcp/mcp-tools.ts';
import { createNotesServer } from '../../examples/mcp-server/notes-server.ts';
import { testWarden } from '../helpers.ts';

const STDIO = { command: process.execPath, args: ['examples/mcp-server/notes-server.ts'], name: 'notes' };
const sets: McpToolSet[] = [];
after(async () => {
  for (const s of sets) await s.close();
});

async function connect(options: Parameters<typeof mcpTools>[0]): Promise<McpToolSet> {
  const set = await mcpTools(options);
  sets.push(set);
  return set;
}

const tiers = (set: McpToolSet) => Object.fromEntries(set.tools.map((t) => [t.name, [t.tier, t.origin?.tierSource, t.idempotent]]));

describe('MCP tools over stdio (a real server process)', () => {
  it("takes tiers and idempotency from a trusted server's annotations", async () => {
    const notes = await connect({ server: STDIO, trust: true });
    assert.deepEqual(tiers(notes), {
      list_notes: ['read', 'readOnlyHint', true],
      read_note: ['read', 'readOnlyHint', true],
      add_note: ['write', 'destructiveHint', true],
      delete_note: ['delete', 'destructiveHint', false],
      fetch_page: ['read', 'readOnlyHint', false],
    });
    assert.equal(notes.tools.find((t) => t.name === 'fetch_page')?.origin?.openWorld, true);
    assert.deepEqual(notes.tools.find((t) => t.name === 'add_note')?.jsonSchema.required, ['title', 'text'], "the model sees the server's schema");
  });

  it("treats an untrusted server's tools as delete (no hint widens them), and lets overrides win", async () => {
    const notes = await connect({ server: STDIO, trust: false, tiers: { fetch_page: 'delete', list_notes: 'read' } });
    assert.deepEqual(tiers(notes), {
      list_notes: ['read', 'override', false],
      read_note: ['delete', 'untrusted', false],
      add_note: ['delete', 'untrusted', false],
      delete_note: ['delete', 'destructiveHint', false],
      fetch_page: ['delete', 'override', false],
    });
  });

  it('runs MCP tools through the runtime: schema checked, delete parked for a person, errors typed', async () => {
    const notes = await connect({ server: STDIO, trust: true });
    const agent = defineAgent({
      name: 'notes-agent',
      instructions: 'Keep notes.',
      model: simulated.script([
        { toolCalls: [{ tool: 'add_note', args: { title: 'plan', text: 'ship it' } }] },
        { toolCalls: [{ tool: 'add_note', args: { title: '' } }] },
        { toolCalls: [{ tool: 'read_note', args: { title: 'missing' } }] },
        { toolCalls: [{ tool: 'delete_note', args: { title: 'plan' } }] },
        { text: 'Done.' },
      ]),
      tools: notes.tools,
      limits: { maxRetries: 6 },
      backoff: { baseMs: 0, maxMs: 0 },
    });
    const { warden } = testWarden();
    const parked = await warden.run(agent, 'manage my notes');
    assert.equal(parked.status, 'waiting_approval');
    assert.deepEqual(
      parked.toolCalls.map((c) => [c.tool, c.status]),
      [
        ['add_note', 'executed'],
        ['add_note', 'rejected'],
        ['read_note', 'failed'],
        ['delete_note', 'pending_approval'],
      ],
    );
    const failed = (await warden.events(parked.runId)).find((e) => e.type === 'tool.failed');
    assert.match(failed?.type === 'tool.failed' ? failed.data.error.message : '', /No note titled "missing"/);
    await warden.approve(parked.pending!.id, { by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    const list = notes.tools.find((t) => t.name === 'list_notes')!;
    const titles = (await list.execute(
      {},
      { runId: 'r', callId: 'c', idempotencyKey: 'k', signal: new AbortController().signal, attempt: 1, agent: 'a', tenant: 't' },
    )) as { titles: string[] };
    assert.ok(!titles.titles.includes('plan'), 'the approved delete reached the server');
  });

  it('fails with a typed error when the server cannot be started', async () => {
    await assert.rejects(mcpTools({ server: { command: '/no/such/server' }, trust: true }), (e) => isWardenError(e, 'INVALID_CONFIG'));
  });
});

describe('MCP tools over Streamable HTTP on loopback', () => {
  it('imports and calls the tools of an HTTP server', async () => {
    const http: Server = createServer(async (req, res) => {
      const server = createNotesServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (http.address() as { port: number }).port;
      const notes = await connect({ server: { url: `http://127.0.0.1:${port}/mcp` }, trust: true });
      assert.equal(notes.tools.find((t) => t.name === 'delete_note')?.tier, 'delete');
      const read = notes.tools.find((t) => t.name === 'read_note')!;
      const out = await read.execute(
        { title: 'welcome' },
        { runId: 'r', callId: 'c', idempotencyKey: 'k', signal: new AbortController().signal, attempt: 1, agent: 'a', tenant: 't' },
      );
      assert.deepEqual(out, { text: 'Notes live in memory while this server runs.' });
      await notes.close();
    } finally {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});

describe('mcpTier', () => {
  it('never lets an untrusted annotation loosen a tier, and believes a stricter one from anyone', () => {
    assert.deepEqual(mcpTier('x', { readOnlyHint: true }, false), { tier: 'delete', source: 'untrusted' });
    assert.deepEqual(mcpTier('x', { destructiveHint: true }, false), { tier: 'delete', source: 'destructiveHint' });
    assert.deepEqual(mcpTier('x', { readOnlyHint: true }, true, { x: 'delete' }), { tier: 'delete', source: 'override' });
  });
});
