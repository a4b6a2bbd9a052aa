import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { holderIsGone } from './process-liveness.ts';
import type { Agent, OutputOf } from '../agent/agent.ts';
import { isRehearsalAgent } from '../agent/rehearsal-mark.ts';
import { isWardenError, mustExist, WardenError } from '../core/errors.ts';
import { dueApprovals, expireApproval, type ExpiredApproval } from './approval-expiry.ts';
import { checkAnswer } from '../guard/output-check.ts';
import { modelServer } from '../model/model-identity.ts';
import { resolvePricing } from '../model/pricing.ts';
import type { ModelPricing } from '../model/model-pricing.ts';
import type { WardenModel } from '../core/ports/model.ts';
import { formatUsd, nanoToUsd, tokensToNano, usdToNano } from '../core/money.ts';
import type { InterventionRecord, NewTurn, Store } from '../core/ports/store.ts';
import { checkArgs } from '../guard/check-args.ts';
import { hashValue } from '../core/canonical.ts';
import { sleep as defaultSleep } from './backoff.ts';
import { guardRequest } from './guard-step.ts';
import { MIN_OUTPUT_TOKENS } from '../guard/budget.ts';
import { fleetCharges, type FleetBudget, resolveFleetBudgets, type ResolvedFleetBudget } from '../guard/fleet-budgets.ts';
import { BudgetBook, DEFAULT_BUDGET_REFRESH_MS } from './budget-book.ts';
import {
  type AnyNewEvent,
  type AnyRunEvent,
  newEvent,
  PARKED_STATUSES,
  type RunMode,
  type RunStatus,
  type SubmittedModel,
  TERMINAL_STATUSES,
} from '../core/events.ts';
import { foldRun } from '../core/fold.ts';
import type { RunState } from '../core/run-state.ts';
import type { ChildRunner, ChildSpec } from './delegation.ts';
import { RunContext } from './run-context.ts';
import { assertNotHalted, engageSwitch, switchTarget, type EngagedSwitch, type SwitchScope } from './kill-switch.ts';
import { driveUndo, undoReport, type UndoReport } from './undo.ts';
import { resolveScheduler, type SchedulerConfig } from './scheduler-config.ts';
import { type BreakerState, type Coordinator, createLocalCoordinator } from '../core/coordination.ts';
import { type Scheduling, ToolSlots } from './scheduling.ts';
import { driveRun } from './run-loop.ts';
import { endAfterEscape } from './escaped-error.ts';
import { toRunResult, type RunResult } from './run-result.ts';
import { textChannel, type TextListener } from './text-stream.ts';
import { DEFAULT_MAX_BUFFERED_CHARS, textBuffer } from './text-buffer.ts';
import { newRunId } from '../core/ids.ts';
import { blockingTurn, CONVERSATION_HOLD, isLive, listTurns, nextTurn, releaseNextTurn, turnWasTaken } from './conversation-turns.ts';
import { resolveRetention, type ResolvedRetention, type RetentionPolicy } from '../core/retention.ts';

export interface WardenOptions {
  store: Store;
  /** Identifies this process in leases and traces. Default `host:pid:random`. */
  worker?: string;
  /** How long a lease lasts without a heartbeat. Default 30 s. */
  leaseTtlMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Draws the backoff jitter (default `Math.random`); a rehearsal seeds it so a seed replays exactly. */
  random?: () => number;
  /**
   * Sessions of one run that may end with no outcome (the process or worker died) before the run
   * stops with `crashed` and a person is told. Default 3.
   */
  maxCrashedSessions?: number;
  /** Every committed event, as it is committed. */
  onEvent?: (event: AnyRunEvent) => void;
  /** Tenants whose runs are all in shadow mode (nothing they run may change anything). */
  shadowTenants?: string[];
  /**
   * Budgets over time for a tenant, an agent or every run: each reservation is held against the
   * run's ceiling and every budget whose scope covers it, atomically in the store. An exhausted
   * budget refuses new runs (`BUDGET_EXHAUSTED`) and stops running ones (`budget_exhausted`).
   */
  budgets?: FleetBudget[];
  /**
   * How long this process goes on using the stored budgets (`warden budgets set`) it last read
   * before it reads them again, ms; 0 reads them before every reservation. Default 1,000.
   */
  budgetRefreshMs?: number;
  /**
   * How long finished runs are kept (docs/store.md, "Retention"); without it, for ever. Checked
   * here (a rule below six months is refused unless `allowBelowFloor`); applied by
   * `applyRetention(store, warden.retention)` or `warden retention --apply`, e.g. from cron.
   */
  retention?: RetentionPolicy;
  /** Queue bounds, rate limits, breakers, the retry budget, tool concurrency. */
  scheduler?: SchedulerConfig;
  /** Where breakers, rate limits and the retry budget keep their state. Default: in this process. */
  coordinator?: Coordinator;
  /** Told when a breaker changes state (metrics). */
  onBreakerChange?: (key: string, state: BreakerState) => void;
  /**
   * A rehearsal's own Warden: it decides the approvals of `rehearsal` runs (its simulated
   * reviewer) and no others. Every other Warden refuses to decide or drive a rehearsal's runs.
   */
  rehearsal?: boolean;
  /**
   * Stream every model call, even while nobody listens (the server does, so a viewer who connects
   * mid-call sees the rest of its text). Default: a call streams only while someone listens
   * (`onText`, `subscribeText`). The run's log is the same either way.
   */
  streamText?: boolean;
}

/** Events just committed to one run's log, with the run's state after them. */
export interface CommittedEvents {
  runId: string;
  events: readonly AnyRunEvent[];
  /** The fold of the whole log up to the last of `events`. Read it; never change it. */
  state: RunState;
}

/** A subscriber to committed events (traces, metrics, live views). It must not throw or block. */
export type EventListener = (batch: CommittedEvents) => void;

