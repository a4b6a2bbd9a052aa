import type { Agent } from './agent.ts';

/** Agents built by the rehearsal: simulated model, simulated tool bodies. */
const rehearsalAgents = new WeakSet<Agent>();

/**
 * Marks an agent as a rehearsal's stand-in (its tools are simulations). Only `rehearsalAgent`
 * calls it. The runtime lets such an agent drive only runs in `rehearsal` mode, and runs in
 * `rehearsal` mode only such an agent, so a rehearsal's runs can never reach a real tool.
 */
export function markRehearsalAgent(agent: Agent): Agent {
  rehearsalAgents.add(agent);
  return agent;
}

/** True for an agent `rehearsalAgent` built. */
export function isRehearsalAgent(agent: Agent): boolean {
  return rehearsalAgents.has(agent);
}
