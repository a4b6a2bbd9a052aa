import type { Agent } from '../agent/agent.ts';
import { delegateTarget } from '../agent/agent.ts';
import type { AnyTool, ToolContext } from '../agent/tool.ts';
import { toolCallPrice } from '../agent/tool.ts';
import { describeError, isWardenError, mustExist } from '../core/errors.ts';
import { checkArgs } from '../guard/check-args.ts';
import { formatUsd, usdToNano } from '../core/money.ts';
import { canRetry, limitBeforeToolCall, retriesHit, wallTimeHit } from '../guard/limits.ts';
import { remainingNano } from '../guard/budget.ts';
import { type ChildOutcome, childSpec, delegationLimit, runChild } from './delegation.ts';
import { childRunId, idempotencyKey } from '../core/ids.ts';
import { acquireLocks, lockKeyOf, releaseLocks } from './entity-locks.ts';
import { breakerOutcome, breakerRefusal, countAttempt, retryBudgetRefusal } from './scheduling.ts';
import { backoffMs } from './backoff.ts';
import { callDeadline } from './call-timer.ts';
import type { CallState } from '../core/run-state.ts';
import type { RunContext } from './run-context.ts';
import { stopRun } from './decide/run-end.ts';
import { escalateUnknownOutcome } from './decide/session-start.ts';
import { reserve, settle } from './decide/ledger.ts';
import { emitGuardDecisions, escalateGuarded, GUARD_BLOCKED_CODE, guardInfo, stopGuardBlocked } from './guard-step.ts';
import { runGuards } from '../guard/content-guards.ts';

/** Largest tool result kept in the log; a bigger one is an error the model is told about. */
export const MAX_RESULT_BYTES = 256 * 1024;

/** A call of the batch, ready to go: what to run and what was reserved for it. */
interface Launch {
  call: CallState;
  tool: AnyTool;
  args: unknown;
  attempt: number;
  priceNano: number;
  reservationId: string;
  child?: Agent;
  childId?: string;
}

type Settled = { launch: Launch; outcome: Outcome | ChildOutcome; durationMs: number };

/**
 * Runs the current turn's ready calls, several at a time (`parallelToolCalls`, and at most
 * `delegation.maxChildrenInFlight` children), and records their outcomes in the order the model
 * proposed them. `tool.started` is committed for every call of the batch before any of them runs.
 */
export async function executeReady(ctx: RunContext): Promise<void> {
  const s = ctx.state;
  const last = mustExist(s.turns.at(-1), 'the model turn whose calls are ready');
  const open = last.callIds
    .map((id) => mustExist(s.calls.get(id), 'the call in the run state'))
    .filter((c) => c.status === 'ready' || (c.status === 'running' && s.children.has(c.callId)));
  const room = s.limits.maxToolCalls - s.toolCalls;
  const batch: CallState[] = [];
  const keys = new Set<string>();
  const wanted: { call: CallState; key: string; tool: AnyTool }[] = [];
  let children = 0;
  let first = 0;
  for (const c of open) {
    if (batch.length >= ctx.agent.parallelToolCalls) break;
    const tool = mustExist(ctx.agent.toolsByName.get(c.tool), 'the tool the call names');
    const child = delegateTarget(tool);
    if (child && children >= ctx.agent.delegation.maxChildrenInFlight) continue;
    if (c.status === 'ready' && c.attempts === 0 && first >= room) continue;
    let key: string | null = null;
    if (c.status === 'ready') {
      const checked = checkArgs(tool.input, c.args);
      if (!checked.ok) {
        // Vetted arguments that no longer pass their schema (a stateful transform): a named failure.
        ctx.emit('tool.failed', {
          callId: c.callId,
          tool: c.tool,
          attempt: c.attempts + 1,
          error: { code: 'INVALID_TOOL_ARGS', message: `${c.tool}: the arguments no longer pass the schema as the call is about to run (${checked.message})` },
          durationMs: 0,
          willRetry: false,
        });
        continue;
      }
      try {
        key = lockKeyOf(tool, checked.data);
      } catch (e) {
        ctx.emit('tool.failed', {
          callId: c.callId,
          tool: c.tool,
          attempt: c.attempts + 1,
          error: { code: 'TOOL_FAILED', message: `${c.tool}: lockKey threw (${describeError(e)})` },
          durationMs: 0,
          willRetry: false,
        });
        continue;
      }
      if (key && keys.has(key)) continue; // same entity twice in one turn: one after the other
    }
    if (key) {
      keys.add(key);
      wanted.push({ call: c, key, tool });
    }
    if (child) children++;
    if (c.status === 'ready' && c.attempts === 0) first++;
    batch.push(c);
  }
  if (batch.length === 0) {
    if (open.length > 0 && first >= room)
      return stopRun(ctx, limitBeforeToolCall(s, ctx.now()) ?? { limit: 'max_tool_calls', detail: 'No tool calls left (maxToolCalls).' });
    return;
  }
  const wall = wallTimeHit(s, ctx.now());
  if (wall) return stopRun(ctx, wall);

  const locked = await acquireLocks(ctx, wanted);
  if (!locked.ok) {
    await releaseLocks(ctx, locked.locks);
    return stopRun(
      ctx,
      locked.deadlock ? { limit: 'deadlock', detail: locked.detail } : (wallTimeHit(ctx.state, ctx.now()) ?? { limit: 'wall_time', detail: locked.detail }),
    );
  }
  try {
    await ctx.beforeReservation();
    const launches = prepare(ctx, batch);
    if (!launches) return;
    await ctx.flush();
    if (ctx.budgetRefusal) return;
    for (const l of launches)
      if (l.child)
        await mustExist(ctx.children, 'the child runner of an agent that delegates').create(childSpec(ctx, l.call, l.child, (l.args as { task: string }).task));
    const settled = await Promise.all(launches.map((l) => launch(ctx, l)));
    await record(ctx, settled);
    // The outcomes are written with whatever comes next (the next model call's reservation is
    // flushed before that call): one transaction where there were two. Not while entity locks are
    // held: they are released below, and the next holder must see these outcomes written.
    if (locked.locks.length === 0) ctx.seal();
    else await ctx.flush();
  } finally {
    await releaseLocks(ctx, locked.locks);
  }
}

