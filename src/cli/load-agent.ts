import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Agent } from '../agent/agent.ts';
import { WardenError } from '../errors.ts';

/** Imports an agent file (a TypeScript or JavaScript module whose default export is `defineAgent(…)`). */
export async function loadAgent(file: string): Promise<{ agent: Agent; path: string }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new WardenError('AGENT_LOAD_FAILED', `Agent file not found: ${path}`);
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(path).href);
  } catch (cause) {
    throw new WardenError('AGENT_LOAD_FAILED', `Could not load agent file ${path}: ${(cause as Error).message}`, { cause });
  }
  const agent = module.default as Agent | undefined;
  if (!agent || agent.kind !== 'warden.agent') {
    throw new WardenError('AGENT_LOAD_FAILED', `${path} must have a default export made with defineAgent(…)`);
  }
  return { agent, path };
}
