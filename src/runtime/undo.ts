import type { Agent } from '../agent/agent.ts';
import { delegateTarget } from '../agent/agent.ts';
import { isReversible, type AnyTool } from '../agent/tool.ts';
import { backoffMs } from './backoff.ts';
import type { RunState } from '../core/run-state.ts';
import type { CompensationState } from '../core/run-state.ts';
import type { RunContext } from './run-context.ts';
import { invoke } from './tool-step.ts';
import { undoApprovalId, undoEscalationId, undoKey } from '../core/ids.ts';
import { mustExist, WardenError } from '../core/errors.ts';
import { undoStepLabel, type UndoStepLabel } from '../core/projection.ts';

/** One executed call as an undo sees it. */
export interface UndoStep {
  callId: string;
  tool: string;
  reversible: boolean;
  status: CompensationState['status'];
  /** The state in words every view uses (`core/projection.ts`): before any undo, every step is `planned` or `irreversible`. */
  state: UndoStepLabel;
}

/** What an undo did, or (dry run) would do. */
export interface UndoReport {
  runId: string;
  dryRun: boolean;
  status: 'completed' | 'waiting_approval' | 'escalated' | 'planned';
  /** Newest first: the order compensations run in. */
  steps: UndoStep[];
  reversed: string[];
  skipped: string[];
  /** Calls with no compensation: left alone. Never silently. */
  irreversible: { callId: string; tool: string }[];
  pending: { id: string; kind: 'approval' | 'escalation'; callId: string; tool: string; reason: string } | null;
}

/** The run's executed write and delete calls, newest first, each with whether it can be reversed. */
export function undoOrder(state: RunState, agent: Agent): { callId: string; tool: string; reversible: boolean }[] {
  const order = [];
  for (const callId of [...state.executedOrder].reverse()) {
    const call = mustExist(state.calls.get(callId), 'the call in the run state');
    const tool = agent.toolsByName.get(call.tool);
    const tier = call.tier ?? tool?.tier;
    if (tier === 'read' && !delegateTarget(tool)) continue; // nothing to reverse
    order.push({ callId, tool: call.tool, reversible: tool !== undefined && isReversible(tool) });
  }
  return order;
}

function needsPerson(agent: Agent, tool: AnyTool): boolean {
  return tool.tier === 'delete' || (agent.policy.compensationApproval ?? []).includes(tool.name);
}

/**
 * Reverses the run's executed calls, newest first, one durable step each: `compensation.started`
 * is committed before the compensation runs and its outcome after, so an undo killed half-way
 * resumes where it stopped and never reverses anything twice (an in-flight one is retried with
 * the same idempotency key). Irreversible calls are listed and left alone; a delete-tier tool's
 * compensation, or one the policy names, waits for a person; a compensation that keeps failing
 * is escalated after its retries.
 */