/**
 * Reserves priced calls, checks delegation limits and writes `tool.started` (and `child.spawned`),
 * all or nothing: every check and price is settled first, so a batch that cannot go ahead stops
 * the run before any of its calls is started or reserved. A call whose price cannot be read
 * (`costUsd` threw or gave NaN, a negative or an infinite number) fails on its own, unreserved and
 * never run.
 */
function prepare(ctx: RunContext, batch: CallState[]): Launch[] | null {
  type Planned = { call: CallState; tool: AnyTool; args: unknown; child?: Agent; priceNano: number };
  const planned: (Planned | Launch)[] = [];
  let newChildren = 0;
  let totalNano = 0;
  for (const call of batch) {
    const tool = mustExist(ctx.agent.toolsByName.get(call.tool), 'the tool the call names');
    const child = delegateTarget(tool);
    const args = tool.input.parse(call.args);
    if (call.status === 'running') {
      // A child the parent was already waiting on: drive it again from its own log.
      planned.push({
        call,
        tool,
        args,
        attempt: 0,
        priceNano: 0,
        reservationId: '',
        child,
        childId: mustExist(ctx.state.children.get(call.callId), 'the child run of the call').childRunId,
      });
      continue;
    }
    if (child) {
      const hit = delegationLimit(ctx, child, newChildren++);
      if (hit) {
        stopRun(ctx, hit);
        return null;
      }
    }
    const price = toolCallPrice(tool, args);
    if (!price.ok) {
      ctx.emit('tool.failed', {
        callId: call.callId,
        tool: tool.name,
        attempt: call.attempts + 1,
        error: { code: 'TOOL_COST_INVALID', message: price.message },
        durationMs: 0,
        willRetry: false,
      });
      continue;
    }
    const priceNano = usdToNano(price.usd);
    totalNano += priceNano;
    planned.push({ call, tool, args, child, priceNano });
  }
  if (totalNano > 0 && (ctx.budgetRefusal || totalNano > remainingNano(ctx.state))) {
    const priced = planned.filter((p) => p.priceNano > 0);
    stopRun(ctx, {
      limit: ctx.budgetRefusal ? ctx.refusalReason : 'cost_ceiling',
      detail:
        ctx.budgetRefusal ??
        `${priced.map((p) => p.tool.name).join(', ')} would cost ${formatUsd(totalNano)} together but only ${formatUsd(Math.max(0, remainingNano(ctx.state)))} of the ceiling is left; none of them ran.`,
    });
    return null;
  }
  const launches: Launch[] = [];
  for (const p of planned) {
    if ('reservationId' in p) {
      launches.push(p);
      continue;
    }
    const { call, tool, args, child, priceNano } = p;
    const attempt = call.attempts + 1;
    const reservationId = `t${call.callId}.${attempt}`;
    if (priceNano > 0) {
      reserve(ctx, reservationId, 'tool', priceNano);
    }
    ctx.emit('tool.started', { callId: call.callId, tool: tool.name, attempt, idempotencyKey: idempotencyKey(ctx.runId, call.callId) });
    let childId: string | undefined;
    if (child) {
      childId = childRunId(ctx.runId, call.callId);
      ctx.emit('child.spawned', { callId: call.callId, childRunId: childId, agent: child.name, depth: ctx.state.lineage.length + 1 });
    }
    launches.push({ call, tool, args, attempt, priceNano, reservationId, child, childId });
  }
  return launches;
}

