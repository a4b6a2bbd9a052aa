import type { Agent } from '../agent/agent.ts';
import { covers, type ResolvedFleetBudget } from '../guard/fleet-budgets.ts';
import type { ModelPricing } from '../model/model-pricing.ts';
import { WardenError, isWardenError } from '../core/errors.ts';
import type { BudgetOp, CommitBatch, NewIntervention, RunPatch, Store } from '../core/ports/store.ts';
import type { AnyRunEvent, EventPayloads, EventType } from '../core/events.ts';
import type { ChildRunner } from './delegation.ts';
import type { Scheduling } from './scheduling.ts';
import { applyEvent, foldRun } from '../core/fold.ts';
import type { RunState } from '../core/run-state.ts';
import { rowFigures } from '../core/projection.ts';
import type { TextChannel } from './text-stream.ts';
import type { BudgetBook } from './budget-book.ts';
import { decideEvent } from './decide/decisions.ts';

/** A commit's worth of decisions; `run` is the row as of its last event (null: as of the flush). */
interface Part {
  events: AnyRunEvent[];
  budget: BudgetOp[];
  interventions: NewIntervention[];
  run: RunPatch | null;
}

/** Events another writer may add while a worker runs, which never invalidate the worker's decisions. */
const REBASEABLE = new Set<EventType>(['cancel.requested']);

export interface RunContextOptions {
  store: Store;
  agent: Agent;
  pricing: ModelPricing;
  state: RunState;
  worker: string;
  signal: AbortSignal;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called with every event once it is committed, and the run's state after them (trace printing, metrics, subscribers). */
  onEvents?: (events: readonly AnyRunEvent[], state: RunState) => void;
  /** Starts and drives child runs (delegation). */
  children?: ChildRunner;
  /** Rate limits, breakers, the retry budget and tool slots. */
  scheduling?: Scheduling;
  /** Draws backoff jitter; default `Math.random`. */
  random?: () => number;
  /** Crashed sessions after which the run stops with `crashed` (default `DEFAULT_MAX_CRASHED_SESSIONS`). */
  maxCrashedSessions?: number;
  /** Where streamed text goes; model calls stream while it has listeners. */
  text?: TextChannel;
  /** Fleet budgets each reservation is also held against (createWarden's `budgets` and the stored ones). */
  budgets?: BudgetBook;
}

/** Sessions a run may lose to a dying process or worker before it stops with `crashed`. */
export const DEFAULT_MAX_CRASHED_SESSIONS = 3;

/**
 * One execution session of one run: the folded state, and the events decided since the last
 * commit. Events are applied to the state as they are decided and written in one transaction
 * right before anything leaves the process (a model call, a tool call) and when the session ends:
 * the write-ahead rule that makes a crash lose nothing that mattered.
 */
export class RunContext {
  readonly store: Store;
  readonly agent: Agent;
  readonly pricing: ModelPricing;
  readonly worker: string;
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly children?: ChildRunner;
  readonly scheduling?: Scheduling;
  readonly random: () => number;
  readonly maxCrashedSessions: number;
  readonly text?: TextChannel;
  private readonly budgets?: BudgetBook;
  /** Set with `budgetRefusal` when it was a fleet budget that had no room (stop reason `budget_exhausted`). */
  budgetExhausted = false;
  /** Set with `budgetRefusal` when it was the conversation's ceiling (stop reason `conversation_ceiling`). */
  conversationCeiling = false;
  state: RunState;
  /** Set when the store refused a reservation (shared ceiling); the next spend stops the run. */
  budgetRefusal: string | null = null;

  /** The stop reason of the refusal in `budgetRefusal`: the run's ceiling, a fleet budget's or the conversation's. */
  get refusalReason(): 'cost_ceiling' | 'budget_exhausted' | 'conversation_ceiling' {
    return this.conversationCeiling ? 'conversation_ceiling' : this.budgetExhausted ? 'budget_exhausted' : 'cost_ceiling';
  }
  private committedSeq: number;
  private buffer: AnyRunEvent[] = [];
  private budgetOps: BudgetOp[] = [];
  private interventions: NewIntervention[] = [];
  /** Decided parts closed by `seal`, each written as a commit of its own by the next `flush`. */
  private sealed: Part[] = [];
  private readonly onEvents?: (events: readonly AnyRunEvent[], state: RunState) => void;

  constructor(options: RunContextOptions) {
    this.store = options.store;
    this.agent = options.agent;
    this.pricing = options.pricing;
    this.state = options.state;
    this.worker = options.worker;
    this.signal = options.signal;
    this.now = options.now;
    this.sleep = options.sleep;
    this.random = options.random ?? Math.random;
    this.maxCrashedSessions = options.maxCrashedSessions ?? DEFAULT_MAX_CRASHED_SESSIONS;
    this.onEvents = options.onEvents;
    this.children = options.children;
    this.scheduling = options.scheduling;
    this.text = options.text;
    this.budgets = options.budgets;
    this.committedSeq = options.state.seq;
  }

