import type { Agent } from '../agent/agent.ts';
import type { PolicyDecision } from '../core/tiers.ts';
import type { AnyTool } from '../agent/tool.ts';
import { type BoundedAnswer, callWithin } from './bounded-call.ts';

export interface PolicyVerdict {
  decision: PolicyDecision;
  /** Which rule decided, e.g. `tier:delete`, `tool:refund.approval`, `rule:no-refunds-on-sunday`. */
  rule: string;
  reason: string;
}

/** How long an `approval` predicate or a rule's `when` may take before it counts as failed. */
export const DEFAULT_PREDICATE_TIMEOUT_MS = 5_000;

const STRICTNESS: Record<PolicyDecision, number> = { allow: 0, approve: 1, deny: 2 };

function stricter(a: PolicyVerdict, b: PolicyVerdict): PolicyVerdict {
  return STRICTNESS[b.decision] > STRICTNESS[a.decision] ? b : a;
}

/** What a predicate answered: a boolean, or why it gave none. */
export type PredicateAnswer = BoundedAnswer<boolean>;

/** Describes any thrown or returned value without throwing itself (a revoked Proxy throws on every touch). */
function describeValue(value: unknown): string {
  try {
    if (value instanceof Error) return value.message || value.name;
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'function') return 'a function';
    if (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function') return 'a promise-like object';
    return JSON.stringify(value) ?? String(value);
  } catch {
    return 'a value that cannot be read';
  }
}

/**
 * Asks a user predicate about `args`, awaiting it for at most `timeoutMs`. Anything but a boolean —
 * a throw (of anything), a rejection, a non-boolean answer, no answer in time — is a failure the
 * caller turns into the safe decision.
 */
export function askPredicate(predicate: (args: never) => unknown, args: unknown, timeoutMs: number): Promise<PredicateAnswer> {
  return callWithin(
    () => predicate(args as never),
    timeoutMs,
    (value) => (typeof value === 'boolean' ? { ok: true, value } : { ok: false, why: `returned ${describeValue(value)}, not true or false` }),
    describeValue,
  );
}

/**
 * Decides allow / approve / deny for one call. Inputs are the agent's declarations and the
 * arguments only: nothing the model says or a tool returns can change a tier or a rule.
 * The strictest verdict wins. Predicates may be async and are awaited (bounded by
 * `policy.predicateTimeoutMs`); one that fails — throws, rejects, answers anything but a boolean,
 * or does not answer in time — fails closed: an `approval` predicate asks a person, a `deny` or
 * `approve` rule matches, an `allow` rule does not.
 *
 * @example
 * const verdict = await decidePolicy(agent, refund, { orderId: 'o-1', amount: 5000 });
 * verdict.decision; // 'deny' when a rule says refunds above $1,000 are denied
 */
export async function decidePolicy(agent: Agent, tool: AnyTool, args: unknown): Promise<PolicyVerdict> {
  const timeoutMs = agent.policy.predicateTimeoutMs ?? DEFAULT_PREDICATE_TIMEOUT_MS;
  let verdict: PolicyVerdict;
  if (tool.tier === 'delete') {
    verdict = agent.policy.dangerouslyAllowDeleteWithoutApproval?.includes(tool.name)
      ? { decision: 'allow', rule: 'policy:dangerouslyAllowDeleteWithoutApproval', reason: 'delete tier, approval waived by the agent' }
      : { decision: 'approve', rule: 'tier:delete', reason: 'delete-tier tools always wait for a person' };
  } else if (tool.tier === 'read' || tool.tier === 'write') {
    verdict = { decision: 'allow', rule: `tier:${tool.tier}`, reason: `${tool.tier}-tier tools run unless a rule asks otherwise` };
  } else {
    // defineAgent refuses such a tool; should one get here anyway, a person decides.
    verdict = { decision: 'approve', rule: 'tier:unknown', reason: `the tool's tier ${describeValue(tool.tier)} is not read, write or delete` };
  }

  if (tool.approval === true) {
    verdict = stricter(verdict, { decision: 'approve', rule: `tool:${tool.name}.approval`, reason: 'the tool always asks for approval' });
  } else if (typeof tool.approval === 'function') {
    const answer = await askPredicate(tool.approval, args, timeoutMs);
    if (!answer.ok) {
      verdict = stricter(verdict, {
        decision: 'approve',
        rule: `tool:${tool.name}.approval`,
        reason: `the tool's approval predicate ${answer.why}, so a person decides`,
      });
    } else if (answer.value) {
      verdict = stricter(verdict, { decision: 'approve', rule: `tool:${tool.name}.approval`, reason: 'the tool asks for approval of these arguments' });
    }
  } else if (tool.approval !== undefined && tool.approval !== false) {
    verdict = stricter(verdict, {
      decision: 'approve',
      rule: `tool:${tool.name}.approval`,
      reason: `the tool's approval is ${describeValue(tool.approval)}, not a boolean or a predicate, so a person decides`,
    });
  }

  for (const rule of agent.policy.rules ?? []) {
    if (rule.tools && !rule.tools.includes(tool.name)) continue;
    if (rule.tiers && !rule.tiers.includes(tool.tier)) continue;
    let matches = true;
    let reason = rule.reason ?? `matched rule ${rule.name}`;
    if (rule.when) {
      const answer = await askPredicate(rule.when, args, timeoutMs);
      if (answer.ok) matches = answer.value;
      else {
        matches = rule.decision !== 'allow';
        reason = `rule ${rule.name}'s condition ${answer.why}; failing closed`;
      }
    }
    if (matches) verdict = stricter(verdict, { decision: rule.decision, rule: `rule:${rule.name}`, reason });
  }
  return verdict;
}

/** When an approval nobody decides expires, and what it then becomes. */
export interface ApprovalDeadline {
  /** ms since the epoch. */
  expiresAt: number;
  onTimeout: 'deny' | 'escalate';
}

/**
 * The deadline of an approval requested at `now`: the tool's `approval.timeoutMs`, else the
 * agent's `policy.approvalTimeoutMs`; null when neither sets one (it waits for a person). A plan's
 * approval (`tool` null) takes the policy's deadline and is always denied when it expires: a
 * refused plan lets the model propose another, while an escalated one would have no call to run.
 */
export function approvalDeadline(agent: Agent, tool: AnyTool | null, now: number): ApprovalDeadline | null {
  const timeoutMs = tool?.approvalDeadline?.timeoutMs ?? agent.policy.approvalTimeoutMs;
  if (timeoutMs === undefined) return null;
  const onTimeout = tool ? (tool.approvalDeadline?.onTimeout ?? agent.policy.onApprovalTimeout ?? 'deny') : 'deny';
  return { expiresAt: now + timeoutMs, onTimeout };
}