export interface SubmitOptions {
  tenant?: string;
  /** Record write and delete calls instead of making them. Default: the agent's `shadow`, or the tenant's. */
  shadow?: boolean;
  /** Who submits it (an API key id): recorded, and that submitter may not approve its actions. */
  submittedBy?: string;
  runId?: string;
  /** Absolute path of the agent module, so `warden resume` can load it. */
  agentFile?: string;
  /**
   * Makes the run the next turn of this conversation (created with its first turn): it sees the
   * earlier turns as the agent's `conversation.history` says, spends under the conversation's
   * ceiling too, and runs only once the turn before it has ended.
   */
  conversation?: string;
}

export interface ExecuteOptions {
  /** Take the run over even if another live worker seems to hold it. */
  force?: boolean;
  /** Aborting it cancels the run (and its children), as `cancel` would. */
  signal?: AbortSignal;
  /**
   * Hears the model's text as it streams (this run's own calls; child runs' are not passed on).
   * While it is set, model calls go through the model's `doStream`; the run's log is the same.
   * It is called synchronously and must not block; one that throws is detached for the rest of
   * the session and the run goes on unchanged.
   */
  onText?: TextListener;
}

/** Options of `warden.run`: the submission's, and a listener for streamed text. */
export type RunOptions = SubmitOptions & Pick<ExecuteOptions, 'onText' | 'signal'>;

/** What `warden.stream` returns: the text as it streams, and the run's result. */
export interface RunStream<T = string> {
  runId: string;
  /**
   * The model's text as it arrives, across the run's model calls, ending when the run ends or
   * parks (it throws what `result` rejects with). A retried call streams its text again.
   */
  textStream: AsyncIterable<string>;
  result: Promise<RunResult<T>>;
  /** Characters not delivered because the reader fell more than `maxBufferedChars` behind. */
  readonly droppedChars: number;
}

/** Options of `warden.stream`. */
export interface StreamOptions extends SubmitOptions {
  signal?: AbortSignal;
  /** Unread characters buffered for a slow reader before deltas are dropped; default 1 MiB. */
  maxBufferedChars?: number;
}

export interface ApprovalDecision {
  by: string;
  reason?: string;
}

export interface EscalationDecision {
  decision: 'approve' | 'edit' | 'takeover' | 'stop';
  by: string;
  reason?: string;
  /** New arguments, with `edit`. */
  args?: unknown;
  /** The final answer, with `takeover`. */
  output?: string;
}

export type StopTarget = { runId: string } | { agent: string } | { tenant: string } | { all: true };

/**
 * The runtime: submits runs to a store and drives them. Embedded use needs nothing else:
 *
 * @example
 * const warden = createWarden({ store: createSqliteStore({ path: '.warden/warden.db' }) });
 * const result = await warden.run(agent, 'Where is order 1042?');
 * if (result.status === 'waiting_approval') await warden.approve(result.pending!.id, { by: 'ana' });
 */
export class Warden {
  readonly store: Store;
  readonly worker: string;
  private readonly leaseTtlMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly onEvent?: (event: AnyRunEvent) => void;
  private readonly random?: () => number;
  private readonly maxCrashedSessions?: number;
  private readonly active = new Map<string, AbortController>();
  private readonly shadowTenants: ReadonlySet<string>;
  /** The fleet budgets declared on createWarden (`budgetBook` adds the stored ones). */
  readonly budgets: readonly ResolvedFleetBudget[];
  /** Every fleet budget a reservation is held against: createWarden's and the store's. */
  readonly budgetBook: BudgetBook;
  /** The checked retention policy (keeps everything unless `retention` said otherwise). */
  readonly retention: ResolvedRetention;
  private readonly scheduling: Scheduling;
  private readonly listeners = new Set<EventListener>();
  private readonly textListeners = new Set<TextListener>();
  private readonly rehearsal: boolean;
  private readonly streamText: boolean;

  constructor(options: WardenOptions) {
    this.rehearsal = options.rehearsal === true;
    this.streamText = options.streamText === true;
    this.store = options.store;
    this.worker = options.worker ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.onEvent = options.onEvent;
    this.shadowTenants = new Set(options.shadowTenants ?? []);
    this.budgets = resolveFleetBudgets(options.budgets);
    this.budgetBook = new BudgetBook(this.store, this.budgets, refreshMs(options.budgetRefreshMs), this.now);
    this.retention = resolveRetention(options.retention);
    this.scheduling = {
      config: resolveScheduler(options.scheduler),
      coordinator: options.coordinator ?? options.store.coordinator?.() ?? createLocalCoordinator(),
      ...(options.onBreakerChange ? { onBreakerChange: options.onBreakerChange } : {}),
      toolSlots: new ToolSlots(),
    };
    this.random = options.random;
    if (options.maxCrashedSessions !== undefined && !(Number.isInteger(options.maxCrashedSessions) && options.maxCrashedSessions >= 1)) {
      throw new WardenError('INVALID_CONFIG', `maxCrashedSessions must be an integer >= 1, got ${options.maxCrashedSessions}`);
    }
    this.maxCrashedSessions = options.maxCrashedSessions;
  }

