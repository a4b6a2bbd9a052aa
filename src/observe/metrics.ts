import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type AnyRunEvent, modelCalled, modelKey, type ModelRef } from '../core/events.ts';
import type { RunState } from '../core/run-state.ts';
import type { CommittedEvents, Warden } from '../runtime/warden.ts';
import type { Store } from '../core/ports/store.ts';
import { genAiProviderName, OPERATION_DURATION_BUCKETS, TOKEN_USAGE_BUCKETS } from './otel/genai.ts';
import { nanoToUsd } from '../core/money.ts';
import { PLAN_TOOL } from '../core/plan.ts';
import { emptyTally, tallyEvent } from '../core/fold-tally.ts';
import type { RunTally } from '../core/run-state.ts';

/** A circuit breaker's state as the `warden_breaker_state` gauge reports it. */
export type BreakerState = 'closed' | 'half_open' | 'open';
const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** Seconds: from a fast tool call to a slow model call. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** USD per run: from a cached answer to a long agentic run. */
const COST_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
const WAIT_BUCKETS = [1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

export interface MetricsOptions {
  /** Register into this registry (default: a new one, so tests and embedders never collide). */
  registry?: Registry;
  /**
   * When given, pending approvals and escalations are read from the store at scrape time, so the
   * gauges are right across every worker. Without it they follow the events this process saw.
   */
  store?: Store;
  now?: () => number;
}

/**
 * Warden's Prometheus metrics, kept current from committed events. Other parts of Warden (the
 * scheduler, the server) add their own metrics to `registry` and set the gauges made for them.
 *
 * @example
 * const metrics = createMetrics({ store });
 * metrics.attach(warden);
 * app.get('/metrics', async (c) => c.text(await metrics.text(), 200, { 'content-type': metrics.contentType }));
 */
export class WardenMetrics {
  readonly registry: Registry;
  private readonly now: () => number;
  /** When each run's pending model call was reserved, i.e. about to be made (for failed calls' duration). */
  private readonly modelStartedAt = new Map<string, number>();
  /** Parked runs as this process saw them: runId → what they wait for and since when. */
  private readonly parked = new Map<string, { kind: 'approval' | 'escalation'; agent: string; since: number }>();
  /** approvalId → when it was requested, for the wait histogram. */
  private readonly requested = new Map<string, number>();

  readonly runsSubmitted: Counter<'agent'>;
  readonly runsEnded: Counter<'agent' | 'status' | 'stop_reason'>;
  readonly runsParked: Counter<'agent' | 'kind'>;
  readonly steps: Counter<'agent'>;
  readonly modelCalls: Counter<'agent' | 'outcome'>;
  readonly toolCalls: Counter<'agent' | 'tool' | 'tier' | 'decision'>;
  readonly toolExecutions: Counter<'agent' | 'tool' | 'outcome'>;
  readonly approvalsDecided: Counter<'agent' | 'decision'>;
  readonly approvalWait: Histogram<'agent'>;
  readonly approvalsPending: Gauge<'kind'>;
  readonly approvalOldestAge: Gauge<'kind'>;
  readonly escalations: Counter<'agent' | 'reason'>;
  readonly spend: Counter<'agent'>;
  readonly runCost: Histogram<'agent'>;
  readonly retries: Counter<'agent' | 'kind' | 'cause'>;
  readonly limitHits: Counter<'agent' | 'limit'>;
  readonly budgetOverruns: Counter<'agent'>;
  readonly guardDecisions: Counter<'agent' | 'stage' | 'guard' | 'verdict'>;
  readonly budgetAlerts: Counter<'scope' | 'window' | 'threshold'>;
  readonly stepLatency: Histogram<'agent' | 'kind'>;
  readonly tokenUsage: Histogram<'gen_ai_operation_name' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_token_type'>;
  readonly operationDuration: Histogram<
    'gen_ai_operation_name' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_response_model' | 'server_address' | 'server_port' | 'error_type'
  >;
  readonly breakerState: Gauge<'breaker'>;
  readonly modelFallbacks: Counter<'agent' | 'from' | 'to' | 'reason'>;
  readonly queueDepth: Gauge<'queue'>;
  readonly driftScore: Gauge<'agent' | 'dimension'>;
  readonly driftAlerts: Counter<'agent' | 'dimension'>;

  constructor(options: MetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    this.now = options.now ?? Date.now;
    const store = options.store;
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
    const histogram = <L extends string>(name: string, help: string, labelNames: L[], buckets: number[]) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers });

    this.runsSubmitted = counter('warden_runs_submitted_total', 'Runs submitted.', ['agent']);
    this.runsEnded = counter('warden_runs_total', 'Runs that ended, by final status and stop reason.', ['agent', 'status', 'stop_reason']);
    this.runsParked = counter('warden_runs_parked_total', 'Times a run stopped to wait for a person.', ['agent', 'kind']);
    this.steps = counter('warden_steps_total', 'Model turns taken (steps).', ['agent']);
    this.modelCalls = counter('warden_model_calls_total', 'Model call attempts, by outcome (ok or the failure kind).', ['agent', 'outcome']);
    this.toolCalls = counter(
      'warden_tool_calls_total',
      'Checks of proposed tool calls, by tier and policy decision (rejected: unknown tool, bad arguments or off the plan); the plan submission is not counted, and a call a person edits is checked again.',
      ['agent', 'tool', 'tier', 'decision'],
    );
    this.toolExecutions = counter('warden_tool_executions_total', 'Tool executions that finished, by outcome.', ['agent', 'tool', 'outcome']);
    this.approvalsDecided = counter(
      'warden_approvals_decided_total',
      'Approvals closed: approved or denied by a person, or expired (expired_denied, expired_escalated).',
      ['agent', 'decision'],
    );
    this.approvalWait = histogram('warden_approval_wait_seconds', 'Time from an approval request to its decision.', ['agent'], WAIT_BUCKETS);
    this.escalations = counter('warden_escalations_total', 'Runs escalated to a person, by reason.', ['agent', 'reason']);
    this.spend = counter('warden_spend_usd_total', 'Money spent on model and priced tool calls, USD.', ['agent']);
    this.runCost = histogram('warden_run_cost_usd', 'Cost of a finished run, USD (retries included).', ['agent'], COST_BUCKETS);
    this.retries = counter('warden_retries_total', 'Retries, by what was retried and why.', ['agent', 'kind', 'cause']);
    this.limitHits = counter('warden_limit_hits_total', 'Stop conditions reached, by limit.', ['agent', 'limit']);
    this.budgetOverruns = counter(
      'warden_budget_overruns_total',
      'Calls that cost more than was reserved for them (a provider reporting more than it was asked for); each stops its run.',
      ['agent'],
    );
    this.guardDecisions = counter(
      'warden_guard_decisions_total',
      'Content guard decisions that changed something (block, redact, escalate), by stage and guard.',
      ['agent', 'stage', 'guard', 'verdict'],
    );
    this.budgetAlerts = counter('warden_budget_alerts_total', 'Fleet budget thresholds (alertAt) crossed, once per threshold per window.', [
      'scope',
      'window',
      'threshold',
    ]);
    this.stepLatency = histogram('warden_step_duration_seconds', 'Duration of one model call or one tool execution.', ['agent', 'kind'], LATENCY_BUCKETS);
    this.tokenUsage = histogram(
      'gen_ai_client_token_usage',
      'Tokens used per model call (OpenTelemetry GenAI gen_ai.client.token.usage).',
      ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_token_type'],
      TOKEN_USAGE_BUCKETS,
    );
    this.operationDuration = histogram(
      'gen_ai_client_operation_duration_seconds',
      'Duration of each model call, failed ones included (OpenTelemetry GenAI gen_ai.client.operation.duration); empty labels were not known.',
      ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model', 'server_address', 'server_port', 'error_type'],
      OPERATION_DURATION_BUCKETS,
    );
    this.modelFallbacks = counter(
      'warden_model_fallbacks_total',
      "Steps that went on to the next model of the agent's list (provider/modelId), by why: breaker_open, not_retryable, retries_exhausted.",
      ['agent', 'from', 'to', 'reason'],
    );
    this.breakerState = new Gauge({
      name: 'warden_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      labelNames: ['breaker'],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'warden_queue_depth', help: 'Runs waiting in a queue for a worker.', labelNames: ['queue'], registers });
    this.driftScore = new Gauge({
      name: 'warden_drift_score',
      help: 'Jensen-Shannon divergence (bits) between the recent and baseline behaviour of an agent.',
      labelNames: ['agent', 'dimension'],
      registers,
    });
    this.driftAlerts = counter('warden_drift_alerts_total', 'Drift alerts raised.', ['agent', 'dimension']);

    const self = this;
    this.approvalsPending = new Gauge({
      name: 'warden_approvals_pending',
      help: 'Approvals and escalations waiting for a person.',
      labelNames: ['kind'],
      registers,
      async collect() {
        await self.collectPending(store);
      },
    });
    this.approvalOldestAge = new Gauge({
      name: 'warden_approval_oldest_age_seconds',
      help: 'Age of the oldest pending approval or escalation.',
      labelNames: ['kind'],
      registers,
    });
  }

  /** Subscribes to a Warden's committed events. Returns the unsubscribe function. */
  attach(warden: Warden): () => void {
    return warden.subscribe((batch) => this.observe(batch));
  }

  /** Updates the metrics from one committed batch (an `EventListener`). */
  observe({ events, state }: CommittedEvents): void {
    const agent = state.agent;
    // The run's figures move by what the projection's tally counts for these events: the same
    // definitions `warden runs show` and the API read (core/fold-tally.ts).
    const delta = emptyTally();
    for (const e of events) tallyEvent(delta, e.type, e.data, state);
    this.countFigures(delta, agent);
    for (const e of events) this.observeEvent(e, agent, state);
    if (state.pending) {
      const since = this.parked.get(state.runId)?.since ?? state.lastEventAt;
      this.parked.set(state.runId, { kind: state.pending.kind, agent, since });
    } else this.parked.delete(state.runId);
  }

  /** The counters that are run figures, from the tally of one committed batch. */
  private countFigures(t: RunTally, agent: string): void {
    if (t.modelAnswers) {
      this.steps.inc({ agent }, t.modelAnswers);
      this.modelCalls.inc({ agent, outcome: 'ok' }, t.modelAnswers);
    }
    for (const [outcome, n] of Object.entries(t.modelFailures)) this.modelCalls.inc({ agent, outcome }, n);
    if (t.approvals.requested) this.runsParked.inc({ agent, kind: 'approval' }, t.approvals.requested);
    for (const decision of ['approved', 'denied'] as const) if (t.approvals[decision]) this.approvalsDecided.inc({ agent, decision }, t.approvals[decision]);
    if (t.approvals.expiredDenied) this.approvalsDecided.inc({ agent, decision: 'expired_denied' }, t.approvals.expiredDenied);
    if (t.approvals.expiredEscalated) this.approvalsDecided.inc({ agent, decision: 'expired_escalated' }, t.approvals.expiredEscalated);
    for (const [reason, n] of Object.entries(t.escalations)) {
      this.runsParked.inc({ agent, kind: 'escalation' }, n);
      this.escalations.inc({ agent, reason }, n);
    }
    if (t.overruns) this.budgetOverruns.inc({ agent }, t.overruns);
  }

  private observeEvent(e: AnyRunEvent, agent: string, state: RunState): void {
    switch (e.type) {
      case 'run.submitted':
        this.runsSubmitted.inc({ agent });
        break;
      case 'model.called': {
        const d = e.data;
        this.stepLatency.observe({ agent, kind: 'model' }, d.latencyMs / 1000);
        const model = d.model ?? state.model;
        const base = {
          gen_ai_operation_name: 'chat',
          gen_ai_provider_name: genAiProviderName(model.provider),
          gen_ai_request_model: model.modelId,
        };
        this.tokenUsage.observe({ ...base, gen_ai_token_type: 'input' }, d.turn.usage.inputTokens);
        this.tokenUsage.observe({ ...base, gen_ai_token_type: 'output' }, d.turn.usage.outputTokens);
        this.operationDuration.observe(this.durationLabels(state, d.turn.response?.modelId, '', d.model), d.latencyMs / 1000);
        this.modelStartedAt.delete(state.runId);
        break;
      }
      case 'budget.reserved':
        if (e.data.purpose === 'model') this.modelStartedAt.set(state.runId, e.at);
        break;
      case 'model.failed': {
        const started = this.modelStartedAt.get(state.runId) ?? e.at;
        this.modelStartedAt.delete(state.runId);
        this.operationDuration.observe(this.durationLabels(state, undefined, e.data.failure.kind, e.data.model), Math.max(0, e.at - started) / 1000);
        if (e.data.willRetry) this.retries.inc({ agent, kind: 'model', cause: e.data.failure.kind });
        break;
      }
      case 'model.fallback':
        this.modelFallbacks.inc({ agent, from: modelKey(e.data.from), to: modelKey(e.data.to), reason: e.data.reason });
        break;
      case 'tool.rejected':
        // Counted as the projection counts it (`core/fold-tally.ts`): a rejected plan submission is not a tool call.
        if (e.data.tool === PLAN_TOOL) break;
        // The name of an unknown tool comes from the model: keep it out of the labels.
        this.toolCalls.inc({ agent, tool: e.data.error.code === 'UNKNOWN_TOOL' ? '(unknown)' : e.data.tool, tier: '', decision: 'rejected' });
        break;
      case 'policy.decided':
        this.toolCalls.inc({ agent, tool: e.data.tool, tier: e.data.tier, decision: e.data.decision });
        break;
      case 'tool.succeeded':
        this.toolExecutions.inc({ agent, tool: e.data.tool, outcome: 'succeeded' });
        this.stepLatency.observe({ agent, kind: 'tool' }, e.data.durationMs / 1000);
        break;
      case 'tool.failed':
        this.stepLatency.observe({ agent, kind: 'tool' }, e.data.durationMs / 1000);
        if (e.data.willRetry) this.retries.inc({ agent, kind: 'tool', cause: e.data.error.code });
        else this.toolExecutions.inc({ agent, tool: e.data.tool, outcome: 'failed' });
        break;
      case 'approval.requested':
        this.requested.set(e.data.approvalId, e.at);
        break;
      case 'approval.decided': {
        const at = this.requested.get(e.data.approvalId);
        if (at !== undefined) this.approvalWait.observe({ agent }, Math.max(0, e.at - at) / 1000);
        this.requested.delete(e.data.approvalId);
        break;
      }
      case 'approval.expired':
        this.requested.delete(e.data.approvalId);
        break;
      case 'budget.committed':
        if (e.data.actualNano > 0) this.spend.inc({ agent }, nanoToUsd(e.data.actualNano));
        break;
      case 'budget.alert':
        this.budgetAlerts.inc({ scope: e.data.scope, window: e.data.window, threshold: String(e.data.threshold) });
        break;
      case 'guard.decided':
        this.guardDecisions.inc({ agent, stage: e.data.stage, guard: e.data.guard, verdict: e.data.verdict });
        break;
      case 'limit.hit':
        this.limitHits.inc({ agent, limit: e.data.limit });
        break;
      case 'run.completed':
      case 'run.failed':
      case 'run.stopped':
      case 'run.cancelled':
        this.runsEnded.inc({ agent, status: state.status, stop_reason: state.stopReason ?? '' });
        this.runCost.observe({ agent }, nanoToUsd(state.spentNano));
        this.modelStartedAt.delete(state.runId);
        break;
    }
  }

  /** `fallback`: the model called when it was not the primary (its server is the one `run.submitted` lists with it). */
  private durationLabels(state: RunState, responseModel: string | undefined, errorType: string, fallback?: ModelRef) {
    const model = modelCalled(state.model, fallback);
    const server = model.server;
    return {
      gen_ai_operation_name: 'chat',
      gen_ai_provider_name: genAiProviderName(model.provider),
      gen_ai_request_model: model.modelId,
      gen_ai_response_model: responseModel ?? '',
      server_address: server?.address ?? '',
      server_port: server?.port !== undefined ? String(server.port) : '',
      error_type: errorType,
    };
  }

  private async collectPending(store: Store | undefined): Promise<void> {
    const now = this.now();
    const count = { approval: 0, escalation: 0 };
    const oldest = { approval: now, escalation: now };
    const waiting = store
      ? (await store.listInterventions({ status: 'pending', limit: 100_000 })).map((r) => ({ kind: r.kind, since: r.requestedAt }))
      : [...this.parked.values()];
    for (const w of waiting) {
      count[w.kind]++;
      oldest[w.kind] = Math.min(oldest[w.kind], w.since);
    }
    for (const kind of ['approval', 'escalation'] as const) {
      this.approvalsPending.set({ kind }, count[kind]);
      this.approvalOldestAge.set({ kind }, (now - oldest[kind]) / 1000);
    }
  }

  /** For the scheduler: a breaker's state. */
  setBreakerState(breaker: string, state: BreakerState): void {
    this.breakerState.set({ breaker }, BREAKER_VALUE[state]);
  }

  /** For the scheduler: how many runs wait in a queue. */
  setQueueDepth(queue: string, depth: number): void {
    this.queueDepth.set({ queue }, depth);
  }

  /** The exposition text for `GET /metrics`. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Creates Warden's metrics in a registry of their own (or `options.registry`).
 *
 * @example
 * const metrics = createMetrics();
 * metrics.attach(warden);
 * await warden.run(agent, 'hi');
 * console.log(await metrics.text());
 */
export function createMetrics(options: MetricsOptions = {}): WardenMetrics {
  return new WardenMetrics(options);
}
