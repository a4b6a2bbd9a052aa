import { context as otelContext, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { AnyRunEvent, BudgetSnapshot, RunEvent } from '../../runtime/events.ts';
import { PARKED_STATUSES, TERMINAL_STATUSES } from '../../runtime/events.ts';
import type { RunState } from '../../runtime/fold.ts';
import type { CommittedEvents } from '../../runtime/warden.ts';
import { agentSpanIdOf, type PinnedIdGenerator, traceIdOf } from './trace-ids.ts';

const usd = (nano: number) => nano / 1e9;

function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}

/** The spans of one run that are open in this process. */
interface OpenRun {
  span: Span;
  context: Context;
  /** execute_tool spans by `callId#attempt`. */
  tools: Map<string, Span>;
  /** When the pending model call was reserved, i.e. about to be made. */
  modelStartedAt?: number;
  budget?: BudgetSnapshot;
}

export interface SpanProjectorOptions {
  tracer: Tracer;
  ids: PinnedIdGenerator;
  /** Record prompts, answers, tool arguments and results (off by default: they may hold personal data). */
  captureContent: boolean;
}

/**
 * Turns committed events into OpenTelemetry spans that follow the GenAI semantic conventions.
 * The log is the truth and spans are a projection of it: every timestamp comes from an event, so
 * a span says when the step happened, not when this process heard of it.
 *
 * - `invoke_agent {agent}` — one per execution session of a run (a run parked for approval and
 *   resumed later has two), all in the trace of the run's root (`traceIdOf`). A child run's span
 *   nests under its parent's when the parent is open in this process.
 * - `chat {model}` — one per model call attempt, failed ones included.
 * - `execute_tool {tool}` — one per tool attempt; a call that policy denied or the runtime
 *   rejected gets a zero-length one, so a trace shows why a proposed call never ran.
 */
export class SpanProjector {
  private readonly open = new Map<string, OpenRun>();
  private readonly tracer: Tracer;
  private readonly ids: PinnedIdGenerator;
  private readonly content: boolean;

  constructor(options: SpanProjectorOptions) {
    this.tracer = options.tracer;
    this.ids = options.ids;
    this.content = options.captureContent;
  }

  /** An `EventListener`: projects one committed batch. */
  observe({ runId, events, state }: CommittedEvents): void {
    for (const e of events) this.apply(runId, e, state);
    const run = this.open.get(runId);
    if (run && (TERMINAL_STATUSES.has(state.status) || PARKED_STATUSES.has(state.status))) this.endRun(runId, run, state);
    else if (!run && TERMINAL_STATUSES.has(state.status) && events.some((e) => TERMINAL_EVENTS.has(e.type))) {
      // Ended outside a session (cancelled while parked, a person took over): a point-in-time span.
      const at = events.at(-1)!.at;
      this.endRun(runId, this.startRun(state, at, state.sessions + 1), state);
    }
  }

  /** Spans still open (runs being driven in this process). */
  get openRuns(): number {
    return this.open.size;
  }

  private startRun(state: RunState, at: number, session: number): OpenRun {
    const parent = state.parentRunId ? this.open.get(state.parentRunId) : undefined;
    const attributes: Attributes = {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': state.agent,
      'gen_ai.conversation.id': state.runId,
      'gen_ai.provider.name': state.model.provider,
      'gen_ai.request.model': state.model.modelId,
      'warden.run.id': state.runId,
      'warden.run.root_id': state.rootRunId,
      'warden.tenant': state.tenant,
      'warden.session': session,
      'warden.budget.ceiling_usd': usd(state.ceilingNano),
      'warden.limits.max_steps': state.limits.maxSteps,
      'warden.limits.max_tool_calls': state.limits.maxToolCalls,
      'warden.limits.max_retries': state.limits.maxRetries,
      ...(state.parentRunId ? { 'warden.run.parent_id': state.parentRunId } : {}),
      ...(this.content ? { 'gen_ai.input.messages': json([{ role: 'user', parts: [{ type: 'text', content: state.input }] }]) } : {}),
    };
    this.ids.pin(traceIdOf(state.rootRunId), agentSpanIdOf(state.runId, session));
    let span: Span;
    try {
      span = this.tracer.startSpan(
        `invoke_agent ${state.agent}`,
        { kind: SpanKind.INTERNAL, startTime: at, attributes, root: !parent },
        parent?.context ?? otelContext.active(),
      );
    } finally {
      this.ids.unpin();
    }
    const run: OpenRun = { span, context: trace.setSpan(otelContext.active(), span), tools: new Map() };
    this.open.set(state.runId, run);
    return run;
  }

