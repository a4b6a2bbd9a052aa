import type { z } from 'zod';
import type { AnyTool } from '../agent/tool.ts';
import { toolCallCostUsd } from '../agent/tool.ts';
import { describeError, isWardenError } from '../errors.ts';
import { usdToNano } from '../model/pricing.ts';
import { canRetry, limitBeforeToolCall, retriesHit, retriesOverdrawn } from '../guard/limits.ts';
import { decidePolicy } from '../guard/policy.ts';
import { remainingNano, usd } from '../guard/budget.ts';
import { backoffMs } from './backoff.ts';
import type { CallState } from './fold.ts';
import { budgetSnapshot } from './model-step.ts';
import type { RunContext } from './run-context.ts';
import { stopRun } from './run-end.ts';

/** Largest tool result kept in the log; a bigger one is an error the model is told about. */
export const MAX_RESULT_BYTES = 256 * 1024;

export function approvalId(runId: string, callId: string): string {
  return `apr_${runId.replace(/^run_/, '')}_${callId}`;
}

export function escalationId(runId: string, callId: string, attempt: number): string {
  return `esc_${runId.replace(/^run_/, '')}_${callId}_${attempt}`;
}

export function idempotencyKey(runId: string, callId: string): string {
  return `${runId}:${callId}`;
}