async function launch(ctx: RunContext, l: Launch): Promise<Settled> {
  const started = ctx.now();
  const { child } = l;
  if (child) {
    const childId = mustExist(l.childId, 'the run id of a child launch');
    const outcome = await runChild(ctx, child, childId).catch(
      (e): ChildOutcome => ({ kind: 'ended', message: `${child.name} (${childId}) could not run: ${describeError(e)}` }),
    );
    return { launch: l, outcome, durationMs: ctx.now() - started };
  }
  const key = `tool:${l.tool.name}`;
  const open = await breakerRefusal(ctx, key);
  if (open) return { launch: l, outcome: { ok: false, code: 'BREAKER_OPEN', message: `${l.tool.name}: ${open.message}`, unknown: false }, durationMs: 0 };
  const slot = await ctx.scheduling?.toolSlots.acquire(l.tool.name, ctx.scheduling.config.toolConcurrency[l.tool.name]);
  // Only a call that queued for a slot waited; time spent getting here is not a scheduling wait.
  const waited = slot?.queued ? ctx.now() - started : 0;
  try {
    await countAttempt(ctx, l.attempt > 1);
    const outcome = await invoke(ctx, l.tool, l.args, l.call.callId, idempotencyKey(ctx.runId, l.call.callId), l.attempt);
    await breakerOutcome(ctx, key, outcome.ok || outcome.code === 'INVALID_TOOL_ARGS');
    if (slot?.queued) ctx.emit('scheduler.waited', { reason: 'tool_slot', key: l.tool.name, ms: waited });
    return { launch: l, outcome, durationMs: ctx.now() - started - waited };
  } finally {
    slot?.release();
  }
}

/** Writes every outcome in call order, then takes the one decision they lead to (stop, escalate, wait). */
async function record(ctx: RunContext, settled: Settled[]): Promise<void> {
  let after: (() => void) | null = null;
  let sleepMs = 0;
  for (const { launch: l, outcome, durationMs } of settled) {
    const { call, tool, attempt } = l;
    if (l.priceNano > 0) settle(ctx, l.reservationId, l.priceNano, l.priceNano);
    const base = { callId: call.callId, tool: tool.name, attempt: Math.max(1, attempt || call.attempts), durationMs };
    // A result meets the toolResult guards before the model or the log sees it.
    const succeeded = async (result: unknown): Promise<void> => {
      if (ctx.agent.guards.toolResult.length === 0) {
        ctx.emit('tool.succeeded', { ...base, result });
        return;
      }
      const g = ctx.agent.guards;
      const out = await runGuards(g.toolResult, result, guardInfo(ctx.agent, ctx.state.tenant, 'toolResult', tool.name), g.timeoutMs);
      emitGuardDecisions(ctx, 'toolResult', out.decisions, call.callId);
      if (out.verdict === 'block') {
        const last = out.decisions.at(-1);
        ctx.emit('tool.failed', {
          ...base,
          error: { code: GUARD_BLOCKED_CODE, message: `guard "${last?.guard}" blocked the result: ${last?.reason}` },
          willRetry: false,
        });
        after ??= () => stopGuardBlocked(ctx, `the result of ${tool.name}`, out.decisions);
        return;
      }
      ctx.emit('tool.succeeded', { ...base, result: out.value });
      const last = out.decisions.at(-1);
      if (out.verdict === 'escalate' && last)
        after ??= () => escalateGuarded(ctx, 'toolResult', last, { tool: tool.name, callId: call.callId }, `result${call.callId}`);
    };
    if ('kind' in outcome) {
      if (outcome.kind === 'completed') await succeeded(outcome.result);
      else if (outcome.kind === 'parked') {
        after ??= () =>
          ctx.emit('child.waiting', {
            callId: call.callId,
            childRunId: mustExist(l.childId, 'the run id of a child launch'),
            status: outcome.status,
            pendingId: outcome.pendingId,
            reason: outcome.reason,
          });
      } else {
        ctx.emit('tool.failed', { ...base, error: { code: 'CHILD_RUN_ENDED', message: outcome.message }, willRetry: false });
        const { deadlock } = outcome;
        if (deadlock) after ??= () => stopRun(ctx, { limit: 'deadlock', detail: deadlock });
      }
      continue;
    }
    if (outcome.ok) {
      await succeeded(outcome.result);
      continue;
    }
    if (outcome.code === GUARD_BLOCKED_CODE) {
      // Replaying a blocked result: the recording has the failure, never the value; it ends the same way.
      ctx.emit('tool.failed', { ...base, error: { code: outcome.code, message: outcome.message }, willRetry: false });
      after ??= () => stopGuardBlocked(ctx, `the result of ${tool.name}`, []);
      continue;
    }
    if (outcome.unknown && ctx.signal.aborted) {
      // Cancelled mid-call: nothing is re-run; the trace keeps that the outcome is unknown.
      ctx.emit('tool.failed', { ...base, error: { code: outcome.code, message: outcome.message }, willRetry: false, unknownOutcome: true });
      continue;
    }
    if (outcome.unknown && !tool.idempotent) {
      // It may have taken effect. Running a non-idempotent tool again could do it twice: ask a person.
      if (!after) after = () => escalateUnknownOutcome(ctx, call.callId, tool, attempt, outcome.message);
      continue;
    }
    const toolAllowsRetry = attempt <= tool.retries;
    const budgetRefusal = toolAllowsRetry && canRetry(ctx.state) && !ctx.signal.aborted ? await retryBudgetRefusal(ctx) : null;
    const willRetry = toolAllowsRetry && canRetry(ctx.state) && !ctx.signal.aborted && !budgetRefusal;
    const retryInMs = willRetry ? backoffMs(ctx.state.retries + 1, ctx.agent.backoff, undefined, ctx.random) : undefined;
    ctx.emit('tool.failed', { ...base, error: { code: outcome.code, message: outcome.message }, willRetry, ...(retryInMs !== undefined ? { retryInMs } : {}) });
    if (toolAllowsRetry && !willRetry && !ctx.signal.aborted) {
      after ??= () =>
        stopRun(
          ctx,
          budgetRefusal
            ? { limit: 'max_retries', detail: `${tool.name} failed (${outcome.message}) and ${budgetRefusal}.` }
            : retriesHit(ctx.state, `${tool.name} failed (${outcome.message})`),
        );
    }
    if (willRetry) sleepMs = Math.max(sleepMs, retryInMs ?? 0);
  }
  if (after) (after as () => void)();
  if (sleepMs > 0 && !after) {
    await ctx.flush();
    await ctx.sleep(sleepMs, ctx.signal).catch(() => {});
  }
}

