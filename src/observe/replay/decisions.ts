import { hashValue } from '../../core/canonical.ts';
import { type AnyRunEvent, modelKey } from '../../core/events.ts';
import { explainEvent } from '../explain.ts';

/** One decision of a run, reduced to what must be the same for two runs to be "the same". */
export interface Decision {
  step: number;
  seq: number;
  type: AnyRunEvent['type'];
  /** Equal keys mean the same decision; times, durations, workers and messages are left out. */
  key: string;
  /** The decision in words, for reports. */
  text: string;
}

/**
 * The decisions in a log, in order: what the model proposed, what policy and people decided,
 * what ran and what came back, which limit stopped the run and how it ended. Bookkeeping that
 * depends on where and when the run happened (sessions, workers, reservations) is left out.
 */
export function decisionsOf(events: readonly AnyRunEvent[]): Decision[] {
  const out: Decision[] = [];
  let step = 0;
  for (const e of events) {
    const key = keyOf(e);
    if (key === null) continue;
    if (e.type === 'model.called' || e.type === 'model.failed') step = e.data.step;
    out.push({ step, seq: e.seq, type: e.type, key, text: explainEvent(e) ?? e.type });
  }
  return out;
}

function keyOf(e: AnyRunEvent): string | null {
  const d = e.data as Record<string, unknown>;
  switch (e.type) {
    case 'model.called': {
      const t = e.data.turn;
      return `model ${e.data.step}.${e.data.attempt} ${hashValue({ text: t.text, calls: t.toolCalls, usage: t.usage })}`;
    }
    case 'model.failed':
      return `model-failed ${e.data.step}.${e.data.attempt} ${e.data.failure.kind} retry=${e.data.willRetry}`;
    case 'model.fallback':
      return `fallback ${e.data.step}.${e.data.attempt} ${e.data.reason} ${modelKey(e.data.from)} -> ${modelKey(e.data.to)}`;
    case 'tool.rejected':
      return `rejected ${e.data.callId} ${e.data.tool} ${e.data.error.code}`;
    case 'policy.decided':
      return `policy ${e.data.callId} ${e.data.tool} ${e.data.tier} ${e.data.decision} ${e.data.rule} ${e.data.argsHash}`;
    case 'approval.requested':
      return `approval-requested ${e.data.approvalId} ${e.data.argsHash}`;
    case 'approval.decided':
      return `approval ${e.data.approvalId} ${e.data.decision} ${e.data.by}`;
    case 'approval.expired':
      return `approval ${e.data.approvalId} expired ${e.data.outcome}`;
    case 'tool.denied':
      return `denied ${e.data.callId} ${e.data.by}`;
    case 'tool.started':
      return `started ${e.data.callId}.${e.data.attempt}`;
    case 'tool.succeeded':
      return `succeeded ${e.data.callId}.${e.data.attempt} ${hashValue(e.data.result)}`;
    case 'tool.failed':
      return `failed ${e.data.callId}.${e.data.attempt} ${e.data.error.code} retry=${e.data.willRetry}`;
    case 'escalated':
      return `escalated ${e.data.escalationId} ${e.data.reason}`;
    case 'escalation.decided':
      return `escalation ${e.data.escalationId} ${e.data.decision} ${e.data.by}`;
    case 'limit.hit':
      return `limit ${e.data.limit}`;
    case 'run.completed':
      return `completed ${hashValue(e.data.output)}`;
    case 'run.failed':
      return `failed ${e.data.error.code}`;
    case 'run.stopped':
      return `stopped ${e.data.reason}`;
    case 'run.cancelled':
      return `cancelled ${String(d.by)}`;
    default:
      return null;
  }
}

/** Where two decision lists first differ; null when they are the same. */
export interface Divergence {
  index: number;
  step: number;
  recorded: Decision | null;
  replayed: Decision | null;
}

export function firstDivergence(recorded: readonly Decision[], replayed: readonly Decision[]): Divergence | null {
  const n = Math.max(recorded.length, replayed.length);
  for (let i = 0; i < n; i++) {
    const a = recorded[i] ?? null;
    const b = replayed[i] ?? null;
    if (a?.key !== b?.key) return { index: i, step: (a ?? b)!.step, recorded: a, replayed: b };
  }
  return null;
}