/** Moves one proposed or ready call forward by one step. */
export async function toolStep(ctx: RunContext, call: CallState): Promise<void> {
  if (call.status === 'proposed') return vet(ctx, call);
  if (call.status === 'ready') return execute(ctx, call);
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Schema check, then policy. Unknown tools and bad arguments never run; the model is told why. */
function vet(ctx: RunContext, call: CallState): void {
  const tool = ctx.agent.toolsByName.get(call.tool);
  if (!tool) {
    const known = ctx.agent.tools.map((t) => t.name).join(', ') || '(none)';
    return reject(ctx, call, 'UNKNOWN_TOOL', `There is no tool named "${call.tool}". Available tools: ${known}.`);
  }
  if (call.parseError) {
    return reject(ctx, call, 'INVALID_TOOL_ARGS', `The arguments for "${call.tool}" are not valid JSON (${call.parseError}).`);
  }
  const parsed = tool.input.safeParse(call.args);
  if (!parsed.success) {
    return reject(ctx, call, 'INVALID_TOOL_ARGS', `Invalid arguments for "${call.tool}": ${formatIssues(parsed.error)}. Expected JSON Schema: ${JSON.stringify(tool.jsonSchema)}`);
  }
  const verdict = decidePolicy(ctx.agent, tool, parsed.data);
  ctx.emit('policy.decided', { callId: call.callId, tool: tool.name, tier: tool.tier, argsHash: call.argsHash, ...verdict });
  if (verdict.decision === 'deny') {
    ctx.emit('tool.denied', { callId: call.callId, tool: tool.name, by: verdict.rule, reason: verdict.reason });
    if (ctx.agent.policy.onDeny === 'stop') stopRun(ctx, { limit: 'denied', detail: `${tool.name} was denied by ${verdict.rule}: ${verdict.reason}` });
    return;
  }
  if (verdict.decision === 'approve') {
    const id = approvalId(ctx.runId, call.callId);
    ctx.emit('approval.requested', { approvalId: id, callId: call.callId, tool: tool.name, tier: tool.tier, args: call.args, argsHash: call.argsHash, reason: verdict.reason });
    ctx.intervene({ id, kind: 'approval', callId: call.callId, tool: tool.name, args: call.args, argsHash: call.argsHash, reason: verdict.reason, evidence: { rule: verdict.rule, tier: tool.tier }, requestedAt: ctx.now() });
  }
}

function reject(ctx: RunContext, call: CallState, code: 'UNKNOWN_TOOL' | 'INVALID_TOOL_ARGS', message: string): void {
  ctx.emit('tool.rejected', { callId: call.callId, tool: call.tool, error: { code, message } });
  const hit = retriesOverdrawn(ctx.state);
  if (hit) stopRun(ctx, hit);
}

/** Runs a ready call: limits, priced reservation, `tool.started` written first, then the call. */
async function execute(ctx: RunContext, call: CallState): Promise<void> {
  const tool = ctx.agent.toolsByName.get(call.tool)!;
  if (call.attempts === 0) {
    const hit = limitBeforeToolCall(ctx.state, ctx.now());
    if (hit) return stopRun(ctx, hit);
  }
  const args = tool.input.parse(call.args);
  const priceNano = usdToNano(toolCallCostUsd(tool, args));
  const attempt = call.attempts + 1;
  const reservationId = `t${call.callId}.${attempt}`;
  if (priceNano > 0) {
    if (ctx.budgetRefusal || priceNano > remainingNano(ctx.state)) {
      return stopRun(ctx, {
        limit: 'cost_ceiling',
        detail: ctx.budgetRefusal ?? `${tool.name} costs ${usd(priceNano)} but only ${usd(Math.max(0, remainingNano(ctx.state)))} of the ceiling is left.`,
      });
    }
    ctx.emit('budget.reserved', { reservationId, purpose: 'tool', amountNano: priceNano, before: budgetSnapshot(ctx) });
    ctx.budget({ kind: 'reserve', rootRunId: ctx.state.rootRunId, amountNano: priceNano });
  }
  const key = idempotencyKey(ctx.runId, call.callId);
  ctx.emit('tool.started', { callId: call.callId, tool: tool.name, attempt, idempotencyKey: key });
  await ctx.flush();
  if (ctx.budgetRefusal) return;

  const started = ctx.now();
  const outcome = await invoke(ctx, tool, args, call.callId, key, attempt);
  const durationMs = ctx.now() - started;
  if (priceNano > 0) settleTool(ctx, reservationId, priceNano);

  if (outcome.ok) {
    ctx.emit('tool.succeeded', { callId: call.callId, tool: tool.name, attempt, result: outcome.result, durationMs });
    return;
  }
  if (!outcome.ok && outcome.unknown && ctx.signal.aborted) {
    // Cancelled mid-call: nothing is re-run; the trace keeps that the outcome is unknown.
    ctx.emit('tool.failed', { callId: call.callId, tool: tool.name, attempt, error: { code: outcome.code, message: outcome.message }, durationMs, willRetry: false, unknownOutcome: true });
    return;
  }
  if (outcome.unknown && !tool.idempotent) {
    // It may have taken effect. Running a non-idempotent tool again could do it twice: ask a person.
    return escalateUnknownOutcome(ctx, call.callId, tool, attempt, outcome.message);
  }
  const toolAllowsRetry = attempt <= tool.retries;
  const willRetry = toolAllowsRetry && canRetry(ctx.state) && !ctx.signal.aborted;
  const retryInMs = willRetry ? backoffMs(ctx.state.retries + 1, ctx.agent.backoff, undefined, ctx.random) : undefined;
  ctx.emit('tool.failed', {
    callId: call.callId,
    tool: tool.name,
    attempt,
    error: { code: outcome.code, message: outcome.message },
    durationMs,
    willRetry,
    ...(retryInMs !== undefined ? { retryInMs } : {}),
  });
  if (toolAllowsRetry && !willRetry && !ctx.signal.aborted) return stopRun(ctx, retriesHit(ctx.state, `${tool.name} failed (${outcome.message})`));
  if (willRetry) {
    await ctx.flush();
    await ctx.sleep(retryInMs ?? 0, ctx.signal).catch(() => {});
  }
}

function settleTool(ctx: RunContext, reservationId: string, priceNano: number): void {
  // A started call of a priced tool is charged in full: the downstream may bill even on failure.
  ctx.budget({ kind: 'settle', rootRunId: ctx.state.rootRunId, reservedNano: priceNano, actualNano: priceNano });
  const before = budgetSnapshot(ctx);
  ctx.emit('budget.committed', {
    reservationId,
    actualNano: priceNano,
    releasedNano: 0,
    after: { ...before, spentNano: before.spentNano + priceNano, reservedNano: before.reservedNano - priceNano },
  });
}

export function escalateUnknownOutcome(ctx: RunContext, callId: string, tool: AnyTool, attempt: number, message: string): void {
  const id = escalationId(ctx.runId, callId, attempt);
  const call = ctx.state.calls.get(callId)!;
  const reason = `${tool.name} is not idempotent and its outcome is unknown (${message}); running it again could repeat it`;
  const evidence = { tool: tool.name, args: call.args, attempt, idempotencyKey: idempotencyKey(ctx.runId, callId) };
  ctx.emit('escalated', { escalationId: id, reason: 'unknown_outcome', callId, evidence: { ...evidence, detail: reason } });
  ctx.intervene({ id, kind: 'escalation', callId, tool: tool.name, args: call.args, argsHash: call.argsHash, reason, evidence, requestedAt: ctx.now() });
}

type Outcome = { ok: true; result: unknown } | { ok: false; code: string; message: string; unknown: boolean };

async function invoke(ctx: RunContext, tool: AnyTool, args: unknown, callId: string, key: string, attempt: number): Promise<Outcome> {
  const timeout = AbortSignal.timeout(tool.timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  const timedOut = new Promise<'timeout'>((resolve) => {
    signal.addEventListener('abort', () => resolve('timeout'), { once: true });
  });
  try {
    const context = { runId: ctx.runId, callId, idempotencyKey: key, signal, attempt, agent: ctx.agent.name, tenant: ctx.state.tenant };
    const raced = await Promise.race([Promise.resolve().then(() => tool.execute(args, context)), timedOut]);
    if (raced === 'timeout' && signal.aborted) {
      const why = ctx.signal.aborted ? 'the run was cancelled while it ran' : `it did not finish within ${tool.timeoutMs} ms`;
      return { ok: false, code: 'TOOL_TIMEOUT', message: `${tool.name}: ${why}`, unknown: true };
    }
    return checkResult(tool, raced);
  } catch (e) {
    if (signal.aborted) {
      return { ok: false, code: 'TOOL_TIMEOUT', message: `${tool.name} was aborted (${describeError(signal.reason)})`, unknown: true };
    }
    return { ok: false, code: isWardenError(e) ? e.code : 'TOOL_FAILED', message: describeError(e), unknown: false };
  }
}

function checkResult(tool: AnyTool, value: unknown): Outcome {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    return { ok: false, code: 'TOOL_FAILED', message: `${tool.name} returned a value that is not JSON-serialisable (${describeError(e)})`, unknown: false };
  }
  if (json !== undefined && Buffer.byteLength(json) > MAX_RESULT_BYTES) {
    return { ok: false, code: 'TOOL_FAILED', message: `${tool.name} returned ${Buffer.byteLength(json)} bytes; results are limited to ${MAX_RESULT_BYTES}`, unknown: false };
  }
  const result = json === undefined ? null : JSON.parse(json);
  if (tool.output) {
    const checked = tool.output.safeParse(result);
    if (!checked.success) {
      return { ok: false, code: 'TOOL_FAILED', message: `${tool.name} returned output that does not match its declared schema`, unknown: false };
    }
  }
  return { ok: true, result };
}