  /** The fleet budgets a reservation decided now is held against (as last read: see `beforeReservation`). */
  get fleetBudgets(): readonly ResolvedFleetBudget[] | undefined {
    return this.budgets?.current();
  }

  /**
   * Called before each reservation is decided: reads the stored budgets again if the last read is
   * too old, and seals what was decided so far. The store can refuse a reservation the run's own
   * view allowed (a fleet window, a sibling in the same tree spending the shared root budget
   * first, or the conversation's ceiling); sealed, what came before it (the previous call's settlement, a rejected plan, a
   * repair) lands even then (on SQLite in the same transaction), instead of being refused with it
   * and leaving that call's cost unrecorded and its reservation open. A lone run under no fleet
   * budget is the only writer of its ledger, so the store refuses exactly what its own check
   * refused before asking: it keeps the one commit (one statement on PostgreSQL).
   */
  async beforeReservation(): Promise<void> {
    const budgets = (await this.budgets?.fresh()) ?? [];
    // A conversation's ceiling is shared with the other turns: the store may refuse what this run allowed.
    const shared = this.state.parentRunId !== null || this.state.children.size > 0 || this.state.conversation !== null;
    if (shared || budgets.some((b) => covers(b, this.state))) this.seal();
  }

  get runId(): string {
    return this.state.runId;
  }

  /** Decides an event: applies it to the state now, writes it at the next flush. */
  emit<T extends EventType>(type: T, data: EventPayloads[T]): void {
    this.buffer.push(decideEvent(this.state, type, data, this.now()));
  }

  /** Adds a ledger operation to the next flush (same transaction as its events). */
  budget(op: BudgetOp): void {
    this.budgetOps.push(op);
  }

  intervene(intervention: NewIntervention): void {
    this.interventions.push(intervention);
  }

  get hasUnflushed(): boolean {
    return this.buffer.length > 0 || this.sealed.length > 0;
  }

  /**
   * Closes what was decided so far as a commit of its own, written by the next `flush` ahead of
   * what is decided after it. For what need not be durable before anything else happens (a tool's
   * outcome, when the next model call's reservation will be flushed before that call): on SQLite
   * both commits share one transaction, and a refused reservation still lets the outcome land.
   */
  seal(): void {
    if (this.buffer.length === 0 && this.budgetOps.length === 0) return;
    this.sealed.push({ events: this.buffer, budget: this.budgetOps, interventions: this.interventions, run: this.runPatch() });
    this.buffer = [];
    this.budgetOps = [];
    this.interventions = [];
  }

  /**
   * Writes everything decided since the last flush: each sealed part, then the rest, as one
   * transaction each. On `BUDGET_EXCEEDED` the parts before the refused one stay written, the state
   * is reloaded from the store (the refused part and what followed never happened) and
   * `budgetRefusal` is set.
   */
  async flush(): Promise<void> {
    if (this.buffer.length > 0 || this.budgetOps.length > 0) {
      this.sealed.push({ events: this.buffer, budget: this.budgetOps, interventions: this.interventions, run: null });
      this.buffer = [];
      this.budgetOps = [];
      this.interventions = [];
    }
    const parts = this.sealed;
    this.sealed = [];
    if (parts.length === 0) return;
    // SQLite writes commits asked for in one turn in one transaction, in the order asked: ask for
    // all the parts at once. Any other store gets them one at a time (a part waits for the last).
    const early = parts.length > 1 && this.store.kind === 'sqlite' ? this.commitAll(parts) : null;
    const settled: string[] = [];
    for (const [i, part] of parts.entries()) {
      try {
        const failure = early ? await early[i] : 'not tried';
        if (failure !== null) {
          if (failure !== 'not tried' && !isWardenError(failure, 'STALE_WRITER')) throw failure;
          await this.commitWithRebase(part, parts.slice(i + 1));
        }
      } catch (e) {
        const exhausted = isWardenError(e, 'BUDGET_EXHAUSTED');
        const conversation = isWardenError(e, 'CONVERSATION_CEILING');
        if (!exhausted && !conversation && !isWardenError(e, 'BUDGET_EXCEEDED')) throw e;
        this.budgetRefusal = e.message;
        this.budgetExhausted = exhausted;
        this.conversationCeiling = conversation;
        await this.reload();
        if (settled.length > 0) await this.announceAlerts(settled);
        return;
      }
      this.committedSeq += part.events.length;
      this.onEvents?.(part.events, this.state);
      for (const op of part.budget) if (op.kind === 'settle') settled.push(...(op.fleet ?? []));
    }
    if (settled.length > 0) await this.announceAlerts(settled);
  }

