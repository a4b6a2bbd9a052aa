import { type LoadedAgent, loadAgent } from '../agent/load-agent.ts';
import { closeAllMcp } from '../tools/mcp/mcp-tools.ts';
import { onShutdown } from './shutdown.ts';

/**
 * Loads an agent file for a CLI command. An agent file may open MCP connections (a stdio server is
 * a child process): they are closed when the command ends, however it ends.
 */
export function loadCommandAgent(file: string): Promise<LoadedAgent> {
  onShutdown(closeAllMcp);
  return loadAgent(file);
}
