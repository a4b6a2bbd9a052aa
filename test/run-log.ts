import { EVENT_SCHEMA_VERSION, type AnyRunEvent, type EventPayloads, type EventType } from '../src/core/events.ts';
import { foldRun } from '../src/core/fold.ts';
import type { RunState } from '../src/core/run-state.ts';
import { DEFAULT_LIMITS, type Limits } from '../src/core/limits.ts';
import type { ModelTurn, ProposedCall } from '../src/core/ports/model.ts';

/**
 * Writes a run's event log by hand, for unit tests of the fold and the guards that need no store.
 * Each `add` appends the next event (seq 1, 2, 3, …) `gapMs` after the previous one.
 *
 * @example
 * const state = runLog().started().turn(1, [{ callId: 'c1', tool: 'lookup', args: {} }]).ran('c1', { ok: true }).fold();
 */
export class RunLog {
  readonly events: AnyRunEvent[] = [];
  readonly runId: string;
  private at: number;

  constructor(runId = 'run_test', limits: Partial<Limits> = {}, start = 1_000_000) {
    this.runId = runId;
    this.at = start;
    this.add('run.submitted', {
      agent: 'test-agent',
      input: 'help me',
      tenant: 'default',
      limits: { ...DEFAULT_LIMITS, ...limits },
      rootRunId: runId,
      parentRunId: null,
      model: { provider: 'simulated', modelId: 'sim-1', inputPerMTok: 1, outputPerMTok: 2 },
    });
  }

  add<T extends EventType>(type: T, data: EventPayloads[T], gapMs = 10): this {
    if (this.events.length > 0) this.at += gapMs;
    this.events.push({ runId: this.runId, seq: this.events.length + 1, type, at: this.at, v: EVENT_SCHEMA_VERSION, data } as AnyRunEvent);
    return this;
  }

  started(session = 1): this {
    return this.add('run.started', { worker: 'w1', session, resumedFrom: this.events.length });
  }

  /** A model call that returned: step `step` proposing `calls` (none: a final answer's turn). */
  turn(step: number, calls: ProposedCall[] = [], text = ''): this {
    const turn: ModelTurn = { text, toolCalls: calls, usage: { inputTokens: 10, outputTokens: 5 }, finishReason: calls.length ? 'tool-calls' : 'stop' };
    return this.add('model.called', { step, attempt: 1, maxOutputTokens: 100, turn, costNano: 0, latencyMs: 1 });
  }

  allow(callId: string, tool = this.toolOf(callId)): this {
    return this.add('policy.decided', { callId, tool, tier: 'read', argsHash: 'h', decision: 'allow', rule: 'tier:read', reason: 'read' });
  }

  /** The call is allowed, starts and succeeds with `result`. */
  ran(callId: string, result: unknown, attempt = 1): this {
    const tool = this.toolOf(callId);
    if (attempt === 1) this.allow(callId, tool);
    this.add('tool.started', { callId, tool, attempt, idempotencyKey: `${this.runId}:${callId}` });
    return this.add('tool.succeeded', { callId, tool, attempt, result, durationMs: 1 });
  }

  reserve(reservationId: string, amountNano: number): this {
    return this.add('budget.reserved', { reservationId, purpose: 'model', amountNano, before: { spentNano: 0, reservedNano: 0, ceilingNano: 0 } });
  }

  commit(reservationId: string, actualNano: number, releasedNano = 0): this {
    return this.add('budget.committed', { reservationId, actualNano, releasedNano, after: { spentNano: 0, reservedNano: 0, ceilingNano: 0 } });
  }

  fold(): RunState {
    return foldRun(this.events);
  }

  private toolOf(callId: string): string {
    for (const e of this.events) {
      if (e.type !== 'model.called') continue;
      const found = e.data.turn.toolCalls.find((c) => c.callId === callId);
      if (found) return found.tool;
    }
    throw new Error(`RunLog: no model.called proposed ${callId}`);
  }
}

export function runLog(limits: Partial<Limits> = {}, runId = 'run_test'): RunLog {
  return new RunLog(runId, limits);
}
