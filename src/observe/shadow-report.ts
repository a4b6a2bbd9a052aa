import type { Tier } from '../core/tiers.ts';
import type { PolicyDecision } from '../core/tiers.ts';
import type { Store } from '../core/ports/store.ts';

/** One action a shadow run would have taken. */
export interface WouldBeAction {
  runId: string;
  agent: string;
  tenant: string;
  at: number;
  tool: string;
  tier: Tier;
  args: unknown;
  /** The policy decision it would have met: run, wait for a person, or be refused. */
  decision: PolicyDecision;
  rule: string;
  reason: string;
}

export interface ShadowReport {
  runs: number;
  actions: WouldBeAction[];
  /** Counts per tool and decision, for a quick read before granting the privilege. */
  byTool: Record<string, Record<PolicyDecision, number>>;
}

/**
 * Every action shadow runs would have taken, with the policy decision each would have met —
 * what a team reviews before letting the agent write for real.
 *
 * @example
 * const week = await shadowReport(store, { agent: 'support-desk', since: Date.now() - 7 * 864e5 });
 */
export async function shadowReport(store: Store, filter: { agent?: string; tenant?: string; since?: number; limit?: number } = {}): Promise<ShadowReport> {
  const runs = await store.listRuns({ ...filter, limit: filter.limit ?? 10_000 });
  const actions: WouldBeAction[] = [];
  let shadowRuns = 0;
  for (const run of runs) {
    const events = await store.loadEvents(run.runId);
    const submitted = events[0];
    if (submitted?.type !== 'run.submitted' || submitted.data.mode !== 'shadow') continue;
    shadowRuns++;
    for (const e of events) {
      if (e.type === 'tool.shadowed') {
        actions.push({
          runId: run.runId,
          agent: run.agent,
          tenant: run.tenant,
          at: e.at,
          tool: e.data.tool,
          tier: e.data.tier,
          args: e.data.args,
          decision: e.data.decision,
          rule: e.data.rule,
          reason: e.data.reason,
        });
      } else if (e.type === 'tool.denied') {
        const call = events.find((x) => x.type === 'policy.decided' && x.data.callId === e.data.callId);
        if (call?.type === 'policy.decided' && call.data.tier !== 'read') {
          const proposed = events.find((x) => x.type === 'model.called' && x.data.turn.toolCalls.some((c) => c.callId === e.data.callId));
          const args = proposed?.type === 'model.called' ? proposed.data.turn.toolCalls.find((c) => c.callId === e.data.callId)?.args : undefined;
          actions.push({
            runId: run.runId,
            agent: run.agent,
            tenant: run.tenant,
            at: e.at,
            tool: e.data.tool,
            tier: call.data.tier,
            args,
            decision: 'deny',
            rule: call.data.rule,
            reason: call.data.reason,
          });
        }
      }
    }
  }
  actions.sort((a, b) => a.at - b.at);
  const byTool: ShadowReport['byTool'] = {};
  for (const a of actions) {
    const counts = byTool[a.tool] ?? { allow: 0, approve: 0, deny: 0 };
    counts[a.decision]++;
    byTool[a.tool] = counts;
  }
  return { runs: shadowRuns, actions, byTool };
}
