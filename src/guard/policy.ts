import type { Agent, PolicyDecision } from '../agent/agent.ts';
import type { AnyTool } from '../agent/tool.ts';
import { describeError } from '../errors.ts';

export interface PolicyVerdict {
  decision: PolicyDecision;
  /** Which rule decided, e.g. `tier:delete`, `tool:refund.approval`, `rule:no-refunds-on-sunday`. */
  rule: string;
  reason: string;
}

const STRICTNESS: Record<PolicyDecision, number> = { allow: 0, approve: 1, deny: 2 };

function stricter(a: PolicyVerdict, b: PolicyVerdict): PolicyVerdict {
  return STRICTNESS[b.decision] > STRICTNESS[a.decision] ? b : a;
}

/**
 * Decides allow / approve / deny for one call. Inputs are the agent's declarations and the
 * arguments only: nothing the model says or a tool returns can change a tier or a rule.
 * The strictest verdict wins; a predicate that throws fails closed (asks a person).
 */
export function decidePolicy(agent: Agent, tool: AnyTool, args: unknown): PolicyVerdict {
  let verdict: PolicyVerdict;
  if (tool.tier === 'delete') {
    verdict = agent.policy.dangerouslyAllowDeleteWithoutApproval?.includes(tool.name)
      ? { decision: 'allow', rule: 'policy:dangerouslyAllowDeleteWithoutApproval', reason: 'delete tier, approval waived by the agent' }
      : { decision: 'approve', rule: 'tier:delete', reason: 'delete-tier tools always wait for a person' };
  } else {
    verdict = { decision: 'allow', rule: `tier:${tool.tier}`, reason: `${tool.tier}-tier tools run unless a rule asks otherwise` };
  }

  if (tool.approval === true) {
    verdict = stricter(verdict, { decision: 'approve', rule: `tool:${tool.name}.approval`, reason: 'the tool always asks for approval' });
  } else if (typeof tool.approval === 'function') {
    let asks: boolean;
    let reason = 'the tool asks for approval of these arguments';
    try {
      asks = tool.approval(args) === true;
    } catch (e) {
      asks = true;
      reason = `the tool's approval predicate threw (${describeError(e)}), so a person decides`;
    }
    if (asks) verdict = stricter(verdict, { decision: 'approve', rule: `tool:${tool.name}.approval`, reason });
  }

  for (const rule of agent.policy.rules ?? []) {
    if (rule.tools && !rule.tools.includes(tool.name)) continue;
    if (rule.tiers && !rule.tiers.includes(tool.tier)) continue;
    let matches = true;
    let reason = rule.reason ?? `matched rule ${rule.name}`;
    if (rule.when) {
      try {
        matches = rule.when(args) === true;
      } catch (e) {
        matches = rule.decision !== 'allow';
        reason = `rule ${rule.name} threw (${describeError(e)}); failing closed`;
      }
    }
    if (matches) verdict = stricter(verdict, { decision: rule.decision, rule: `rule:${rule.name}`, reason });
  }
  return verdict;
}