  private apply(runId: string, e: AnyRunEvent, state: RunState): void {
    if (e.type === 'run.started' && !this.open.has(runId)) this.startRun(state, e.at, e.data.session);
    const run = this.open.get(runId);
    if (!run) return;
    switch (e.type) {
      case 'budget.reserved':
        if (e.data.purpose === 'model') run.modelStartedAt = e.at;
        break;
      case 'budget.committed':
        run.budget = e.data.after;
        break;
      case 'model.called':
        this.chatSpan(run, e, state);
        break;
      case 'model.failed': {
        const d = e.data;
        const span = this.child(run, `chat ${state.model.modelId}`, SpanKind.CLIENT, run.modelStartedAt ?? e.at, {
          ...this.chatBase(state),
          'warden.step': d.step,
          'warden.retry.attempt': d.attempt,
          'warden.retry.will_retry': d.willRetry,
          'warden.retry.cause': d.failure.kind,
          ...(d.retryInMs !== undefined ? { 'warden.retry.backoff_ms': d.retryInMs } : {}),
          ...(d.failure.status !== undefined ? { 'http.response.status_code': d.failure.status } : {}),
          'error.type': d.failure.kind,
        });
        span.setStatus({ code: SpanStatusCode.ERROR, message: d.failure.message });
        span.end(e.at);
        break;
      }
      case 'policy.decided':
        run.span.addEvent('warden.policy.decided', { 'gen_ai.tool.name': e.data.tool, 'gen_ai.tool.call.id': e.data.callId, 'warden.policy.decision': e.data.decision, 'warden.policy.rule': e.data.rule, 'warden.policy.reason': e.data.reason }, e.at);
        break;
      case 'approval.requested':
        run.span.addEvent('warden.approval.requested', { 'gen_ai.tool.call.id': e.data.callId, 'warden.approval.id': e.data.approvalId }, e.at);
        break;
      case 'tool.denied':
      case 'tool.rejected': {
        const call = state.calls.get(e.data.callId);
        const span = this.child(run, `execute_tool ${e.data.tool}`, SpanKind.INTERNAL, e.at, this.toolAttributes(e.data.callId, e.data.tool, state));
        const why = e.type === 'tool.denied' ? e.data.reason : e.data.error.message;
        span.setAttributes({ 'warden.tool.outcome': e.type === 'tool.denied' ? 'denied' : 'rejected', 'error.type': e.type === 'tool.denied' ? 'denied' : e.data.error.code });
        if (this.content && call) span.setAttribute('gen_ai.tool.call.arguments', json(call.args));
        span.setStatus({ code: SpanStatusCode.ERROR, message: why });
        span.end(e.at);
        break;
      }
      case 'tool.started': {
        const call = state.calls.get(e.data.callId);
        const span = this.child(run, `execute_tool ${e.data.tool}`, SpanKind.INTERNAL, e.at, {
          ...this.toolAttributes(e.data.callId, e.data.tool, state),
          'warden.retry.attempt': e.data.attempt,
          'warden.tool.idempotency_key': e.data.idempotencyKey,
          ...(this.content && call ? { 'gen_ai.tool.call.arguments': json(call.args) } : {}),
        });
        run.tools.set(`${e.data.callId}#${e.data.attempt}`, span);
        break;
      }
      case 'tool.succeeded':
      case 'tool.failed': {
        const key = `${e.data.callId}#${e.data.attempt}`;
        const span =
          run.tools.get(key) ??
          this.child(run, `execute_tool ${e.data.tool}`, SpanKind.INTERNAL, e.at - e.data.durationMs, {
            ...this.toolAttributes(e.data.callId, e.data.tool, state),
            'warden.retry.attempt': e.data.attempt,
          });
        run.tools.delete(key);
        if (e.type === 'tool.succeeded') {
          span.setAttribute('warden.tool.outcome', 'succeeded');
          if (this.content) span.setAttribute('gen_ai.tool.call.result', json(e.data.result));
        } else {
          span.setAttributes({
            'warden.tool.outcome': 'failed',
            'error.type': e.data.error.code,
            'warden.retry.will_retry': e.data.willRetry,
            ...(e.data.willRetry ? { 'warden.retry.cause': e.data.error.code } : {}),
            ...(e.data.unknownOutcome ? { 'warden.tool.unknown_outcome': true } : {}),
          });
          span.setStatus({ code: SpanStatusCode.ERROR, message: e.data.error.message });
        }
        span.end(e.at);
        break;
      }
      case 'escalated':
        run.span.addEvent('warden.escalated', { 'warden.escalation.id': e.data.escalationId, 'warden.escalation.reason': e.data.reason }, e.at);
        break;
      case 'limit.hit':
        run.span.addEvent('warden.limit.hit', { 'warden.limit': e.data.limit, 'warden.limit.detail': e.data.detail }, e.at);
        break;
    }
  }

