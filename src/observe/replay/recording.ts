import type { ModelTurn, ModelFailure } from '../../core/ports/model.ts';
import type { AnyRunEvent, ErrorInfo, EventPayloads, RunEvent } from '../../core/events.ts';
import { WardenError } from '../../core/errors.ts';
import { hashValue } from '../../core/canonical.ts';

/** What one model call attempt returned in the recorded run. */
export type RecordedModelOutcome = { ok: true; turn: ModelTurn; at: number } | { ok: false; failure: ModelFailure; at: number };

/** What one tool attempt returned in the recorded run. */
export type RecordedToolOutcome = { ok: true; result: unknown; at: number } | { ok: false; error: ErrorInfo; at: number };

/** Events a person (or an operator) wrote while the run waited or ran: replay feeds them back. */
export type ExternalDecision = RunEvent<'approval.decided'> | RunEvent<'approval.expired'> | RunEvent<'escalation.decided'> | RunEvent<'run.cancelled'>;

/**
 * A recorded run, indexed for replay: the model's answers by step and attempt, the tools' results
 * by call and attempt, and the decisions people made, by the approval or escalation they answer.
 */
export class Recording {
  readonly events: readonly AnyRunEvent[];
  readonly submitted: EventPayloads['run.submitted'];
  readonly runId: string;
  /** When the run was submitted: the replay's virtual clock starts there. */
  readonly submittedAt: number;
  private readonly model = new Map<string, RecordedModelOutcome>();
  private readonly tools = new Map<string, RecordedToolOutcome>();
  private readonly compensations = new Map<string, RecordedToolOutcome>();
  private readonly standIns = new Map<string, unknown>();
  private readonly decisions = new Map<string, ExternalDecision>();
  /** Tools that timed out at least once (replay reproduces a timeout by waiting it out, briefly). */
  readonly timedOutTools = new Set<string>();
  readonly lastStep: number;

  constructor(events: readonly AnyRunEvent[]) {
    const first = events[0];
    if (first?.type !== 'run.submitted') throw new WardenError('INVALID_ARGUMENT', 'A recorded run must start with run.submitted');
    this.events = events;
    this.submitted = first.data;
    this.runId = first.runId;
    this.submittedAt = first.at;
    let lastStep = 0;
    let parked: string | null = null;
    for (const e of events) {
      switch (e.type) {
        case 'model.called':
          this.model.set(`${e.data.step}#${e.data.attempt}`, { ok: true, turn: e.data.turn, at: e.at });
          lastStep = Math.max(lastStep, e.data.step);
          break;
        case 'model.failed':
          this.model.set(`${e.data.step}#${e.data.attempt}`, { ok: false, failure: e.data.failure, at: e.at });
          break;
        case 'tool.succeeded':
          this.tools.set(`${e.data.callId}#${e.data.attempt}`, { ok: true, result: e.data.result, at: e.at });
          break;
        case 'tool.failed':
          this.tools.set(`${e.data.callId}#${e.data.attempt}`, { ok: false, error: e.data.error, at: e.at });
          if (e.data.error.code === 'TOOL_TIMEOUT') this.timedOutTools.add(e.data.tool);
          break;
        case 'compensation.succeeded':
          this.compensations.set(`${e.data.callId}#${e.data.attempt}`, { ok: true, result: e.data.result, at: e.at });
          break;
        case 'compensation.failed':
          this.compensations.set(`${e.data.callId}#${e.data.attempt}`, { ok: false, error: e.data.error, at: e.at });
          break;
        case 'tool.shadowed':
          this.standIns.set(`${e.data.tool}#${hashValue(e.data.args)}`, e.data.standIn);
          break;
        case 'approval.requested':
          parked = e.data.approvalId;
          break;
        case 'escalated':
          parked = e.data.escalationId;
          break;
        case 'approval.decided':
        case 'approval.expired':
          this.decisions.set(e.data.approvalId, e);
          parked = null;
          break;
        case 'escalation.decided':
          this.decisions.set(e.data.escalationId, e);
          parked = null;
          break;
        case 'run.cancelled':
          if (parked) this.decisions.set(parked, e);
          break;
      }
    }
    this.lastStep = lastStep;
  }

  /** The answer to this attempt at this step; a retry the recording never made gets the step's answer. */
  modelOutcome(step: number, attempt: number): RecordedModelOutcome | undefined {
    const exact = this.model.get(`${step}#${attempt}`);
    if (exact) return exact;
    for (let a = attempt + 1; a <= attempt + 16; a++) {
      const later = this.model.get(`${step}#${a}`);
      if (later?.ok) return later;
    }
    for (let a = attempt - 1; a >= 1; a--) {
      const earlier = this.model.get(`${step}#${a}`);
      if (earlier?.ok) return earlier;
    }
    return undefined;
  }

  toolOutcome(callId: string, attempt: number): RecordedToolOutcome | undefined {
    return this.tools.get(`${callId}#${attempt}`);
  }

  /** What this attempt at reversing a call returned in the recorded run's undo. */
  compensationOutcome(callId: string, attempt: number): RecordedToolOutcome | undefined {
    return this.compensations.get(`${callId}#${attempt}`);
  }

  /** The stand-in result a shadow run gave the model for this call (the default note when none was recorded). */
  standIn(tool: string, argsHash: string): unknown {
    return this.standIns.get(`${tool}#${argsHash}`) ?? { shadow: true, note: 'Shadow mode: recorded, not performed (replayed).' };
  }

  /** What a person decided about this approval or escalation in the recorded run. */
  decision(interventionId: string): ExternalDecision | undefined {
    return this.decisions.get(interventionId);
  }
}
