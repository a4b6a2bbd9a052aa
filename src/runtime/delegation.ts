import type { Agent } from '../agent/agent.ts';
import type { Limits } from '../core/limits.ts';
import { remainingNano } from '../guard/budget.ts';
import { activeMs, type LimitHit } from '../guard/limits.ts';
import type { RunMode } from '../core/events.ts';
import type { CallState, RunState } from '../core/run-state.ts';
import type { RunResult } from './run-result.ts';
import { nanoToUsd } from '../core/money.ts';
import { childRunId } from '../core/ids.ts';
import { mustExist } from '../core/errors.ts';

/** What the runtime needs from Warden to start and drive a child run. */
export interface ChildRunner {
  /** Records the child run (idempotent: the id is derived from the parent call). */
  create(spec: ChildSpec): Promise<void>;
  /** Drives the child until it ends or waits for a person; aborted with the parent. */
  drive(agent: Agent, runId: string, signal: AbortSignal): Promise<RunResult>;
}

export interface ChildSpec {
  runId: string;
  agent: Agent;
  task: string;
  tenant: string;
  rootRunId: string;
  parentRunId: string;
  lineage: { runId: string; agent: string }[];
  limits: Limits;
  agentFile?: string;
  /** A child of a shadow run is a shadow run. */
  mode: RunMode;
  /** A child of a conversation's turn spends against the conversation's ceiling too. */
  conversation?: { id: string; turn: number };
}

export type ChildOutcome =
  | { kind: 'completed'; result: { output: string; runId: string } }
  | { kind: 'parked'; status: 'waiting_approval' | 'escalated'; pendingId: string; reason: string }
  | { kind: 'ended'; message: string; deadlock?: string };

/** What delegation needs of the parent's session (a `RunContext` is one). */
export interface DelegationSession {
  readonly state: RunState;
  readonly agent: Agent;
  readonly children?: ChildRunner;
  readonly signal: AbortSignal;
  now(): number;
}

/**
 * Checks that a delegation may start: depth, total children, and cycles (an agent that would wait
 * on itself through its descendants). Returns the limit it would cross, if any.
 */
export function delegationLimit(ctx: DelegationSession, child: Agent, pending = 0): LimitHit | null {
  const s = ctx.state;
  const { maxDepth, maxChildren } = ctx.agent.delegation;
  const chain = [...s.lineage, { runId: s.runId, agent: s.agent }];
  const again = chain.findIndex((a) => a.agent === child.name);
  if (again >= 0) {
    const cycle = [...chain.slice(again).map((a) => `${a.agent} (${a.runId})`), child.name];
    return { limit: 'deadlock', detail: `Delegation cycle: ${cycle.join(' → ')}. Each would wait for the next, which waits for the first.` };
  }
  if (s.lineage.length + 1 > maxDepth) {
    return {
      limit: 'max_depth',
      detail: `Delegating to ${child.name} would make the tree ${s.lineage.length + 1} levels deep; the limit is ${maxDepth} (delegation.maxDepth).`,
    };
  }
  if (s.children.size + pending >= maxChildren) {
    return {
      limit: 'max_children',
      detail: `The run already started ${s.children.size + pending} child runs; the limit is ${maxChildren} (delegation.maxChildren).`,
    };
  }
  return null;
}

/** The child's run: the parent's remaining ceiling and wall time are its own limits' upper bounds. */
export function childSpec(ctx: DelegationSession, call: CallState, child: Agent, task: string): ChildSpec {
  const s = ctx.state;
  const leftUsd = nanoToUsd(Math.max(0, remainingNano(s)));
  const leftMs = Math.max(1, s.limits.maxWallMs - activeMs(s, ctx.now()));
  return {
    runId: childRunId(s.runId, call.callId),
    agent: child,
    task,
    tenant: s.tenant,
    rootRunId: s.rootRunId,
    parentRunId: s.runId,
    lineage: [...s.lineage, { runId: s.runId, agent: s.agent }],
    limits: { ...child.limits, maxCostUsd: Math.min(child.limits.maxCostUsd, leftUsd), maxWallMs: Math.min(child.limits.maxWallMs, leftMs) },
    ...(s.agentFile ? { agentFile: s.agentFile } : {}),
    mode: s.mode,
    ...(s.conversation ? { conversation: { ...s.conversation } } : {}),
  };
}

/** Drives a child to its end or its first wait, and says what the parent should record. */
export async function runChild(ctx: DelegationSession, child: Agent, runId: string): Promise<ChildOutcome> {
  const result = await mustExist(ctx.children, 'the child runner of an agent that delegates').drive(child, runId, ctx.signal);
  switch (result.status) {
    case 'completed':
      return { kind: 'completed', result: { output: result.output ?? '', runId } };
    case 'waiting_approval':
    case 'escalated':
      return {
        kind: 'parked',
        status: result.status,
        pendingId: result.pending?.id ?? '',
        reason: `${child.name} (${runId}) waits for a person: ${result.pending?.reason ?? result.status}`,
      };
    default: {
      const why = result.stopReason ? `${result.stopReason}${result.stopDetail ? ` — ${result.stopDetail}` : ''}` : (result.error?.message ?? result.status);
      return {
        kind: 'ended',
        message: `${child.name} (${runId}) ended ${result.status}: ${why}`,
        ...(result.stopReason === 'deadlock' ? { deadlock: result.stopDetail ?? 'deadlock in a child run' } : {}),
      };
    }
  }
}
