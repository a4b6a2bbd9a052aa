import type { AnyNewEvent, AnyRunEvent, RunMode, RunStatus, StopReason } from '../events.ts';
import type { BudgetOp } from './ledger.ts';
import type { NewTurn } from './conversations.ts';
import type { UndoPhase } from '../projection.ts';
import type { InterventionStatus, NewIntervention } from './records.ts';

/**
 * The run-log part of the `Store` port: each run's append-only event log and the run row that
 * projects it.
 *
 * - `commit` is one transaction: all of it is written or none of it is.
 * - Events of a run get consecutive `seq` numbers starting at 1; a writer that is behind
 *   (`expectedSeq` ≠ the run's last seq) gets `STALE_WRITER` and nothing is written.
 * - Times are ms since the epoch; money is integer nano-USD.
 */
export interface RunLog {
  /** Creates the run's row, its budget (for a root run) and writes `run.submitted` as seq 1. */
  createRun(run: NewRun): Promise<void>;

  /** Appends one step atomically, with its budget changes and interventions. See the rules above. */
  commit(batch: CommitBatch): Promise<void>;

  /**
   * Appends events written from outside the run's worker (a person's decision, a cancel), at the
   * next seq, whatever it is. With `intervention`, the intervention must still be pending: it is
   * decided in the same transaction, or `CONFLICT` is thrown and nothing is written.
   */
  appendExternal(runId: string, events: AnyNewEvent[], options?: ExternalAppendOptions): Promise<number>;

  /** The run's events with `seq > afterSeq`, in order. */
  loadEvents(runId: string, afterSeq?: number): Promise<AnyRunEvent[]>;

  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
}

export interface NewRun {
  runId: string;
  agent: string;
  tenant: string;
  input: string;
  parentRunId: string | null;
  rootRunId: string;
  /** The ceiling of the root's budget, nano-USD; ignored for child runs, which share their root's. */
  ceilingNano: number;
  status: RunStatus;
  /** ms since the epoch. */
  createdAt: number;
  /** The `run.submitted` event. */
  submitted: AnyNewEvent;
  /** Makes the (root) run the next turn of a conversation, in the same transaction. */
  conversation?: NewTurn;
}

/** Columns of the run's row that a commit may change (the row is a projection of the log). */
export interface RunPatch {
  status?: RunStatus;
  stopReason?: StopReason | null;
  output?: string | null;
  error?: string | null;
  /** This run's own spend so far, nano-USD. */
  costNano?: number;
  /** Model steps taken so far. */
  steps?: number;
  /** Tool calls that started so far (first attempts: the projection's `toolCalls.ran`). */
  toolCalls?: number;
  /** Where an undo of the run stands (the projection's `undo.phase`). */
  undo?: UndoPhase;
}

export interface CommitBatch {
  runId: string;
  /** The run's last seq as the writer knows it; the events get `expectedSeq + 1` onwards. */
  expectedSeq: number;
  events: AnyNewEvent[];
  run?: RunPatch;
  /** Applied in order, in the same transaction. */
  budget?: BudgetOp[];
  interventions?: NewIntervention[];
}

export interface ExternalAppendOptions {
  run?: RunPatch;
  /** Decides a pending intervention of the run; `decidedAt` is ms since the epoch. */
  intervention?: { id: string; status: InterventionStatus; decidedBy: string; decisionReason: string; decidedAt: number };
  /** New questions for a person the appended events raise (an expired approval's escalation), in the same transaction. */
  interventions?: NewIntervention[];
}

export interface RunRecord {
  runId: string;
  agent: string;
  tenant: string;
  /** `shadow` when the run records writes and deletes instead of making them; `rehearsal` for a rehearsal's run (from `run.submitted`). */
  mode: RunMode;
  status: RunStatus;
  stopReason: StopReason | null;
  parentRunId: string | null;
  rootRunId: string;
  input: string;
  output: string | null;
  error: string | null;
  /** This run's own spend, nano-USD (children are counted in their own rows and in the root's budget). */
  costNano: number;
  /** Model turns that returned (the projection's `steps`). */
  steps: number;
  /** Tool calls that started, first attempts only; the plan submission and shadowed calls never start (the projection's `toolCalls.ran`). */
  toolCalls: number;
  /** Where an undo of the run stands: `none`, `running`, `waiting_for_person`, `done` (undone). */
  undo: UndoPhase;
  /** The seq of the run's last event. */
  lastSeq: number;
  /** ms since the epoch. */
  createdAt: number;
  /** ms since the epoch, of the last write to the run. */
  updatedAt: number;
  leaseOwner: string | null;
  /** ms since the epoch; null when no worker holds the run. */
  leaseExpiresAt: number | null;
  /** The conversation the run is a turn of, and which turn (from 1); null for a run on its own. */
  conversationId: string | null;
  turn: number | null;
}

/** The run's mode as its `run.submitted` event records it. */
export function runMode(run: NewRun): RunMode {
  const mode = run.submitted.type === 'run.submitted' ? run.submitted.data.mode : undefined;
  return mode === 'shadow' || mode === 'rehearsal' ? mode : 'live';
}

/** Listings (`listRuns`, `listInterventions`) return at most this many rows unless the filter sets `limit`. */
export const DEFAULT_LIST_LIMIT = 100;

export interface RunFilter {
  agent?: string;
  tenant?: string;
  status?: RunStatus | RunStatus[];
  stopReason?: StopReason;
  rootRunId?: string;
  mode?: RunMode;
  /** Only the turns of this conversation. */
  conversationId?: string;
  /** Newest first; default 100. */
  limit?: number;
  /** Only runs created at or after this time (ms since the epoch). */
  since?: number;
  /**
   * Leave the texts out: `input` comes back `''`, `output` and `error` null. For aggregates over
   * many runs (the overview), which need the counts, costs and times but not what was said.
   */
  withoutText?: boolean;
}