  private chatBase(state: RunState): Attributes {
    return { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': state.model.provider, 'gen_ai.request.model': state.model.modelId };
  }

  private chatSpan(run: OpenRun, e: RunEvent<'model.called'>, state: RunState): void {
    const d = e.data;
    const t = d.turn;
    const budget = run.budget;
    const span = this.child(run, `chat ${state.model.modelId}`, SpanKind.CLIENT, e.at - d.latencyMs, {
      ...this.chatBase(state),
      'gen_ai.request.max_tokens': d.maxOutputTokens,
      'gen_ai.usage.input_tokens': t.usage.inputTokens,
      'gen_ai.usage.output_tokens': t.usage.outputTokens,
      'gen_ai.response.finish_reasons': [t.finishReason],
      'warden.step': d.step,
      'warden.retry.attempt': d.attempt,
      'warden.cost_usd': usd(d.costNano),
      'warden.proposal': t.toolCalls.length ? `tool calls: ${t.toolCalls.map((c) => c.tool).join(', ')}` : 'final answer',
      ...(t.confidence !== undefined ? { 'warden.confidence': t.confidence } : {}),
      ...(t.usageMissing ? { 'warden.usage_missing': true } : {}),
      ...(budget ? { 'warden.budget.spent_usd': usd(budget.spentNano), 'warden.budget.left_usd': usd(budget.ceilingNano - budget.spentNano - budget.reservedNano) } : {}),
      ...(this.content
        ? {
            'gen_ai.output.messages': json([
              {
                role: 'assistant',
                parts: [...(t.text ? [{ type: 'text', content: t.text }] : []), ...t.toolCalls.map((c) => ({ type: 'tool_call', id: c.callId, name: c.tool, arguments: c.args }))],
                finish_reason: t.finishReason,
              },
            ]),
            ...(t.rationale ? { 'warden.rationale': t.rationale } : {}),
          }
        : {}),
    });
    span.end(e.at);
  }

  private toolAttributes(callId: string, tool: string, state: RunState): Attributes {
    const call = state.calls.get(callId);
    return {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool,
      'gen_ai.tool.call.id': callId,
      'gen_ai.tool.type': 'function',
      'warden.step': call?.step ?? 0,
      ...(call?.tier ? { 'warden.tool.tier': call.tier } : {}),
      ...(call?.decision
        ? { 'warden.policy.decision': call.decision.decision, 'warden.policy.rule': call.decision.rule, 'warden.policy.reason': call.decision.reason }
        : {}),
      ...(call?.approvalId ? { 'warden.approval.id': call.approvalId } : {}),
      ...(call?.approvedBy ? { 'warden.approval.by': call.approvedBy } : {}),
    };
  }

  private child(run: OpenRun, name: string, kind: SpanKind, start: number, attributes: Attributes): Span {
    return this.tracer.startSpan(name, { kind, startTime: start, attributes }, run.context);
  }

  private endRun(runId: string, run: OpenRun, state: RunState): void {
    const at = state.lastEventAt;
    for (const span of run.tools.values()) span.end(at);
    const left = state.ceilingNano - state.spentNano;
    run.span.setAttributes({
      'warden.run.status': state.status,
      'warden.steps': state.steps,
      'warden.tool_calls': state.toolCalls,
      'warden.retries': state.retries,
      'warden.budget.spent_usd': usd(state.spentNano),
      'warden.budget.left_usd': usd(left),
      ...(state.stopReason ? { 'warden.stop_reason': state.stopReason, 'warden.stop_detail': state.stopDetail ?? '' } : {}),
      ...(state.pending ? { 'warden.waiting_for': state.pending.kind, 'warden.pending.id': state.pending.id } : {}),
      ...(this.content && state.output !== null ? { 'gen_ai.output.messages': json([{ role: 'assistant', parts: [{ type: 'text', content: state.output }] }]) } : {}),
    });
    if (state.status === 'failed') {
      run.span.setAttribute('error.type', state.error?.code ?? 'failed');
      run.span.setStatus({ code: SpanStatusCode.ERROR, message: state.error?.message });
    }
    run.span.end(at);
    this.open.delete(runId);
  }
}

const TERMINAL_EVENTS = new Set(['run.completed', 'run.failed', 'run.stopped', 'run.cancelled']);
