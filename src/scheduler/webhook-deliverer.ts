import { Webhook } from 'standardwebhooks';
import type { Store, WebhookEndpoint, WebhookMessage } from '../core/ports/store.ts';
import { backoffMs } from '../runtime/backoff.ts';
import { webhookBody, type OutgoingWebhook } from './webhook-payload.ts';

export interface WebhookDelivererOptions {
  store: Store;
  /** Longest wait between polls of the outbox, ms. Default 1000. */
  pollMs?: number;
  /** Messages claimed per poll. Default 20. */
  batch?: number;
  /** Attempts before a message is given up (kept in the outbox with its last error). Default 10. */
  maxAttempts?: number;
  /** Exponential backoff between attempts, ms. Default 1 s doubling to 1 h, with jitter. */
  backoff?: { baseMs: number; maxMs: number };
  /** How long one POST may take, ms. Default 10 s. The claim's lease is this plus 30 s. */
  timeoutMs?: number;
  /** Where the dashboard is, for links in Slack messages. */
  dashboardUrl?: string;
  /** Called after each attempt (for logs and tests). */
  onAttempt?: (message: WebhookMessage, outcome: { delivered: boolean; status: number | null; error?: string }) => void;
  fetch?: typeof fetch;
}

/** The result of one POST of one message. */
export interface SendResult {
  ok: boolean;
  status: number | null;
  error?: string;
}

/**
 * Signs and POSTs one message per the Standard Webhooks specification: headers `webhook-id` (the
 * message id, the same on every attempt), `webhook-timestamp` and `webhook-signature`.
 *
 * @example
 * await sendWebhook(endpoint, message, { timeoutMs: 10_000 }); // { ok: true, status: 204 }
 */
export async function sendWebhook(
  endpoint: WebhookEndpoint,
  message: OutgoingWebhook,
  options: { timeoutMs?: number; dashboardUrl?: string; fetch?: typeof fetch } = {},
): Promise<SendResult> {
  const body = webhookBody(message, endpoint.format, options.dashboardUrl);
  const now = new Date();
  const headers = {
    'content-type': 'application/json',
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(endpoint.secret).sign(message.id, now, body),
  };
  try {
    const res = await (options.fetch ?? fetch)(endpoint.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    await res.body?.cancel().catch(() => {});
    return res.ok ? { ok: true, status: res.status } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { ok: false, status: null, error: cause ?? (e as Error).message ?? String(e) };
  }
}

/**
 * Delivers the store's webhook outbox: claims due messages (a lease, so several deliverers on one
 * PostgreSQL database never send one message at once), sends each, and records the outcome —
 * delivered on a 2xx, otherwise retried with exponential backoff until `maxAttempts`, then given
 * up. Nothing lives only in memory: a deliverer that stops or dies mid-send leaves the message in
 * the outbox, and it is sent again once its lease lapses (at least once; receivers dedupe by
 * `webhook-id`). `warden serve` and `warden worker` run one.
 *
 * @example
 * const deliverer = new WebhookDeliverer({ store });
 * deliverer.start();
 * await deliverer.stop();
 */
export class WebhookDeliverer {
  readonly #o: Required<Omit<WebhookDelivererOptions, 'dashboardUrl' | 'onAttempt' | 'fetch'>> & WebhookDelivererOptions;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;

  constructor(options: WebhookDelivererOptions) {
    this.#o = { pollMs: 1000, batch: 20, maxAttempts: 10, backoff: { baseMs: 1000, maxMs: 3_600_000 }, timeoutMs: 10_000, ...options };
  }

  /** Claims and sends what is due now; how many messages it attempted. */
  async deliverDue(): Promise<number> {
    const { store, batch, timeoutMs } = this.#o;
    const messages = await store.claimWebhookMessages(batch, timeoutMs + 30_000);
    if (messages.length === 0) return 0;
    const endpoints = new Map((await store.listWebhookEndpoints()).map((e) => [e.id, e]));
    await Promise.all(messages.map((m) => this.#deliver(m, endpoints.get(m.endpointId))));
    return messages.length;
  }

  /** Polls until `stop`; a failing store is retried at the next poll. */
  start(): void {
    if (this.#running) return;
    this.#stopping = false;
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#running;
    this.#running = undefined;
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      let attempted = 0;
      try {
        attempted = await this.deliverDue();
      } catch {
        // The store is down or closing: the messages stay in the outbox; try again next poll.
      }
      if (attempted === 0 && !this.#stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#o.pollMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  async #deliver(m: WebhookMessage, endpoint: WebhookEndpoint | undefined): Promise<void> {
    const { store, maxAttempts, backoff } = this.#o;
    const result = endpoint?.enabled
      ? await sendWebhook(endpoint, m, this.#o)
      : { ok: false, status: null, error: endpoint ? 'the endpoint is disabled' : 'the endpoint was removed' };
    if (result.ok) {
      await store.recordWebhookAttempt(m.id, { delivered: true, status: result.status ?? 200 });
    } else {
      const retryAt = m.attempts >= maxAttempts || !endpoint ? null : Date.now() + Math.max(1, backoffMs(m.attempts, backoff));
      await store.recordWebhookAttempt(m.id, { delivered: false, status: result.status, error: result.error ?? 'failed', retryAt });
    }
    this.#o.onAttempt?.(m, { delivered: result.ok, status: result.status, ...(result.error ? { error: result.error } : {}) });
  }
}
