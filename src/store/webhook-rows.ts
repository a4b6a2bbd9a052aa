import { WardenError } from '../core/errors.ts';
import type { AnyNewEvent } from '../core/events.ts';
import {
  RUN_WEBHOOK_EVENTS,
  WEBHOOK_EVENT_TYPES,
  type NewWebhookEndpoint,
  type WebhookEndpoint,
  type WebhookEventType,
  type WebhookMessage,
} from '../core/ports/store.ts';
import { decodeJson } from './rows.ts';

/** A `webhook_endpoints` row as the database returns it (`enabled` is 0/1 on SQLite). */
export interface WebhookEndpointRow {
  id: string;
  url: string;
  secret: string;
  events: string;
  format: string;
  enabled: number | boolean;
  created_at: number;
}

/** A `webhook_outbox` row. */
export interface WebhookOutboxRow {
  id: string;
  endpoint_id: string;
  type: string;
  payload: string;
  attempts: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
  last_error: string | null;
  last_status: number | null;
  created_at: number;
}

/** SQL for a message that failed: not delivered, and its last attempt left an error (it is retrying or was given up). */
export const FAILED_MESSAGE = 'delivered_at IS NULL AND last_error IS NOT NULL';

/** A message queued for every endpoint listening to `type`; the dialect writes one row per endpoint. */
export interface OutboxInsert {
  /** The message id is `${key}.${endpointId}`. */
  key: string;
  type: WebhookEventType;
  payload: string;
  now: number;
}

export function toWebhookEndpoint(r: WebhookEndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    url: r.url,
    secret: r.secret,
    events: r.events.split(',') as WebhookEventType[],
    format: r.format === 'slack' ? 'slack' : 'standard',
    enabled: r.enabled === true || Number(r.enabled) === 1,
    createdAt: Number(r.created_at),
  };
}

const orNull = (v: number | null) => (v === null ? null : Number(v));

export function toWebhookMessage(r: WebhookOutboxRow): WebhookMessage {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    type: r.type as WebhookEventType,
    payload: decodeJson(r.payload, `The payload of webhook message ${r.id}`) as Record<string, unknown>,
    attempts: Number(r.attempts),
    nextAttemptAt: orNull(r.next_attempt_at),
    deliveredAt: orNull(r.delivered_at),
    lastError: r.last_error,
    lastStatus: orNull(r.last_status),
    createdAt: Number(r.created_at),
  };
}

/** Checks a new endpoint: an http(s) URL, known event types, a Standard Webhooks secret. */
export function checkEndpoint(e: NewWebhookEndpoint): void {
  const bad = (what: string) => new WardenError('INVALID_ARGUMENT', `Webhook endpoint ${JSON.stringify(e?.id)}: ${what}`);
  if (typeof e?.id !== 'string' || !/^[\w.-]{1,64}$/.test(e.id)) throw bad('the id must be 1 to 64 letters, digits, "_", "." or "-"');
  let url: URL;
  try {
    url = new URL(e.url);
  } catch {
    throw bad(`the url must be an absolute http(s) URL, got ${JSON.stringify(e.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`the url must be http(s), got ${JSON.stringify(e.url)}`);
  if (!Array.isArray(e.events) || e.events.length === 0) throw bad('it must listen to at least one event type');
  for (const t of e.events) {
    if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(t)) throw bad(`unknown event type ${JSON.stringify(t)}; known: ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  }
  if (typeof e.secret !== 'string' || !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(e.secret)) throw bad('the secret must be "whsec_" followed by base64');
  if (e.format !== 'standard' && e.format !== 'slack') throw bad(`the format must be "standard" or "slack", got ${JSON.stringify(e.format)}`);
}

/** Does this batch hold an event a webhook may want (so it must take the transactional path)? */
export function hasWebhookEvents(events: readonly AnyNewEvent[]): boolean {
  for (const e of events) if (RUN_WEBHOOK_EVENTS.has(e.type)) return true;
  return false;
}