  /**
   * After spend landed in fleet windows: each `alertAt` threshold it reached is announced once per
   * window (`budget.alert`, queued for webhooks in its commit) by whichever run claims it in the store.
   */
  private async announceAlerts(keys: readonly string[]): Promise<void> {
    const budgets = this.fleetBudgets ?? [];
    if (!budgets.some((b) => b.alertAt.length > 0)) return;
    for (const row of await this.store.getFleetBudgets([...new Set(keys)])) {
      const budget = budgets.find((b) => row.key.startsWith(`${b.scope}|${b.window}|`));
      for (const threshold of budget?.alertAt ?? []) {
        if (!budget || row.spentNano < threshold * row.limitNano || !(await this.store.claimFleetAlert(row.key, threshold))) continue;
        this.emit('budget.alert', {
          budget: row.key,
          scope: budget.scope,
          window: budget.window,
          threshold,
          spentNano: row.spentNano,
          limitNano: row.limitNano,
        });
      }
    }
    await this.flush();
  }

  /**
   * Writes the sealed parts and drops the rest of what was decided: after an exception, what was
   * sealed (a tool's outcome) is as good as written, the rest never happened (`reload` follows).
   */
  async flushSealed(): Promise<void> {
    this.buffer = [];
    this.budgetOps = [];
    this.interventions = [];
    await this.flush();
  }

  /** Asks for every part's commit now, each after the one before; each settles to its error or null. */
  private commitAll(parts: Part[]): Promise<unknown>[] {
    let seq = this.committedSeq;
    return parts.map((part) => {
      const expectedSeq = seq;
      seq += part.events.length;
      return this.store.commit(this.batchOf(part, expectedSeq)).then(
        () => null,
        (e: unknown) => e ?? new Error('commit failed'),
      );
    });
  }

  private batchOf(part: Part, expectedSeq: number): CommitBatch {
    return {
      runId: this.state.runId,
      expectedSeq,
      events: part.events,
      run: part.run ?? this.runPatch(),
      budget: part.budget.length ? part.budget : undefined,
      interventions: part.interventions.length ? part.interventions : undefined,
    };
  }

  private async commitWithRebase(part: Part, later: Part[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.commit(this.batchOf(part, this.committedSeq));
        return;
      } catch (e) {
        if (!isWardenError(e, 'STALE_WRITER') || attempt >= 3) throw e;
        // Someone appended from outside (a cancel). Put those events first, ours after them.
        const external = await this.store.loadEvents(this.state.runId, this.committedSeq);
        if (!external.every((x) => REBASEABLE.has(x.type))) {
          throw new WardenError(
            'STALE_WRITER',
            `Run ${this.state.runId} was changed by another writer (${external.map((x) => x.type).join(', ')}); this worker stops`,
            {
              cause: e,
              context: { runId: this.state.runId },
            },
          );
        }
        const base = this.committedSeq + external.length;
        let seq = base;
        for (const events of [part.events, ...later.map((p) => p.events)]) {
          for (let i = 0; i < events.length; i++) events[i] = { ...events[i], seq: ++seq } as AnyRunEvent;
        }
        const replayed = foldRun([...(await this.store.loadEvents(this.state.runId)), ...part.events, ...later.flatMap((p) => p.events)]);
        this.state = replayed;
        this.committedSeq = base;
        this.onEvents?.(external, this.state);
      }
    }
  }

  /** Picks up events written from outside since the last commit (a cancel), if any. */
  async pullExternal(): Promise<void> {
    if (this.hasUnflushed) await this.flush();
    const external = await this.store.loadEvents(this.state.runId, this.committedSeq);
    if (external.length === 0) return;
    for (const event of external) applyEvent(this.state, event);
    this.committedSeq = this.state.seq;
    this.onEvents?.(external, this.state);
  }

  /**
   * Re-reads the whole log (after a refused commit, or an exception, the in-memory state is ahead
   * of the store) and drops whatever was decided but not written: it never happened.
   */
  async reload(): Promise<void> {
    this.state = foldRun(await this.store.loadEvents(this.state.runId));
    this.committedSeq = this.state.seq;
    this.buffer = [];
    this.budgetOps = [];
    this.interventions = [];
    this.sealed = [];
  }

  private runPatch(): RunPatch {
    const s = this.state;
    return {
      status: s.status,
      stopReason: s.stopReason,
      output: s.output,
      error: s.error ? `${s.error.code}: ${s.error.message}` : null,
      costNano: s.spentNano,
      ...rowFigures(s),
    };
  }
}
