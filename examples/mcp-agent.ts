/**
 * An agent whose tools come from an MCP server (the official SDK), governed like any other: tiers
 * from the server's annotations (trusted here), so listing notes runs, adding one writes, and
 * deleting one waits for a person. It starts its own server over stdio, so it runs offline:
 *   npx warden run examples/mcp-agent.ts --input "Tidy up my notes"
 *   npx warden audit examples/mcp-agent.ts      # shows where each tier came from
 */
import { fileURLToPath } from 'node:url';
import { defineAgent, mcpTools, simulated } from 'warden';

const notes = await mcpTools({
  server: { command: process.execPath, args: [fileURLToPath(new URL('./mcp-server/notes-server.ts', import.meta.url))], name: 'notes' },
  trust: true,
  // The server calls fetch_page read-only; it reaches the open web, so this agent asks for more care.
  tiers: { fetch_page: 'write' },
});

export default defineAgent({
  name: 'notes-keeper',
  description: 'Keeps a small set of notes through an MCP server.',
  instructions: 'Keep the notes tidy: list them, add what is missing, and delete stale ones.',
  model: simulated.script([
    { toolCalls: [{ tool: 'list_notes', args: {} }], rationale: 'See what is there first.' },
    { toolCalls: [{ tool: 'add_note', args: { title: 'todo', text: 'Review the refund policy.' } }], rationale: 'The todo note is missing.' },
    { toolCalls: [{ tool: 'delete_note', args: { title: 'welcome' } }], rationale: 'The welcome note is stale.' },
    { text: 'Listed the notes, added "todo" and removed the stale welcome note.' },
  ]),
  tools: notes.tools,
  limits: { maxSteps: 8, maxToolCalls: 6, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: 0.02 },
});
