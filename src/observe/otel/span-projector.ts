import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Histogram,
  type Meter,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { ModelTurn } from '../../core/ports/model.ts';
import type { AnyRunEvent, BudgetSnapshot, RunEvent } from '../../core/events.ts';
import { modelCalled, modelKey, type ModelRef, PARKED_STATUSES, TERMINAL_STATUSES } from '../../core/events.ts';
import type { RunState } from '../../core/run-state.ts';
import { projectState } from '../../core/projection.ts';
import { projectionAttributes } from './run-attributes.ts';
import type { CommittedEvents } from '../../runtime/warden.ts';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_TYPE,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  genAiProviderName,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  OPERATION_DURATION_BUCKETS,
  TOKEN_USAGE_BUCKETS,
} from './genai.ts';
import { agentSpanIdOf, type PinnedIdGenerator, traceIdOf } from './trace-ids.ts';
import { nanoToUsd } from '../../core/money.ts';

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
  /** Where `gen_ai.client.operation.duration` and `gen_ai.client.token.usage` are recorded; none when absent. */
  meter?: Meter;
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
  private readonly duration?: Histogram;
  private readonly tokens?: Histogram;

  constructor(options: SpanProjectorOptions) {
    this.tracer = options.tracer;
    this.ids = options.ids;
    this.content = options.captureContent;
    if (options.meter) {
      this.duration = options.meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_DURATION, {
        description: 'GenAI operation duration.',
        unit: 's',
        advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS },
      });
      this.tokens = options.meter.createHistogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, {
        description: 'Number of input and output tokens used.',
        unit: '{token}',
        advice: { explicitBucketBoundaries: TOKEN_USAGE_BUCKETS },
      });
    }
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
      [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent',
      [ATTR_GEN_AI_AGENT_NAME]: state.agent,
      // A conversation's turns share its id (OpenTelemetry's own meaning); a run on its own is its own conversation.
      [ATTR_GEN_AI_CONVERSATION_ID]: state.conversation?.id ?? state.runId,
      ...(state.conversation ? { 'warden.conversation.turn': state.conversation.turn } : {}),
      [ATTR_GEN_AI_PROVIDER_NAME]: genAiProviderName(state.model.provider),
      [ATTR_GEN_AI_REQUEST_MODEL]: state.model.modelId,
      'warden.model.provider_id': state.model.provider,
      'warden.run.id': state.runId,
      'warden.run.root_id': state.rootRunId,
      'warden.tenant': state.tenant,
      'warden.session': session,
      'warden.budget.ceiling_usd': nanoToUsd(state.ceilingNano),
      'warden.limits.max_steps': state.limits.maxSteps,
      'warden.limits.max_tool_calls': state.limits.maxToolCalls,
      'warden.limits.max_retries': state.limits.maxRetries,
      ...(state.parentRunId ? { 'warden.run.parent_id': state.parentRunId } : {}),
      ...(this.content ? { [ATTR_GEN_AI_INPUT_MESSAGES]: json([{ role: 'user', parts: [{ type: 'text', content: state.input }] }]) } : {}),
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
        const start = run.modelStartedAt ?? e.at;
        this.duration?.record((e.at - start) / 1000, { ...this.metricBase(state, undefined, d.model), [ATTR_ERROR_TYPE]: d.failure.kind });
        const span = this.child(run, `chat ${modelCalled(state.model, d.model).modelId}`, SpanKind.CLIENT, start, {
          ...this.chatBase(state, undefined, d.model),
          'warden.step': d.step,
          'warden.retry.attempt': d.attempt,
          'warden.retry.will_retry': d.willRetry,
          'warden.retry.cause': d.failure.kind,
          ...(d.retryInMs !== undefined ? { 'warden.retry.backoff_ms': d.retryInMs } : {}),
          ...(d.failure.status !== undefined ? { 'http.response.status_code': d.failure.status } : {}),
          [ATTR_ERROR_TYPE]: d.failure.kind,
        });
        span.setStatus({ code: SpanStatusCode.ERROR, message: d.failure.message });
        span.end(e.at);
        break;
      }
      case 'policy.decided':
        run.span.addEvent(
          'warden.policy.decided',
          {
            [ATTR_GEN_AI_TOOL_NAME]: e.data.tool,
            [ATTR_GEN_AI_TOOL_CALL_ID]: e.data.callId,
            'warden.policy.decision': e.data.decision,
            'warden.policy.rule': e.data.rule,
            'warden.policy.reason': e.data.reason,
          },
          e.at,
        );
        break;
      case 'approval.requested':
        run.span.addEvent('warden.approval.requested', { [ATTR_GEN_AI_TOOL_CALL_ID]: e.data.callId, 'warden.approval.id': e.data.approvalId }, e.at);
        break;
      case 'approval.expired':
        run.span.addEvent(
          'warden.approval.expired',
          { [ATTR_GEN_AI_TOOL_CALL_ID]: e.data.callId, 'warden.approval.id': e.data.approvalId, 'warden.approval.outcome': e.data.outcome },
          e.at,
        );
        break;
      case 'tool.denied':
      case 'tool.rejected': {
        const call = state.calls.get(e.data.callId);
        const span = this.child(run, `execute_tool ${e.data.tool}`, SpanKind.INTERNAL, e.at, this.toolAttributes(e.data.callId, e.data.tool, state));
        const why = e.type === 'tool.denied' ? e.data.reason : e.data.error.message;
        span.setAttributes({
          'warden.tool.outcome': e.type === 'tool.denied' ? 'denied' : 'rejected',
          [ATTR_ERROR_TYPE]: e.type === 'tool.denied' ? 'denied' : e.data.error.code,
        });
        if (this.content && call) span.setAttribute(ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, json(call.args));
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
          ...(this.content && call ? { [ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]: json(call.args) } : {}),
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
          if (this.content) span.setAttribute(ATTR_GEN_AI_TOOL_CALL_RESULT, json(e.data.result));
        } else {
          span.setAttributes({
            'warden.tool.outcome': 'failed',
            [ATTR_ERROR_TYPE]: e.data.error.code,
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
      case 'model.fallback':
        run.span.addEvent(
          'warden.model.fallback',
          {
            'warden.step': e.data.step,
            'warden.model.from': modelKey(e.data.from),
            'warden.model.to': modelKey(e.data.to),
            'warden.model.fallback_reason': e.data.reason,
          },
          e.at,
        );
        break;
      case 'limit.hit':
        run.span.addEvent('warden.limit.hit', { 'warden.limit': e.data.limit, 'warden.limit.detail': e.data.detail }, e.at);
        break;
    }
  }

  /** The attributes every chat span and GenAI metric point carries. */
  private metricBase(state: RunState, turn?: ModelTurn, fallback?: ModelRef): Attributes {
    const model = modelCalled(state.model, fallback);
    const server = model.server;
    return {
      [ATTR_GEN_AI_OPERATION_NAME]: 'chat',
      [ATTR_GEN_AI_PROVIDER_NAME]: genAiProviderName(model.provider),
      [ATTR_GEN_AI_REQUEST_MODEL]: model.modelId,
      ...(turn?.response?.modelId ? { [ATTR_GEN_AI_RESPONSE_MODEL]: turn.response.modelId } : {}),
      ...(server ? { [ATTR_SERVER_ADDRESS]: server.address, ...(server.port !== undefined ? { [ATTR_SERVER_PORT]: server.port } : {}) } : {}),
    };
  }

  private chatBase(state: RunState, turn?: ModelTurn, fallback?: ModelRef): Attributes {
    return {
      ...this.metricBase(state, turn, fallback),
      ...(turn?.response?.id ? { [ATTR_GEN_AI_RESPONSE_ID]: turn.response.id } : {}),
      'warden.model.provider_id': modelCalled(state.model, fallback).provider,
      ...(fallback ? { 'warden.model.fallback': true } : {}),
    };
  }

  private chatSpan(run: OpenRun, e: RunEvent<'model.called'>, state: RunState): void {
    const d = e.data;
    const t = d.turn;
    const budget = run.budget;
    const metric = this.metricBase(state, t, d.model);
    this.duration?.record(d.latencyMs / 1000, metric);
    if (!t.usageMissing) {
      this.tokens?.record(t.usage.inputTokens, { ...metric, [ATTR_GEN_AI_TOKEN_TYPE]: 'input' });
      this.tokens?.record(t.usage.outputTokens, { ...metric, [ATTR_GEN_AI_TOKEN_TYPE]: 'output' });
    }
    const span = this.child(run, `chat ${modelCalled(state.model, d.model).modelId}`, SpanKind.CLIENT, e.at - d.latencyMs, {
      ...this.chatBase(state, t, d.model),
      [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: d.maxOutputTokens,
      [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: t.usage.inputTokens,
      [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: t.usage.outputTokens,
      [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [t.finishReason],
      'warden.step': d.step,
      'warden.retry.attempt': d.attempt,
      'warden.cost_usd': nanoToUsd(d.costNano),
      'warden.proposal': t.toolCalls.length ? `tool calls: ${t.toolCalls.map((c) => c.tool).join(', ')}` : 'final answer',
      ...(t.confidence !== undefined ? { 'warden.confidence': t.confidence } : {}),
      ...(t.usageMissing ? { 'warden.usage_missing': true } : {}),
      ...(budget
        ? {
            'warden.budget.spent_usd': nanoToUsd(budget.spentNano),
            'warden.budget.left_usd': nanoToUsd(budget.ceilingNano - budget.spentNano - budget.reservedNano),
          }
        : {}),
      ...(this.content
        ? {
            [ATTR_GEN_AI_OUTPUT_MESSAGES]: json([
              {
                role: 'assistant',
                parts: [
                  ...(t.text ? [{ type: 'text', content: t.text }] : []),
                  ...t.toolCalls.map((c) => ({ type: 'tool_call', id: c.callId, name: c.tool, arguments: c.args })),
                ],
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
      [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
      [ATTR_GEN_AI_TOOL_NAME]: tool,
      [ATTR_GEN_AI_TOOL_CALL_ID]: callId,
      [ATTR_GEN_AI_TOOL_TYPE]: 'function',
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
    run.span.setAttributes({ 'warden.run.status': state.status, ...projectionAttributes(projectState(state)), 'warden.budget.left_usd': nanoToUsd(left) });
    run.span.setAttributes({
      ...(state.stopReason ? { 'warden.stop_reason': state.stopReason, 'warden.stop_detail': state.stopDetail ?? '' } : {}),
      ...(state.pending ? { 'warden.waiting_for': state.pending.kind, 'warden.pending.id': state.pending.id } : {}),
      ...(this.content && state.output !== null
        ? { [ATTR_GEN_AI_OUTPUT_MESSAGES]: json([{ role: 'assistant', parts: [{ type: 'text', content: state.output }] }]) }
        : {}),
    });
    if (state.status === 'failed') {
      run.span.setAttribute(ATTR_ERROR_TYPE, state.error?.code ?? 'failed');
      run.span.setStatus({ code: SpanStatusCode.ERROR, message: state.error?.message });
    }
    run.span.end(at);
    this.open.delete(runId);
  }
}

const TERMINAL_EVENTS = new Set(['run.completed', 'run.failed', 'run.stopped', 'run.cancelled']);