  /**
   * Calls `listener` after every successful commit to any run this Warden writes: the worker's
   * steps and the decisions, cancels and submissions it appends. Returns the unsubscribe function.
   * A listener that throws is ignored: observing a run never changes it.
   *
   * @example
   * const stop = warden.subscribe(({ events }) => events.forEach((e) => console.log(e.type)));
   */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` with every piece of text the model streams in any run this Warden drives
   * (children included); while any is subscribed, model calls stream. Deltas are not events: a
   * delta may be missed, the committed `model.called` event is the truth. Returns the unsubscribe.
   *
   * @example
   * const stop = warden.subscribeText(({ runId, delta }) => relay(runId, delta));
   */
  subscribeText(listener: TextListener): () => void {
    this.textListeners.add(listener);
    return () => this.textListeners.delete(listener);
  }

  private publish(runId: string, events: readonly AnyRunEvent[], state: RunState): void {
    if (this.onEvent) events.forEach(this.onEvent);
    for (const listener of this.listeners) {
      try {
        listener({ runId, events, state });
      } catch {
        // Observers are best effort by design; a broken one must not fail the run.
      }
    }
  }

  /** Publishes events written outside a worker session (a submission, a decision, a cancel), ending at `lastSeq`. */
  private async publishAppended(runId: string, lastSeq: number, count: number): Promise<void> {
    if (this.listeners.size === 0 && !this.onEvent) return;
    const log = (await this.store.loadEvents(runId)).filter((e) => e.seq <= lastSeq);
    this.publish(runId, log.slice(-count), foldRun(log));
  }

  /** Records a new run (status `queued`) and returns its id. Nothing runs yet. */
  async submit(agent: Agent, input: string, options: SubmitOptions = {}): Promise<string> {
    if (typeof input !== 'string') throw new WardenError('INVALID_ARGUMENT', `input must be a string, got ${typeof input}`);
    const runId = options.runId ?? newRunId();
    const tenant = options.tenant ?? 'default';
    await this.admit(tenant);
    const shadow = options.shadow ?? (agent.shadow || this.shadowTenants.has(tenant));
    const mode: RunMode = isRehearsalAgent(agent) ? 'rehearsal' : shadow ? 'shadow' : 'live';
    if ((mode === 'rehearsal') !== this.rehearsal) {
      throw new WardenError(
        'CONFLICT',
        this.rehearsal
          ? `A rehearsal's Warden runs only the rehearsal's stand-in agent, not "${agent.name}" itself`
          : `Agent "${agent.name}" is a rehearsal's stand-in (simulated tools); submit the real agent, or rehearse with \`warden rehearse\``,
      );
    }
    await assertNotHalted(this.store, agent.name, tenant);
    await this.admitBudgets(tenant, agent, input);
    const spec = {
      runId,
      agent,
      input,
      tenant,
      rootRunId: runId,
      parentRunId: null,
      limits: agent.limits,
      agentFile: options.agentFile,
      mode,
      ...(options.submittedBy ? { submittedBy: options.submittedBy } : {}),
    };
    if (options.conversation === undefined) {
      await this.record(spec);
      return runId;
    }
    // Two messages may race for the same turn number: the store gives it to one, the other asks again.
    for (let attempt = 1; ; attempt++) {
      const turn = await nextTurn(this.store, options.conversation, agent, tenant);
      try {
        await this.record({ ...spec, conversation: { id: turn.conversationId, turn: turn.turn }, newTurn: turn });
        return runId;
      } catch (e) {
        if (attempt >= 5 || !(await turnWasTaken(this.store, e, turn))) throw e;
      }
    }
  }

  /**
   * Admission control: a bounded queue, globally and per tenant. A full queue refuses the request
   * with QUEUE_FULL (back-pressure) instead of growing without bound.
   */
  private async admit(tenant: string): Promise<void> {
    const { global, perTenant } = this.scheduling.config.maxQueued;
    if (global !== undefined) {
      const queued = await this.store.listRuns({ status: 'queued', limit: global });
      if (queued.length >= global)
        throw new WardenError('QUEUE_FULL', `The queue is full: ${queued.length} runs wait (scheduler.maxQueued.global = ${global}); retry later`);
    }
    if (perTenant !== undefined) {
      const queued = await this.store.listRuns({ status: 'queued', tenant, limit: perTenant });
      if (queued.length >= perTenant) {
        throw new WardenError(
          'QUEUE_FULL',
          `Tenant ${tenant}'s queue is full: ${queued.length} runs wait (scheduler.maxQueued.perTenant = ${perTenant}); retry later`,
        );
      }
    }
  }

  /**
   * A budget whose room left in the current window is below the least the run's first model call
   * can reserve (its input's bytes at the input price, plus the fewest output tokens a call is made
   * with) refuses the run before it is written: it could not take a single step.
   */
  private async admitBudgets(tenant: string, agent: Agent, input: string): Promise<void> {
    const charges = fleetCharges(await this.budgetBook.fresh(), { tenant, agent: agent.name }, this.now());
    if (charges.length === 0) return;
    const pricing = resolvePricing(agent.model, agent.pricing);
    const leastNano =
      tokensToNano(Buffer.byteLength(input), pricing.inputPerMTok) +
      tokensToNano(Math.min(MIN_OUTPUT_TOKENS, agent.limits.maxOutputTokens), pricing.outputPerMTok);
    const rows = await this.store.getFleetBudgets(charges.map((c) => c.key));
    for (const c of charges) {
      const row = rows.find((r) => r.key === c.key) ?? { spentNano: 0, reservedNano: 0 };
      if (row.spentNano + row.reservedNano + leastNano > c.limitNano) {
        const [scope, window] = c.key.split('|');
        throw new WardenError(
          'BUDGET_EXHAUSTED',
          `The ${window} budget of ${scope} is exhausted: ${formatUsd(row.spentNano)} spent and ${formatUsd(row.reservedNano)} reserved of ${formatUsd(c.limitNano)}, ` +
            `less than the ${formatUsd(leastNano)} a first model call needs; retry in the next window`,
          { context: { budget: c.key } },
        );
      }
    }
  }

  private async record(
    spec: Omit<ChildSpec, 'task' | 'lineage' | 'parentRunId' | 'mode'> & {
      input: string;
      parentRunId: string | null;
      lineage?: ChildSpec['lineage'];
      mode: RunMode;
      submittedBy?: string;
      /** For a root run that is a conversation's turn: the turn as the store creates it. */
      newTurn?: NewTurn;
    },
  ): Promise<void> {
    const { agent, runId } = spec;
    // Input guards run before anything is written: the log only ever holds what they let through.
    const guarded = await guardRequest(agent, spec.tenant, spec.input);
    const pricing = resolvePricing(agent.model, agent.pricing);
    const at = this.now();
    const submitted = newEvent(
      'run.submitted',
      {
        agent: agent.name,
        input: guarded.written,
        tenant: spec.tenant,
        limits: { ...spec.limits },
        rootRunId: spec.rootRunId,
        parentRunId: spec.parentRunId,
        ...(spec.agentFile ? { agentFile: spec.agentFile } : {}),
        ...(spec.lineage ? { lineage: spec.lineage } : {}),
        ...(spec.conversation ? { conversation: spec.conversation } : {}),
        ...(spec.mode !== 'live' ? { mode: spec.mode } : {}),
        ...(spec.submittedBy ? { submittedBy: spec.submittedBy } : {}),
        model: {
          ...submittedModel(agent.model, pricing),
          ...(agent.models.length > 1 ? { fallbacks: agent.models.slice(1).map((m) => submittedModel(m.model, m.price.pricing)) } : {}),
        },
      },
      at,
    );
    await this.store.createRun({
      runId,
      agent: agent.name,
      tenant: spec.tenant,
      input: guarded.written,
      parentRunId: spec.parentRunId,
      rootRunId: spec.rootRunId,
      ceilingNano: usdToNano(spec.limits.maxCostUsd),
      status: 'queued',
      createdAt: at,
      submitted,
      ...(spec.newTurn ? { conversation: spec.newTurn } : {}),
    });
    // The decisions, never the value; an escalation is asked by the run itself (gateRequest).
    const decided = guarded.decisions.filter((g) => g.verdict !== 'escalate');
    if (decided.length === 0) return this.publishAppended(runId, 1, 1);
    const events = decided.map((g) => newEvent('guard.decided', { stage: 'input', guard: g.guard, verdict: g.verdict, reason: g.reason }, at));
    const lastSeq = await this.store.appendExternal(runId, events);
    await this.publishAppended(runId, lastSeq, events.length + 1);
  }

  /** How runs of this Warden start and drive their child runs. */
  private readonly childRunner: ChildRunner = {
    create: async (spec) => {
      if (await this.store.getRun(spec.runId)) return; // created before a crash: the id is derived, so it is the same child
      await this.record({ ...spec, input: spec.task });
    },
    drive: (agent, runId, signal) => this.execute(agent, runId, { signal, force: true }),
  };

  /**
   * Submits and drives a run until it ends or waits for a person. Never blocks on a person.
   *
   * @example
   * const result = await warden.run(agent, 'Where is order 1042?', { onText: ({ delta }) => process.stdout.write(delta) });
   */
  async run<T = string>(agent: Agent & OutputOf<T>, input: string, options: RunOptions = {}): Promise<RunResult<T>> {
    const runId = await this.submit(agent, input, options);
    return this.execute(agent, runId, { ...(options.onText ? { onText: options.onText } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }

  /**
   * Runs like `run`, streaming the model's text as it is produced, in the AI SDK's style. The run
   * never waits for the reader (see `maxBufferedChars`), and the ceiling holds mid-stream.
   *
   * @example
   * const { textStream, result } = warden.stream(agent, 'Where is order 1042?');
   * for await (const text of textStream) process.stdout.write(text);
   * console.log((await result).status);
   */
  stream<T = string>(agent: Agent & OutputOf<T>, input: string, options: StreamOptions = {}): RunStream<T> {
    const { maxBufferedChars, ...rest } = options;
    const buffer = textBuffer(maxBufferedChars ?? DEFAULT_MAX_BUFFERED_CHARS);
    const runId = options.runId ?? newRunId();
    const result = this.run(agent, input, { ...rest, runId, onText: ({ delta }) => buffer.push(delta) });
    result.then(
      () => buffer.end(),
      (e: unknown) => buffer.end(e),
    );
    result.catch(() => {}); // the reader of textStream hears the error too; neither is left unhandled
    return {
      runId,
      textStream: buffer.iterable,
      result,
      get droppedChars() {
        return buffer.dropped;
      },
    };
  }

  /**
   * Drives a run from wherever its log says it is: a new run, a run whose approval was decided,
   * or a run whose process died (`resume`). Returns when it ends or parks.
   */
  async execute<T = string>(agent: Agent & OutputOf<T>, runId: string, options: ExecuteOptions = {}): Promise<RunResult<T>> {
    await this.takeLease(runId, options.force === true);
    const controller = new AbortController();
    const outer = options.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) onOuterAbort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    this.active.set(runId, controller);
    const heartbeat = setInterval(
      () => {
        // renew, never take: a lease another worker took over after a stall stays theirs.
        this.store.renewLease(runId, this.worker, this.leaseTtlMs).catch(() => {});
      },
      Math.max(1_000, this.leaseTtlMs / 3),
    );
    heartbeat.unref();
    try {
      let state = foldRun(await this.store.loadEvents(runId));
      assertDrivableBy(state, agent);
      if (state.pending?.childRunId && (await this.interventionClosed(state.pending.id))) {
        // The child this run waited on was decided: the parent goes on and drives it again.
        const callId = mustExist(state.pending.callId, 'the call of a pending child wait');
        await this.store.appendExternal(runId, [newEvent('child.resumed', { callId, childRunId: state.pending.childRunId }, this.now())], {
          run: { status: 'queued' },
        });
        state = foldRun(await this.store.loadEvents(runId));
      }
      if (state.agent !== agent.name) {
        throw new WardenError('INVALID_ARGUMENT', `Run ${runId} belongs to agent "${state.agent}", not "${agent.name}"`, { context: { runId } });
      }
      if (
        state.status === 'waiting_approval' &&
        !state.pending?.childRunId &&
        state.pending?.expiresAt !== undefined &&
        this.now() >= state.pending.expiresAt
      ) {
        // Its approval's deadline passed with nobody to sweep it: it expires now, and the run goes on from there.
        if ((await this.expireApprovals({ runId })).length > 0) state = foldRun(await this.store.loadEvents(runId));
      }
      if (TERMINAL_STATUSES.has(state.status) || PARKED_STATUSES.has(state.status)) return this.result(state);
      if (await this.heldBehindEarlierTurn(state)) return this.result(state);
      await assertNotHalted(this.store, state.agent, state.tenant);
      const ctx = this.context(agent, state, controller.signal, options.onText);
      try {
        await driveRun(ctx);
      } catch (e) {
        await endAfterEscape(ctx, e);
      }
      if (ctx.state.conversation && ctx.state.parentRunId === null && TERMINAL_STATUSES.has(ctx.state.status)) {
        await releaseNextTurn(this.store, ctx.state.conversation.id, ctx.state.conversation.turn);
      }
      return this.result(ctx.state);
    } finally {
      clearInterval(heartbeat);
      outer?.removeEventListener('abort', onOuterAbort);
      this.active.delete(runId);
      await this.store.releaseLease(runId, this.worker).catch(() => {});
    }
  }

  /**
   * A conversation's turn that has not started while an earlier turn of the conversation is still
   * live (queued, running, or waiting for a person) is held back: it stays queued, leased to
   * `CONVERSATION_HOLD` so no worker claims it, until the earlier turn ends.
   */
  private async heldBehindEarlierTurn(state: RunState): Promise<boolean> {
    const c = state.conversation;
    if (!c || state.parentRunId !== null || state.sessions > 0 || c.turn === 1) return false;
    if (!(await blockingTurn(this.store, c.id, c.turn))) return false;
    await this.store.acquireLease(state.runId, CONVERSATION_HOLD, this.leaseTtlMs, { force: true });
    return true;
  }

  /**
   * Cancels a conversation: it takes no more messages (`CONVERSATION_CLOSED`), and every turn not
   * yet ended (the live one, and any queued behind it) is cancelled as `cancel` would.
   *
   * @example
   * await warden.cancelConversation('chat-42', { by: 'ana', reason: 'customer left' });
   */
  async cancelConversation(conversationId: string, options: { by: string; reason?: string }): Promise<RunResult[]> {
    if (!(await this.store.getConversation(conversationId))) throw new WardenError('NOT_FOUND', `No conversation with id "${conversationId}"`);
    await this.store.closeConversation(conversationId, this.now());
    const results: RunResult[] = [];
    for (const turn of (await listTurns(this.store, conversationId)).reverse()) {
      if (isLive(turn.status)) results.push(await this.cancel(turn.runId, options));
    }
    return results;
  }

  private context(agent: Agent, state: RunState, signal: AbortSignal, onText?: TextListener): RunContext {
    return new RunContext({
      store: this.store,
      agent,
      pricing: resolvePricing(agent.model, agent.pricing),
      state,
      worker: this.worker,
      signal,
      now: this.now,
      sleep: this.sleep,
      ...(this.random ? { random: this.random } : {}),
      ...(this.maxCrashedSessions !== undefined ? { maxCrashedSessions: this.maxCrashedSessions } : {}),
      onEvents: (events, state) => this.publish(state.runId, events, state),
      children: this.childRunner,
      scheduling: this.scheduling,
      text: textChannel(onText, this.textListeners, this.streamText),
      budgets: this.budgetBook,
    });
  }

  /** The run's result, with the whole request's spend from the shared ledger. */
  private async result<T = string>(state: RunState): Promise<RunResult<T>> {
    const result = toRunResult(state);
    const budget = state.children.size > 0 || state.parentRunId ? await this.store.getBudget(state.rootRunId) : undefined;
    // `output` is the schema's value for an agent with `output`, its text otherwise: the caller's agent says which.
    return { ...result, requestCostUsd: budget ? nanoToUsd(budget.spentNano) : result.costUsd } as RunResult<T>;
  }

  /** The decision a waiting descendant needed was taken (or its run was cancelled). */
  private async interventionClosed(id: string): Promise<boolean> {
    const record = await this.store.getIntervention(id);
    return record?.status !== 'pending';
  }

  /** Same as `execute`: continues a run whose process is gone, from its last committed event. */
  resume<T = string>(agent: Agent & OutputOf<T>, runId: string, options: ExecuteOptions = {}): Promise<RunResult<T>> {
    return this.execute(agent, runId, options);
  }

  /** The run as its log says it is now. */
  /** The run as its log says it is now. `T`: the type of its agent's `output` (the caller knows the agent). */
  async inspect<T = string>(runId: string): Promise<RunResult<T>> {
    return this.result(foldRun(await this.events(runId)));
  }

  async events(runId: string): Promise<AnyRunEvent[]> {
    const events = await this.store.loadEvents(runId);
    if (events.length === 0) throw new WardenError('NOT_FOUND', `No run with id "${runId}"`, { context: { runId } });
    return events;
  }

  /** Approves the exact arguments a waiting call was proposed with. The run can then go on. */
  approve(approvalId: string, decision: ApprovalDecision): Promise<InterventionRecord> {
    return this.decideApproval(approvalId, 'approved', decision);
  }

  deny(approvalId: string, decision: ApprovalDecision): Promise<InterventionRecord> {
    return this.decideApproval(approvalId, 'denied', decision);
  }

  /**
   * Expires the approvals whose deadline has passed (`approval: { timeoutMs, onTimeout }` or the
   * policy's default): each is denied or escalated, as its `onTimeout` says, and its run goes on.
   * `warden serve` and `warden worker` call this every second; an embedded program calls it on
   * its own schedule. Deciding, resuming or listing an expired approval also expires it, so a
   * deadline holds even where nothing sweeps.
   */
  async expireApprovals(options: { runId?: string; limit?: number } = {}): Promise<ExpiredApproval[]> {
    const now = this.now();
    const expired: ExpiredApproval[] = [];
    for (const record of await dueApprovals(this.store, now, options)) {
      if (!(await this.ownsMode(record.runId))) continue;
      const done = await expireApproval(this.store, record, now);
      if (!done) continue;
      expired.push(done);
      await this.publishAppended(record.runId, done.lastSeq, done.outcome === 'escalated' ? 2 : 1);
    }
    return expired;
  }

  /** Whether this Warden decides the run's questions: a rehearsal's only rehearsal runs, any other only the rest. */
  private async ownsMode(runId: string): Promise<boolean> {
    const mode = (await this.store.getRun(runId))?.mode ?? 'live';
    return (mode === 'rehearsal') === this.rehearsal;
  }

  /** A decision that came too late: the approval expires (if nobody expired it yet), and the caller hears so. */
  private async refuseExpired(record: InterventionRecord): Promise<never> {
    await expireApproval(this.store, record, Math.max(this.now(), mustExist(record.expiresAt, 'the deadline of an expired approval')));
    const now = mustExist(await this.store.getIntervention(record.id), 'the approval just expired');
    const became = now.status === 'expired' ? `: ${now.decisionReason}` : ` (then ${now.status} by ${now.decidedBy})`;
    throw new WardenError(
      'APPROVAL_EXPIRED',
      `Approval ${record.id} expired at ${new Date(mustExist(record.expiresAt, 'the deadline')).toISOString()}${became}; it can no longer be approved`,
      { context: { runId: record.runId } },
    );
  }

  private async decideApproval(id: string, verdict: 'approved' | 'denied', decision: ApprovalDecision): Promise<InterventionRecord> {
    const record = await this.pendingIntervention(id, 'approval', decision.by);
    const reason = decision.reason ?? '';
    if (record.evidence.compensation === true)
      return this.decideCompensation(record, verdict === 'approved' ? 'approve' : 'skip', decision.by, reason, verdict);
    if (record.expiresAt !== null && this.now() >= record.expiresAt) return this.refuseExpired(record);
    const event = newEvent(
      'approval.decided',
      {
        approvalId: id,
        callId: mustExist(record.callId, 'the call of an approval'),
        decision: verdict,
        by: decision.by,
        reason,
        argsHash: mustExist(record.argsHash, 'the args hash of an approval'),
      },
      this.now(),
    );
    let lastSeq: number;
    try {
      lastSeq = await this.store.appendExternal(record.runId, [event], {
        run: { status: 'queued' },
        intervention: { id, status: verdict, decidedBy: decision.by, decisionReason: reason, decidedAt: event.at },
      });
    } catch (e) {
      // The store refuses a decision timed at or past the deadline, whatever this process's check saw.
      if (isWardenError(e, 'APPROVAL_EXPIRED')) return this.refuseExpired(record);
      throw e;
    }
    await this.publishAppended(record.runId, lastSeq, 1);
    return mustExist(await this.store.getIntervention(id), 'the intervention just decided');
  }

  /** A decision on an undo step: the run stays as it ended; only its undo moves on. */
  private async decideCompensation(
    record: InterventionRecord,
    decision: 'approve' | 'skip' | 'done',
    by: string,
    reason: string,
    status: 'approved' | 'denied' | 'decided',
  ): Promise<InterventionRecord> {
    const event = newEvent(
      'compensation.decided',
      { callId: mustExist(record.callId, 'the call of an undo step'), interventionId: record.id, decision, by, reason },
      this.now(),
    );
    const lastSeq = await this.store.appendExternal(record.runId, [event], {
      intervention: { id: record.id, status, decidedBy: by, decisionReason: `${decision}${reason ? `: ${reason}` : ''}`, decidedAt: event.at },
    });
    await this.publishAppended(record.runId, lastSeq, 1);
    return mustExist(await this.store.getIntervention(record.id), 'the intervention just decided');
  }

  /** A person's answer to an escalation: run the step, run it with edited arguments, answer instead, or stop. */
  async decideEscalation(id: string, decision: EscalationDecision, agent?: Agent): Promise<InterventionRecord> {
    const record = await this.pendingIntervention(id, 'escalation', decision.by);
    const reason = decision.reason ?? '';
    if (record.evidence.compensation === true) {
      const map = { approve: 'approve', stop: 'skip', takeover: 'done' } as const;
      if (decision.decision === 'edit')
        throw new WardenError('INVALID_ARGUMENT', `Escalation ${id} is about an undo; approve (try again), stop (leave it) or takeover (reversed by hand)`);
      return this.decideCompensation(record, map[decision.decision], decision.by, reason, 'decided');
    }
    const at = this.now();
    const events: AnyNewEvent[] = [];
    const data = { escalationId: id, decision: decision.decision, by: decision.by, reason };
    if (record.evidence.crashed === true) {
      // A poison run's notice: the run stays stopped (`crashed`); the decision is recorded and closes it.
      const lastSeq = await this.store.appendExternal(record.runId, [newEvent('escalation.decided', data, at)], {
        intervention: { id, status: 'decided', decidedBy: decision.by, decisionReason: `${decision.decision}${reason ? `: ${reason}` : ''}`, decidedAt: at },
      });
      await this.publishAppended(record.runId, lastSeq, 1);
      return mustExist(await this.store.getIntervention(id), 'the intervention just decided');
    }
    if (typeof record.evidence.guard === 'string' && decision.decision === 'edit')
      throw new WardenError('INVALID_ARGUMENT', `Escalation ${id} is about what a content guard saw; approve, take over with your own answer, or stop`);
    // An escalated final answer (no call): approving it completes the run with that answer.
    const answer = record.callId === null && typeof record.evidence.answer === 'string' ? record.evidence.answer : null;
    let status: RunStatus = 'queued';
    switch (decision.decision) {
      case 'approve':
        events.push(newEvent('escalation.decided', data, at));
        if (answer !== null) {
          events.push(newEvent('run.completed', { output: answer, ...structuredValue(agent, answer, 'The escalated answer') }, at));
          status = 'completed';
        }
        break;
      case 'edit':
        if (decision.args === undefined) throw new WardenError('INVALID_ARGUMENT', 'An edit needs the new arguments');
        if (answer !== null)
          throw new WardenError('INVALID_ARGUMENT', `Escalation ${id} is about a final answer, which has no arguments; take over with your own answer instead`);
        if (agent && record.tool) {
          const tool = agent.toolsByName.get(record.tool);
          const checked = tool ? checkArgs(tool.input, decision.args) : null;
          if (checked && !checked.ok) throw new WardenError('INVALID_TOOL_ARGS', `The edited arguments do not fit ${record.tool}: ${checked.message}`);
        }
        events.push(newEvent('escalation.decided', { ...data, args: decision.args, argsHash: hashValue(decision.args) }, at));
        break;
      case 'takeover':
        if (typeof decision.output !== 'string') throw new WardenError('INVALID_ARGUMENT', 'A takeover needs the final answer (output)');
        events.push(newEvent('escalation.decided', { ...data, output: decision.output }, at));
        events.push(newEvent('run.completed', { output: decision.output, ...structuredValue(agent, decision.output, 'The takeover answer') }, at));
        break;
      case 'stop':
        events.push(newEvent('escalation.decided', data, at));
        events.push(newEvent('run.cancelled', { by: decision.by, reason: reason || 'stopped at escalation' }, at));
        break;
      default:
        throw new WardenError('INVALID_ARGUMENT', `Unknown escalation decision ${JSON.stringify((decision as { decision: unknown }).decision)}`);
    }
    if (decision.decision === 'takeover') status = 'completed';
    if (decision.decision === 'stop') status = 'cancelled';
    const lastSeq = await this.store.appendExternal(record.runId, events, {
      run: { status, ...(status === 'completed' ? { output: decision.output ?? answer } : {}), ...(status === 'cancelled' ? { stopReason: 'cancelled' } : {}) },
      intervention: { id, status: 'decided', decidedBy: decision.by, decisionReason: `${decision.decision}${reason ? `: ${reason}` : ''}`, decidedAt: at },
    });
    await this.publishAppended(record.runId, lastSeq, events.length);
    return mustExist(await this.store.getIntervention(id), 'the intervention just decided');
  }

  private async pendingIntervention(id: string, kind: 'approval' | 'escalation', by: string): Promise<InterventionRecord> {
    if (typeof by !== 'string' || by.trim() === '') throw new WardenError('INVALID_ARGUMENT', 'A decision must say who made it (by)');
    const record = await this.store.getIntervention(id);
    if (!record) throw new WardenError('NOT_FOUND', `No ${kind} with id "${id}"`);
    if (record.kind !== kind) throw new WardenError('INVALID_ARGUMENT', `"${id}" is an ${record.kind}, not an ${kind}`);
    if (record.status !== 'pending') {
      throw new WardenError('CONFLICT', `${kind} "${id}" was already decided (${record.status} by ${record.decidedBy})`, { context: { runId: record.runId } });
    }
    if (!(await this.ownsMode(record.runId))) {
      const mode = (await this.store.getRun(record.runId))?.mode ?? 'live';
      throw new WardenError(
        'CONFLICT',
        mode === 'rehearsal'
          ? `Run ${record.runId} is in rehearsal mode: it was recorded by \`warden rehearse\` against simulated tools, and its ${kind}s belong to the rehearsal's simulated reviewer. Deciding it here could drive the real tools; rehearse again instead.`
          : `Run ${record.runId} is in ${mode} mode; a rehearsal's Warden decides only rehearsal runs`,
        { context: { runId: record.runId } },
      );
    }
    return record;
  }

  /**
   * Reverses what a finished run did: the compensations of its executed calls, newest first, each
   * a durable step in the run's log (see `driveUndo`). Call it again after a person decided a
   * compensation that waited; it goes on where it stopped. `dryRun` writes nothing.
   *
   * @example
   * const report = await warden.undo(agent, runId, { by: 'ana', reason: 'wrong customer' });
   * report.irreversible; // calls with no compensation, left alone
   */
  async undo(agent: Agent, runId: string, options: { by: string; reason?: string; dryRun?: boolean }): Promise<UndoReport> {
    if (typeof options?.by !== 'string' || options.by.trim() === '') throw new WardenError('INVALID_ARGUMENT', 'An undo must say who asked for it (by)');
    const state = foldRun(await this.events(runId));
    if (state.agent !== agent.name)
      throw new WardenError('INVALID_ARGUMENT', `Run ${runId} belongs to agent "${state.agent}", not "${agent.name}"`, { context: { runId } });
    assertDrivableBy(state, agent);
    if (!TERMINAL_STATUSES.has(state.status)) {
      throw new WardenError('CONFLICT', `Run ${runId} is still ${state.status}; stop it first (warden stop --run ${runId}), then undo it`, {
        context: { runId },
      });
    }
    if (options.dryRun) return undoReport(state, agent, true);
    await this.takeLease(runId, false);
    try {
      const ctx = this.context(agent, foldRun(await this.store.loadEvents(runId)), new AbortController().signal);
      await driveUndo(ctx, options.by, options.reason ?? 'undo requested');
      return undoReport(ctx.state, agent, false);
    } finally {
      await this.store.releaseLease(runId, this.worker).catch(() => {});
    }
  }

  /**
   * Cancels a run and every run below it. A run this process is driving is aborted at once; a run
   * parked or queued ends cancelled right away; a run another worker drives stops at that worker's
   * next step.
   */
  async cancel(runId: string, options: { by: string; reason?: string }): Promise<RunResult> {
    const state = foldRun(await this.events(runId));
    const reason = options.reason ?? 'cancelled';
    // Children first, so none is left running for a parent that is gone.
    for (const child of await this.descendants(state.rootRunId, runId)) await this.cancelOne(child, options.by, reason);
    await this.cancelOne(runId, options.by, reason);
    const after = await this.store.getRun(runId);
    if (after?.conversationId && after.turn !== null && TERMINAL_STATUSES.has(after.status))
      await releaseNextTurn(this.store, after.conversationId, after.turn);
    return this.inspect(runId);
  }

  private async cancelOne(runId: string, by: string, reason: string): Promise<void> {
    const state = foldRun(await this.events(runId));
    if (TERMINAL_STATUSES.has(state.status)) return;
    const at = this.now();
    const events: AnyNewEvent[] = [newEvent('cancel.requested', { by, reason }, at)];
    const local = this.active.get(runId);
    const record = await this.store.getRun(runId);
    const heldElsewhere = !local && record?.leaseOwner && record.leaseOwner !== CONVERSATION_HOLD && (record.leaseExpiresAt ?? 0) > at;
    if (!local && !heldElsewhere) events.push(newEvent('run.cancelled', { by, reason }, at));
    // A wait on a child's decision is closed with the child; only this run's own is closed here.
    const pending = state.pending && !state.pending.childRunId ? state.pending : null;
    const lastSeq = await this.store.appendExternal(runId, events, {
      ...(events.length > 1 ? { run: { status: 'cancelled', stopReason: 'cancelled' } } : {}),
      ...(pending && events.length > 1
        ? { intervention: { id: pending.id, status: 'decided', decidedBy: by, decisionReason: `run cancelled: ${reason}`, decidedAt: at } }
        : {}),
    });
    await this.publishAppended(runId, lastSeq, events.length);
    local?.abort(new WardenError('CONFLICT', `Run ${runId} cancelled by ${by}`));
  }

  /** Runs below `runId` in its tree, deepest first. */
  private async descendants(rootRunId: string, runId: string): Promise<string[]> {
    const tree = await this.store.listRuns({ rootRunId, limit: 100_000 });
    const below: string[] = [];
    const walk = (parent: string) => {
      for (const r of tree) {
        if (r.parentRunId !== parent) continue;
        walk(r.runId);
        below.push(r.runId);
      }
    };
    walk(runId);
    return below;
  }

  /**
   * Pulls the durable kill switch for a scope (`all`, `agent:NAME`, `tenant:NAME`): until it is
   * lifted, no run in the scope may be submitted or resumed (`HALTED`), and the live ones are
   * cancelled now (`stop`). The same switch as the dashboard's and `warden stop --agent`.
   *
   * @example
   * await warden.halt('agent:support-desk', { by: 'ana', reason: 'refund bug' });
   * await liftSwitch(store, 'agent:support-desk'); // or `warden stop lift agent:support-desk`
   */
  async halt(scope: SwitchScope, options: { by: string; reason?: string }): Promise<{ engaged: EngagedSwitch; stopped: RunResult[] }> {
    const engaged = await engageSwitch(this.store, scope, options.by, options.reason ?? 'kill switch');
    const stopped = await this.stop(switchTarget(engaged.scope), options);
    return { engaged, stopped };
  }

  /**
   * The kill switch: cancels one run, every live run of an agent or a tenant, or every live run.
   * Each run ends cancelled (or, if another worker drives it, stops at its next step); nothing
   * half-done is left: in-flight calls are recorded with an unknown outcome, never re-run blindly.
   *
   * @example
   * await warden.stop({ agent: 'support-desk' }, { by: 'ana', reason: 'refund bug' });
   */
  async stop(target: StopTarget, options: { by: string; reason?: string }): Promise<RunResult[]> {
    const chosen = ['runId', 'agent', 'tenant', 'all'].filter(
      (k) => (target as Record<string, unknown>)[k] !== undefined && (target as Record<string, unknown>)[k] !== false,
    );
    if (chosen.length !== 1) throw new WardenError('INVALID_ARGUMENT', 'Stop exactly one of: a run (runId), an agent, a tenant, or all');
    if ('runId' in target && target.runId) return [await this.cancel(target.runId, options)];
    const filter = {
      status: ['queued', 'running', 'waiting_approval', 'escalated'] as RunStatus[],
      limit: 100_000,
      ...('agent' in target && target.agent ? { agent: target.agent } : {}),
      ...('tenant' in target && target.tenant ? { tenant: target.tenant } : {}),
    };
    const live = await this.store.listRuns(filter);
    const results: RunResult[] = [];
    // Roots first: cancelling a root takes its whole tree with it.
    for (const r of live.filter((x) => x.parentRunId === null)) results.push(await this.cancel(r.runId, options));
    for (const r of live.filter((x) => x.parentRunId !== null)) results.push(await this.cancel(r.runId, options));
    return results;
  }

  private async takeLease(runId: string, force: boolean): Promise<void> {
    if (await this.store.acquireLease(runId, this.worker, this.leaseTtlMs)) return;
    const record = await this.store.getRun(runId);
    if (!record) throw new WardenError('NOT_FOUND', `No run with id "${runId}"`, { context: { runId } });
    // A held turn is taken by whoever asks to drive it; it is checked again before it runs.
    if (force || record.leaseOwner === CONVERSATION_HOLD || holderIsGone(record.leaseOwner)) {
      if (await this.store.acquireLease(runId, this.worker, this.leaseTtlMs, { force: true })) return;
    }
    throw new WardenError('LEASE_HELD', `Run ${runId} is being driven by ${record.leaseOwner}; use --force if that process is gone`, {
      context: { runId },
    });
  }
}

/**
 * A run in rehearsal mode is driven only by a rehearsal's stand-in agent (simulated tools), and a
 * stand-in drives no other run: the mode, not the caller's care, keeps a rehearsal off real tools.
 */
function assertDrivableBy(state: RunState, agent: Agent): void {
  const standIn = isRehearsalAgent(agent);
  if (state.mode === 'rehearsal' && !standIn) {
    throw new WardenError(
      'CONFLICT',
      `Run ${state.runId} is in rehearsal mode: it was recorded by \`warden rehearse\` against simulated tools, and driving it with the agent "${agent.name}" would call its real tools. Rehearse again instead.`,
      { context: { runId: state.runId } },
    );
  }
  if (state.mode !== 'rehearsal' && standIn) {
    throw new WardenError('CONFLICT', `Run ${state.runId} is in ${state.mode} mode; a rehearsal's stand-in agent may drive only rehearsal runs`, {
      context: { runId: state.runId },
    });
  }
}

/**
 * A person's final answer (an escalated answer approved, or a takeover) for an agent with an
 * `output` schema: the value it must parse to, or `INVALID_ARGUMENT` naming what is wrong. Without
 * the agent (or for one without `output`) the answer is the text.
 */
function structuredValue(agent: Agent | undefined, text: string, what: string): { value?: unknown } {
  if (!agent?.output) return {};
  const checked = checkAnswer(agent.output.schema, text);
  if (!checked.ok) throw new WardenError('INVALID_ARGUMENT', `${what} does not match the agent's output schema: ${checked.errors.join('; ')}`);
  return { value: checked.value };
}

export function createWarden(options: WardenOptions): Warden {
  return new Warden(options);
}

function refreshMs(ms: number | undefined): number {
  if (ms === undefined) return DEFAULT_BUDGET_REFRESH_MS;
  if (!(typeof ms === 'number' && Number.isFinite(ms) && ms >= 0))
    throw new WardenError('INVALID_CONFIG', `budgetRefreshMs must be a number of ms ≥ 0, got ${JSON.stringify(ms)}`);
  return ms;
}

/** A model as `run.submitted` records it: identity, the price its calls are held to, and its server. */
function submittedModel(model: WardenModel, pricing: ModelPricing): SubmittedModel {
  const server = modelServer(model);
  return {
    provider: model.provider,
    modelId: model.modelId,
    inputPerMTok: pricing.inputPerMTok,
    outputPerMTok: pricing.outputPerMTok,
    ...(server ? { server } : {}),
  };
}
