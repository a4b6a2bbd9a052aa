/**
 * The webhooks part of the `Store` port: endpoints that want to hear about a run (or the runtime)
 * and a durable outbox of messages to them. A run event that a person should hear about is queued
 * by the same transaction that commits it, so it is never sent without being committed and never
 * committed without being queued. A deliverer claims due messages, sends them and records the
 * outcome: delivery is at least once (a receiver dedupes by the message id, the `webhook-id`
 * header), and two deliverers never hold the same message at once. Times are ms since the epoch.
 */
export interface Webhooks {
  /** Adds an endpoint; `CONFLICT` when its id exists. */
  addWebhookEndpoint(endpoint: NewWebhookEndpoint): Promise<WebhookEndpoint>;
  /** Every endpoint, oldest first. */
  listWebhookEndpoints(): Promise<WebhookEndpoint[]>;
  /** Removes an endpoint and its queued messages; says whether there was one. */
  removeWebhookEndpoint(id: string): Promise<boolean>;
  /**
   * Queues `payload` for every enabled endpoint that listens to `type`, as message
   * `${key}.${endpointId}` (queuing one key twice queues once). For facts outside a run's log,
   * such as a kill switch; run events are queued by `commit` itself. The number of messages queued.
   */
  enqueueWebhook(type: WebhookEventType, key: string, payload: Record<string, unknown>): Promise<number>;
  /**
   * Leases up to `limit` due messages (oldest due first) for `leaseMs`, counting an attempt on
   * each: no other claimer gets them until the lease lapses (a deliverer that died mid-send).
   */
  claimWebhookMessages(limit: number, leaseMs: number): Promise<WebhookMessage[]>;
  /** Records how an attempt went: delivered, retried at `retryAt`, or given up (`retryAt` null). */
  recordWebhookAttempt(id: string, outcome: WebhookAttempt): Promise<void>;
  /** Messages, newest first; default 100. */
  listWebhookMessages(filter?: WebhookMessageFilter): Promise<WebhookMessage[]>;
  /**
   * Settled messages (delivered, or given up) created before `before` (ms since the epoch), for
   * retention: how many there are, or (`remove`) deletes up to `limit` of them, oldest first, and
   * says how many went. A message still due or leased is never touched, whatever its age.
   */
  settledWebhookMessages(before: number, options: { remove: false } | { remove: true; limit: number }): Promise<number>;
}

/** What an endpoint may listen to. The first three are run events, queued with their commit. */
export const WEBHOOK_EVENT_TYPES = ['approval.requested', 'escalated', 'run.stopped', 'kill_switch.changed', 'drift.detected', 'budget.alert'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Run events that are queued for webhooks in the transaction that commits them. */
export const RUN_WEBHOOK_EVENTS: ReadonlySet<string> = new Set<WebhookEventType>(['approval.requested', 'escalated', 'run.stopped', 'budget.alert']);

/** `standard`: Standard Webhooks JSON (`{ type, timestamp, data }`); `slack`: a Slack-compatible `{ text, blocks }`. */
export type WebhookFormat = 'standard' | 'slack';

export interface NewWebhookEndpoint {
  id: string;
  url: string;
  /** Standard Webhooks signing secret, `whsec_` + base64. */
  secret: string;
  /** What it listens to (never empty). */
  events: WebhookEventType[];
  format: WebhookFormat;
  /** ms since the epoch. */
  createdAt: number;
}

export interface WebhookEndpoint extends NewWebhookEndpoint {
  enabled: boolean;
}

/** A queued message to one endpoint. */
export interface WebhookMessage {
  /** The `webhook-id`: the same on every attempt, so a receiver can dedupe. */
  id: string;
  endpointId: string;
  type: WebhookEventType;
  /** `{ type, timestamp, data }` as Standard Webhooks suggests. */
  payload: Record<string, unknown>;
  /** Attempts begun (a claim counts one). */
  attempts: number;
  /** When it is next due, ms; null once delivered or given up. */
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  lastError: string | null;
  /** HTTP status of the last attempt; null when it got no response. */
  lastStatus: number | null;
  createdAt: number;
}

export type WebhookAttempt = { delivered: true; status: number } | { delivered: false; status: number | null; error: string; retryAt: number | null };

export interface WebhookMessageFilter {
  endpointId?: string;
  /** Only messages still due (true) or settled, delivered or given up (false). */
  pending?: boolean;
  /** Only messages not delivered whose last attempt failed (retrying or given up): true; or the others: false. */
  failed?: boolean;
  limit?: number;
}