export async function driveUndo(ctx: RunContext, by: string, reason: string): Promise<void> {
  if (!ctx.state.undo) ctx.emit('undo.started', { by, reason, order: undoOrder(ctx.state, ctx.agent) });
  const undo = mustExist(ctx.state.undo, 'the undo just started');
  if (undo.status === 'completed') return;
  for (const callId of undo.order) {
    for (;;) {
      const comp = mustExist(mustExist(ctx.state.undo, 'the undo of the run').compensations.get(callId), 'the compensation of the call');
      if (comp.status === 'done' || comp.status === 'skipped' || comp.status === 'irreversible') break;
      if (comp.status === 'approval' || comp.status === 'escalated') return ctx.flush(); // a person decides first
      const call = mustExist(ctx.state.calls.get(callId), 'the call in the run state');
      const tool = mustExist(ctx.agent.toolsByName.get(call.tool), 'the tool the call names');
      if (comp.status === 'pending' && needsPerson(ctx.agent, tool)) {
        const approvalId = undoApprovalId(ctx.runId, callId);
        const why = tool.tier === 'delete' ? 'reversing a delete-tier call waits for a person' : `the policy sends ${tool.name}'s compensation to a person`;
        ctx.emit('compensation.requested', { callId, approvalId, tool: tool.name, reason: why });
        ctx.intervene({
          id: approvalId,
          kind: 'approval',
          callId,
          tool: tool.name,
          args: call.args,
          argsHash: call.argsHash,
          reason: `undo: ${why}`,
          evidence: { compensation: true, result: call.result ?? null },
          requestedAt: ctx.now(),
        });
        return ctx.flush();
      }
      const attempt = comp.attempts + 1;
      const key = undoKey(ctx.runId, callId);
      ctx.emit('compensation.started', { callId, tool: tool.name, attempt, idempotencyKey: key });
      await ctx.flush();
      const started = ctx.now();
      // Parsed inside the call: a schema transform that throws fails this step like compensate would.
      const outcome = await invoke(ctx, tool, call.args, callId, key, attempt, (context) => {
        if (!tool.compensate) throw new WardenError('INTERNAL', `Invariant broken: ${tool.name} has a pending compensation but no compensate`);
        return tool.compensate(tool.input.parse(call.args), call.result, context);
      });
      if (outcome.ok) {
        ctx.emit('compensation.succeeded', { callId, tool: tool.name, attempt, result: outcome.result, durationMs: ctx.now() - started });
        await ctx.flush();
        break;
      }
      const willRetry = attempt <= tool.retries && !ctx.signal.aborted;
      ctx.emit('compensation.failed', {
        callId,
        tool: tool.name,
        attempt,
        error: { code: outcome.code, message: outcome.message },
        willRetry,
        ...(outcome.unknown ? { unknownOutcome: true } : {}),
      });
      if (ctx.signal.aborted) return ctx.flush();
      if (willRetry) {
        await ctx.flush();
        await ctx.sleep(backoffMs(attempt, ctx.agent.backoff, undefined, ctx.random), ctx.signal).catch(() => {});
        continue;
      }
      const escalationId = undoEscalationId(ctx.runId, callId, attempt);
      const detail = `${tool.name}'s compensation failed ${attempt} time(s) (last: ${outcome.message}); a person decides: try again, skip, or mark it reversed by hand`;
      ctx.emit('compensation.escalated', { callId, escalationId, tool: tool.name, reason: detail });
      ctx.intervene({
        id: escalationId,
        kind: 'escalation',
        callId,
        tool: tool.name,
        args: call.args,
        argsHash: call.argsHash,
        reason: detail,
        evidence: { compensation: true, error: outcome.message, attempts: attempt },
        requestedAt: ctx.now(),
      });
      return ctx.flush();
    }
  }
  const comps = [...mustExist(ctx.state.undo, 'the undo of the run').compensations.values()];
  ctx.emit('undo.completed', {
    reversed: comps.filter((c) => c.status === 'done').map((c) => c.callId),
    skipped: comps.filter((c) => c.status === 'skipped').map((c) => c.callId),
    irreversible: comps.filter((c) => c.status === 'irreversible').map((c) => ({ callId: c.callId, tool: c.tool })),
  });
  await ctx.flush();
}

/** The undo as the log says it stands (or, before any undo, what one would do). */
export function undoReport(state: RunState, agent: Agent, dryRun: boolean): UndoReport {
  const { undo } = state;
  const comps: CompensationState[] = undo
    ? [...undo.order].map((id) => mustExist(undo.compensations.get(id), 'the compensation of the call'))
    : undoOrder(state, agent).map((o) => ({ callId: o.callId, tool: o.tool, status: o.reversible ? 'pending' : 'irreversible', attempts: 0 }));
  const waiting = comps.find((c) => c.status === 'approval' || c.status === 'escalated');
  const status =
    !state.undo || dryRun
      ? 'planned'
      : state.undo.status === 'completed'
        ? 'completed'
        : waiting?.status === 'escalated'
          ? 'escalated'
          : waiting
            ? 'waiting_approval'
            : 'planned';
  return {
    runId: state.runId,
    dryRun,
    status,
    steps: comps.map((c) => ({
      callId: c.callId,
      tool: c.tool,
      reversible: c.status !== 'irreversible',
      status: c.status,
      state: undoStepLabel(c.status),
    })),
    reversed: comps.filter((c) => c.status === 'done').map((c) => c.callId),
    skipped: comps.filter((c) => c.status === 'skipped').map((c) => c.callId),
    irreversible: comps.filter((c) => c.status === 'irreversible').map((c) => ({ callId: c.callId, tool: c.tool })),
    pending: waiting
      ? {
          id: mustExist(waiting.status === 'escalated' ? waiting.escalationId : waiting.approvalId, 'the intervention the undo waits on'),
          kind: waiting.status === 'escalated' ? 'escalation' : 'approval',
          callId: waiting.callId,
          tool: waiting.tool,
          reason: waiting.status === 'escalated' ? 'its compensation kept failing' : 'its compensation waits for a person',
        }
      : null,
  };
}
