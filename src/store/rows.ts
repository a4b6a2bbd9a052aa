import { WardenError } from '../core/errors.ts';
import type { AnyNewEvent, AnyRunEvent, RunStatus, StopReason } from '../core/events.ts';
import type { BudgetRecord, ConversationRecord, InterventionKind, InterventionRecord, InterventionStatus, RunRecord } from '../core/ports/store.ts';

/**
 * Rows as the SQL stores return them (SQLite directly; PostgreSQL with int8 parsed as a number),
 * and their mapping to the port's records. Column meanings, units and writers are in
 * `docs/store.md`.
 */

export interface RunRow {
  run_id: string;
  mode: string;
  agent: string;
  tenant: string;
  status: string;
  stop_reason: string | null;
  parent_run_id: string | null;
  root_run_id: string;
  input: string;
  output: string | null;
  error: string | null;
  cost_nano: number;
  steps: number;
  tool_calls: number;
  undo: string;
  last_seq: number;
  created_at: number;
  updated_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  conversation_id: string | null;
  turn: number | null;
}

export interface ConversationRow {
  conversation_id: string;
  tenant: string;
  agent: string;
  status: string;
  turns: number;
  ceiling_nano: number | null;
  spent_nano: number;
  reserved_nano: number;
  created_at: number;
  updated_at: number;
}

/** What a write needs to know about the run before it writes. */
export interface RunHeadRow {
  last_seq: number;
  root_run_id: string;
  agent: string;
  tenant: string;
}

export interface EventRow {
  seq: number;
  type: string;
  at: number;
  v: number;
  data: string;
}

export interface FleetBudgetRow {
  key: string;
  limit_nano: number;
  spent_nano: number;
  reserved_nano: number;
}

export interface StoredBudgetRow {
  scope: string;
  budget_window: string;
  limit_nano: number | string;
  /** JSON array of fractions. */
  alert_at: string;
  updated_at: number | string;
}

export interface BudgetRow {
  root_run_id: string;
  ceiling_nano: number;
  spent_nano: number;
  reserved_nano: number;
}

export interface InterventionRow {
  id: string;
  run_id: string;
  agent: string;
  tenant: string;
  kind: string;
  status: string;
  call_id: string | null;
  tool: string | null;
  args: string | null;
  args_hash: string | null;
  reason: string;
  evidence: string;
  requested_at: number;
  expires_at: number | null;
  decided_at: number | null;
  decided_by: string | null;
  decision_reason: string | null;
}

/** JSON text for a payload column; a value JSON cannot hold is the caller's bug. */
export function encodeJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new WardenError('INVALID_ARGUMENT', `${what} cannot be stored as JSON: ${(e as Error).message}`, { cause: e });
  }
  if (text === undefined) throw new WardenError('INVALID_ARGUMENT', `${what} cannot be stored as JSON (it is ${typeof value})`);
  return text;
}

/** Events as four parallel arrays (type, at, v, data as JSON text), for one multi-row insert. */
export function eventColumns(events: readonly AnyNewEvent[]): [string[], number[], number[], string[]] {
  return [events.map((e) => e.type), events.map((e) => e.at), events.map((e) => e.v), events.map((e) => encodeJson(e.data, `The data of ${e.type} event`))];
}

/** Parses a payload column; text the store wrote that no longer parses means a damaged file. */
export function decodeJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new WardenError('STORE_CORRUPT', `${what} holds malformed JSON: ${(e as Error).message}`, { cause: e });
  }
}

export function toRunRecord(r: RunRow): RunRecord {
  return {
    runId: r.run_id,
    agent: r.agent,
    tenant: r.tenant,
    mode: r.mode === 'shadow' || r.mode === 'rehearsal' ? r.mode : 'live',
    status: r.status as RunStatus,
    stopReason: r.stop_reason as StopReason | null,
    parentRunId: r.parent_run_id,
    rootRunId: r.root_run_id,
    input: r.input,
    output: r.output,
    error: r.error,
    costNano: r.cost_nano,
    steps: r.steps,
    toolCalls: r.tool_calls,
    undo: r.undo === 'running' || r.undo === 'waiting_for_person' || r.undo === 'done' ? r.undo : 'none',
    lastSeq: r.last_seq,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    conversationId: r.conversation_id ?? null,
    turn: r.turn ?? null,
  };
}

export function toConversationRecord(r: ConversationRow): ConversationRecord {
  return {
    conversationId: r.conversation_id,
    tenant: r.tenant,
    agent: r.agent,
    status: r.status === 'cancelled' ? 'cancelled' : 'open',
    turns: Number(r.turns),
    ceilingNano: r.ceiling_nano === null ? null : Number(r.ceiling_nano),
    spentNano: Number(r.spent_nano),
    reservedNano: Number(r.reserved_nano),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function toRunEvent(runId: string, r: EventRow): AnyRunEvent {
  const data = decodeJson(r.data, `Event ${r.seq} of run ${runId}`);
  return { runId, seq: r.seq, type: r.type, at: r.at, v: r.v, data } as AnyRunEvent;
}

export function toBudgetRecord(r: BudgetRow): BudgetRecord {
  return { rootRunId: r.root_run_id, ceilingNano: r.ceiling_nano, spentNano: r.spent_nano, reservedNano: r.reserved_nano };
}

export function toInterventionRecord(r: InterventionRow): InterventionRecord {
  const what = `Intervention ${r.id}`;
  return {
    id: r.id,
    runId: r.run_id,
    agent: r.agent,
    tenant: r.tenant,
    kind: r.kind as InterventionKind,
    status: r.status as InterventionStatus,
    callId: r.call_id,
    tool: r.tool,
    // NULL stands for arguments that were undefined (an escalation about no call in particular).
    args: r.args === null ? undefined : decodeJson(r.args, `${what} args`),
    argsHash: r.args_hash,
    reason: r.reason,
    evidence: decodeJson(r.evidence, `${what} evidence`) as Record<string, unknown>,
    requestedAt: r.requested_at,
    expiresAt: r.expires_at,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    decisionReason: r.decision_reason,
  };
}