export type Outcome = { ok: true; result: unknown } | { ok: false; code: string; message: string; unknown: boolean };

/**
 * Calls a tool (or, with `run`, its compensation) with its timeout and the run's abort signal,
 * and classifies the outcome: a result, a failure, or unknown (timed out or aborted mid-call).
 */
export async function invoke(
  ctx: RunContext,
  tool: AnyTool,
  args: unknown,
  callId: string,
  key: string,
  attempt: number,
  run?: (context: ToolContext) => unknown,
): Promise<Outcome> {
  const deadline = callDeadline(tool.timeoutMs, ctx.signal);
  const signal = deadline.signal;
  let onAbort = () => {};
  const timedOut = new Promise<'timeout'>((resolve) => {
    onAbort = () => resolve('timeout');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const context = { runId: ctx.runId, callId, idempotencyKey: key, signal, attempt, agent: ctx.agent.name, tenant: ctx.state.tenant };
    const raced = await Promise.race([Promise.resolve().then(() => (run ? run(context) : tool.execute(args, context))), timedOut]);
    if (raced === 'timeout' && signal.aborted) {
      const why = ctx.signal.aborted ? 'the run was cancelled while it ran' : `it did not finish within ${tool.timeoutMs} ms`;
      return { ok: false, code: 'TOOL_TIMEOUT', message: `${tool.name}: ${why}`, unknown: true };
    }
    return checkResult(tool, raced, run === undefined);
  } catch (e) {
    if (signal.aborted) {
      return { ok: false, code: 'TOOL_TIMEOUT', message: `${tool.name} was aborted (${describeError(signal.reason)})`, unknown: true };
    }
    return { ok: false, code: isWardenError(e) ? e.code : 'TOOL_FAILED', message: describeError(e), unknown: false };
  } finally {
    signal.removeEventListener('abort', onAbort);
    deadline.clear();
  }
}

function checkResult(tool: AnyTool, value: unknown, checkOutput: boolean): Outcome {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    return { ok: false, code: 'TOOL_FAILED', message: `${tool.name} returned a value that is not JSON-serialisable (${describeError(e)})`, unknown: false };
  }
  if (json !== undefined && Buffer.byteLength(json) > MAX_RESULT_BYTES) {
    return {
      ok: false,
      code: 'TOOL_FAILED',
      message: `${tool.name} returned ${Buffer.byteLength(json)} bytes; results are limited to ${MAX_RESULT_BYTES}`,
      unknown: false,
    };
  }
  const result = json === undefined ? null : JSON.parse(json);
  if (tool.output && checkOutput) {
    const checked = tool.output.safeParse(result);
    if (!checked.success) {
      return { ok: false, code: 'TOOL_FAILED', message: `${tool.name} returned output that does not match its declared schema`, unknown: false };
    }
  }
  return { ok: true, result };
}
