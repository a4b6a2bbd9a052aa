import type { BudgetOp, NewIntervention } from '../../core/ports/store.ts';
import { type AnyRunEvent, type EventPayloads, type EventType, newEvent } from '../../core/events.ts';
import { applyEvent } from '../../core/fold.ts';
import type { RunState } from '../../core/run-state.ts';
import type { ResolvedFleetBudget } from '../../guard/fleet-budgets.ts';

/**
 * Where a step puts what it decides: events (applied to the state at once, written at the next
 * commit), ledger operations and interventions, all in the same transaction. The deciding half of
 * a step takes this narrow port, never the store, the clock's owner or the network — so it can be
 * tried on a folded state alone (`recordDecisions`), and the loop reads: fold, decide, commit, act.
 *
 * `RunContext` is the implementation a session uses.
 */
export interface Decisions {
  /** The run as folded so far, decided events included. */
  readonly state: RunState;
  now(): number;
  emit<T extends EventType>(type: T, data: EventPayloads[T]): void;
  budget(op: BudgetOp): void;
  intervene(intervention: NewIntervention): void;
  /** Fleet budgets each reservation is also held against; none when absent. */
  readonly fleetBudgets?: readonly ResolvedFleetBudget[];
}

/**
 * Decides one event: builds it as the run's next (`seq`), folds it into `state` at once, and
 * returns it for the caller to buffer. Every implementation of `Decisions` emits through this.
 */
export function decideEvent<T extends EventType>(state: RunState, type: T, data: EventPayloads[T], at: number): AnyRunEvent {
  const event = { runId: state.runId, seq: state.seq + 1, ...newEvent(type, data, at) } as AnyRunEvent;
  applyEvent(state, event);
  return event;
}

/** What `recordDecisions` collected. */
export interface RecordedDecisions extends Decisions {
  readonly events: AnyRunEvent[];
  readonly budgetOps: BudgetOp[];
  readonly interventions: NewIntervention[];
}

/**
 * Decisions kept in memory and folded into `state` (which it mutates, as a session does): the
 * reference implementation of the port, for tests and for tools that reason about what a step
 * would do (nothing is written anywhere).
 *
 * @example
 * const d = recordDecisions(foldRun(events), () => 1_700_000_000_000);
 * stopRun(d, { limit: 'max_steps', detail: '20 steps' });
 * d.events.map((e) => e.type); // ['limit.hit', 'run.stopped']
 */
export function recordDecisions(state: RunState, now: () => number = Date.now): RecordedDecisions {
  const events: AnyRunEvent[] = [];
  const budgetOps: BudgetOp[] = [];
  const interventions: NewIntervention[] = [];
  return {
    state,
    now,
    events,
    budgetOps,
    interventions,
    emit(type, data) {
      events.push(decideEvent(state, type, data, now()));
    },
    budget: (op) => void budgetOps.push(op),
    intervene: (intervention) => void interventions.push(intervention),
  };
}
