import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Agent } from './agent.ts';
import { describeError, WardenError } from '../core/errors.ts';

/** An agent and the absolute path of the file it was loaded from. */
export interface LoadedAgent {
  agent: Agent;
  path: string;
}

/** Imports an agent file (a TypeScript or JavaScript module whose default export is `defineAgent(…)`). */
export async function loadAgent(file: string): Promise<LoadedAgent> {
  const path = resolve(file);
  if (!existsSync(path)) throw new WardenError('AGENT_LOAD_FAILED', `Agent file not found: ${path}`);
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(path).href);
  } catch (cause) {
    const at = syntaxErrorLocation(cause) ?? checkedSyntaxLocation(cause, path);
    if (at)
      throw new WardenError('AGENT_LOAD_FAILED', `Could not load agent file ${path}: syntax error at ${at.where}: ${(cause as Error).message}\n${at.excerpt}`, {
        cause,
      });
    throw new WardenError('AGENT_LOAD_FAILED', `Could not load agent file ${path}: ${describeError(cause)}`, { cause });
  }
  const agent = module.default as Agent | undefined;
  if (agent?.kind !== 'warden.agent') {
    throw new WardenError('AGENT_LOAD_FAILED', `${path} must have a default export made with defineAgent(…)`);
  }
  return { agent, path };
}

/**
 * Where a syntax error is (`file:line:column`, and the line with a caret under the spot), read from
 * the first lines of the stack Node gives a module that does not parse, JavaScript or TypeScript:
 * `/path/agent.ts:4`, the offending line, then a line holding the caret.
 */
export function syntaxErrorLocation(e: unknown): { where: string; excerpt: string } | null {
  if (!(e instanceof SyntaxError) || typeof e.stack !== 'string') return null;
  return locationIn(e.stack);
}

/**
 * For an ES module, V8 keeps the location out of the error's stack; `node --check` prints it. Only
 * on this error path, so a file that loads costs nothing extra.
 */
function checkedSyntaxLocation(e: unknown, path: string): { where: string; excerpt: string } | null {
  if (!(e instanceof SyntaxError)) return null;
  const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  return check.status === 0 ? null : locationIn(check.stderr ?? '');
}

function locationIn(text: string): { where: string; excerpt: string } | null {
  const lines = text.split('\n');
  const head = /^(.+):(\d+)$/.exec(lines[0] ?? '');
  const caret = lines.findIndex((l, i) => i > 0 && /^\s*\^+\s*$/.test(l));
  if (!head || caret < 2) return null;
  const column = (lines[caret] ?? '').indexOf('^') + 1;
  const file = head[1]!.replace(/^file:\/\//, '');
  return { where: `${file}:${head[2]}:${column}`, excerpt: `  ${lines[caret - 1]}\n  ${lines[caret]}` };
}
