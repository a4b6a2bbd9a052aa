/**
 * The records part of the `Store` port: what the store keeps beside the run logs. Questions for
 * a person (approvals and escalations), small keyed records (API keys, kill switches,
 * idempotency keys) and, optionally, agents' own logs. Times are ms since the epoch.
 */
export interface Records {
  /** Interventions matching `filter`, oldest first. */
  listInterventions(filter?: InterventionFilter): Promise<InterventionRecord[]>;
  getIntervention(id: string): Promise<InterventionRecord | undefined>;

  /** A small record the server keeps (an API key, a kill switch, an idempotency key), or undefined. */
  getRecord(ns: string, key: string): Promise<unknown>;
  /**
   * Stores a record. With `ifAbsent`, an existing record is kept and returned instead (atomic:
   * two concurrent puts of one key store one value, and both callers see it).
   */
  putRecord(ns: string, key: string, value: unknown, options?: { ifAbsent?: boolean }): Promise<{ stored: boolean; value: unknown }>;
  /** A namespace's records, by key. */
  listRecords(ns: string): Promise<{ key: string; value: unknown }[]>;
  /** Removes a record; says whether there was one. */
  deleteRecord(ns: string, key: string): Promise<boolean>;

  /**
   * Optional: appends a record to an agent's own log — facts about an agent rather than one run,
   * such as a `drift.detected` alert. A store without it keeps no such records (the alert is still
   * printed and counted in metrics).
   */
  appendAgentEvent?(event: NewAgentEvent): Promise<AgentEventRecord>;
  /** Optional: an agent log's records, newest first; default 100. */
  listAgentEvents?(filter?: AgentEventFilter): Promise<AgentEventRecord[]>;
}

/** A record on an agent's own log (not a run's). */
export interface NewAgentEvent {
  agent: string;
  /** e.g. `drift.detected`. */
  type: string;
  /** ms since the epoch. */
  at: number;
  /** Schema version of `data`. */
  v: number;
  data: Record<string, unknown>;
}

export interface AgentEventRecord extends NewAgentEvent {
  /** Position in the store's agent logs, increasing. */
  id: number;
}

export interface AgentEventFilter {
  agent?: string;
  type?: string;
  /** Only records at or after this time (ms since the epoch). */
  since?: number;
  limit?: number;
}

/** A question a commit raises (see `CommitBatch.interventions`); it starts `pending`. */
export interface NewIntervention {
  id: string;
  kind: InterventionKind;
  callId: string | null;
  tool: string | null;
  args: unknown;
  argsHash: string | null;
  reason: string;
  evidence: Record<string, unknown>;
  /** ms since the epoch. */
  requestedAt: number;
  /**
   * ms since the epoch: an approval not decided before then expires (status `expired`) and can no
   * longer be approved. Absent or null: it waits for a person.
   */
  expiresAt?: number | null;
}

export type InterventionKind = 'approval' | 'escalation';
/** `expired`: an approval nobody decided before its `expiresAt`. */
export type InterventionStatus = 'pending' | 'approved' | 'denied' | 'decided' | 'expired';

/** A question waiting for (or answered by) a person: an approval or an escalation. */
export interface InterventionRecord extends NewIntervention {
  expiresAt: number | null;
  runId: string;
  agent: string;
  tenant: string;
  status: InterventionStatus;
  /** ms since the epoch; null while pending. */
  decidedAt: number | null;
  decidedBy: string | null;
  decisionReason: string | null;
}

export interface InterventionFilter {
  kind?: InterventionKind;
  status?: InterventionStatus;
  runId?: string;
  tenant?: string;
  /** Only those with an `expiresAt` at or before this time (ms since the epoch). */
  expiresBy?: number;
  /** Oldest first; default 100. */
  limit?: number;
}
