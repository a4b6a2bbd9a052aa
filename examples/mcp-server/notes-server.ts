/**
 * A small MCP server (the official SDK) for the MCP example and tests: notes kept in memory.
 * Run over stdio: `node examples/mcp-server/notes-server.ts`; `createNotesServer()` for HTTP.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

export function createNotesServer(): McpServer {
  const notes = new Map<string, string>([['welcome', 'Notes live in memory while this server runs.']]);
  const server = new McpServer({ name: 'notes', version: '1.0.0' });
  server.registerTool(
    'list_notes',
    { description: 'List the titles of all notes.', inputSchema: {}, annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false } },
    async () => ({ content: [{ type: 'text', text: JSON.stringify({ titles: [...notes.keys()] }) }] }),
  );
  server.registerTool(
    'read_note',
    { description: 'Read one note by title.', inputSchema: { title: z.string().min(1) }, annotations: { readOnlyHint: true, idempotentHint: true } },
    async ({ title }) =>
      notes.has(title)
        ? { content: [{ type: 'text', text: notes.get(title)! }] }
        : { isError: true, content: [{ type: 'text', text: `No note titled "${title}"` }] },
  );
  server.registerTool(
    'add_note',
    {
      description: 'Add or replace a note.',
      inputSchema: { title: z.string().min(1), text: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    },
    async ({ title, text }) => {
      notes.set(title, text);
      return { content: [{ type: 'text', text: JSON.stringify({ saved: title, notes: notes.size }) }], structuredContent: { saved: title, notes: notes.size } };
    },
  );
  server.registerTool(
    'delete_note',
    { description: 'Delete a note for good.', inputSchema: { title: z.string().min(1) }, annotations: { readOnlyHint: false, destructiveHint: true } },
    async ({ title }) => ({ content: [{ type: 'text', text: JSON.stringify({ deleted: notes.delete(title) }) }] }),
  );
  server.registerTool(
    'fetch_page',
    {
      description: 'Fetch a web page (open world: the server says it reaches outside).',
      inputSchema: { url: z.string() },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async ({ url }) => ({ content: [{ type: 'text', text: `(offline example) would fetch ${url}` }] }),
  );
  return server;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await createNotesServer().connect(new StdioServerTransport());
}
