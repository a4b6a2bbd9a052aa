import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Agent } from '../agent/agent.ts';
import { loadAgent } from '../agent/load-agent.ts';
import { WardenError } from '../core/errors.ts';
import type { RunRecord, Store } from '../core/ports/store.ts';

/** Where a worker gets the agent definition of a run it claimed. */
export interface AgentCatalog {
  /** Agent names this catalog can serve, or undefined for "whatever a run names". */
  readonly names: readonly string[] | undefined;
  agentFor(run: RunRecord): Promise<Agent>;
  /** The module an agent came from, when the catalog knows it (recorded on runs it submits). */
  pathOf?(name: string): string | undefined;
}

const MODULE = /\.(ts|mts|js|mjs)$/;

/**
 * Agents from the modules in `dir` (each default-exports `defineAgent(…)`), by name. A worker
 * with this catalog claims only runs of these agents and never imports code named by the
 * database, so runs submitted from another machine (another path) run here too.
 *
 * @example
 * const catalog = await agentsFromDir('agents/');
 */
export async function agentsFromDir(dir: string): Promise<AgentCatalog> {
  const root = resolve(dir);
  let files: string[];
  try {
    files = readdirSync(root).filter((f) => MODULE.test(f) && !f.endsWith('.d.ts') && !/\.test\.[mc]?[tj]s$/.test(f));
  } catch (cause) {
    throw new WardenError('INVALID_CONFIG', `Cannot read the agents directory ${root}: ${(cause as Error).message}`, { cause });
  }
  const byName = new Map<string, Agent>();
  const paths = new Map<string, string>();
  for (const file of files.sort()) {
    const { agent, path } = await loadAgent(join(root, file));
    if (byName.has(agent.name)) throw new WardenError('INVALID_CONFIG', `Two modules in ${root} define agent "${agent.name}" (the second is ${path})`);
    byName.set(agent.name, agent);
    paths.set(agent.name, path);
  }
  if (byName.size === 0) throw new WardenError('INVALID_CONFIG', `No agent modules in ${root}`);
  return {
    names: [...byName.keys()],
    pathOf: (name) => paths.get(name),
    async agentFor(run) {
      const agent = byName.get(run.agent);
      if (!agent) throw new WardenError('AGENT_LOAD_FAILED', `This worker has no agent "${run.agent}" (run ${run.runId})`, { context: { runId: run.runId } });
      return agent;
    },
  };
}

/**
 * Agents loaded from the file each run recorded at submission (`run.submitted.agentFile`),
 * imported once per file and cached.
 *
 * @example
 * const catalog = agentsByRecordedPath(store);
 */
export function agentsByRecordedPath(store: Store): AgentCatalog {
  const cache = new Map<string, Promise<Agent>>();
  return {
    names: undefined,
    async agentFor(run) {
      const [submitted] = await store.loadEvents(run.runId, 0);
      const file = submitted?.type === 'run.submitted' ? submitted.data.agentFile : undefined;
      if (!file) {
        throw new WardenError('AGENT_LOAD_FAILED', `Run ${run.runId} does not record its agent file; run the worker with --agents DIR`, {
          context: { runId: run.runId },
        });
      }
      let loading = cache.get(file);
      if (!loading) {
        loading = loadAgent(file).then((l) => l.agent);
        cache.set(file, loading);
        // A failed import is not cached: the file may be deployed by the next attempt.
        loading.catch(() => cache.delete(file));
      }
      return loading;
    },
  };
}
