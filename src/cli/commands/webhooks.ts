import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { WardenError } from '../../core/errors.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEndpoint, type WebhookEventType, type WebhookFormat } from '../../core/ports/store.ts';
import { sendWebhook } from '../../scheduler/webhook-deliverer.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson } from '../output.ts';

/** The event types an endpoint listens to when `--events` is not given: everything a person should hear. */
const DEFAULT_EVENTS: WebhookEventType[] = [...WEBHOOK_EVENT_TYPES];

interface AddFlags {
  events?: string;
  secret?: string;
  format: string;
  id?: string;
  db?: string;
  json?: boolean;
}

/** An endpoint as printed: the secret is shown once, when it is added. */
function redacted(e: WebhookEndpoint): Omit<WebhookEndpoint, 'secret'> {
  const { secret: _secret, ...rest } = e;
  return rest;
}

export function registerWebhooksCommand(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description('Webhooks: tell a URL (or a Slack channel) about approvals, escalations, runs stopped by a limit, kill switches and drift');
  webhooks
    .command('list')
    .description('Endpoints, with how many messages are waiting for each')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: { db?: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const list = await store.listWebhookEndpoints();
        const rows = [];
        for (const e of list)
          rows.push({ ...redacted(e), pending: (await store.listWebhookMessages({ endpointId: e.id, pending: true, limit: 1000 })).length });
        if (opts.json) printJson(rows);
        else
          process.stdout.write(
            rows.map((e) => `${e.id}  ${e.format.padEnd(8)} ${e.url}  ${e.events.join(',')}  pending ${e.pending}`).join('\n') +
              (rows.length ? '\n' : 'No webhooks.\n'),
          );
      } finally {
        await store.close();
      }
    });
  webhooks
    .command('add')
    .description('Add an endpoint; prints its signing secret (Standard Webhooks) once')
    .argument('<url>')
    .option('--events <types>', `comma-separated: ${WEBHOOK_EVENT_TYPES.join(', ')} (default: all)`)
    .option('--secret <whsec>', 'signing secret, whsec_ + base64 (default: a new random one)')
    .option('--format <format>', 'standard | slack', 'standard')
    .option('--id <id>', 'endpoint id (default: a new one)')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (url: string, opts: AddFlags) => {
      if (opts.format !== 'standard' && opts.format !== 'slack')
        throw new WardenError('INVALID_ARGUMENT', `--format must be standard or slack, got ${JSON.stringify(opts.format)}`);
      const events = opts.events ? (opts.events.split(',').map((t) => t.trim()) as WebhookEventType[]) : DEFAULT_EVENTS;
      const store = await openStore(opts.db);
      try {
        const endpoint = await store.addWebhookEndpoint({
          id: opts.id ?? `wh_${randomBytes(6).toString('hex')}`,
          url,
          secret: opts.secret ?? `whsec_${randomBytes(24).toString('base64')}`,
          events,
          format: opts.format as WebhookFormat,
          createdAt: Date.now(),
        });
        if (opts.json) printJson(endpoint);
        else process.stdout.write(`${endpoint.id}  ${endpoint.url}  ${endpoint.events.join(',')}\nsecret (shown once): ${endpoint.secret}\n`);
      } finally {
        await store.close();
      }
    });
  webhooks
    .command('remove')
    .description('Remove an endpoint and the messages still queued for it')
    .argument('<id>')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (id: string, opts: { db?: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        if (!(await store.removeWebhookEndpoint(id))) throw new WardenError('NOT_FOUND', `No webhook endpoint ${id}; \`warden webhooks list\` shows them`);
        if (opts.json) printJson({ id, removed: true });
        else process.stdout.write(`${id} removed\n`);
      } finally {
        await store.close();
      }
    });
  webhooks
    .command('test')
    .description('Send a signed webhook.test message to an endpoint now, and say what it answered')
    .argument('<id>')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (id: string, opts: { db?: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const endpoint = (await store.listWebhookEndpoints()).find((e) => e.id === id);
        if (!endpoint) throw new WardenError('NOT_FOUND', `No webhook endpoint ${id}; \`warden webhooks list\` shows them`);
        const at = new Date();
        const message = {
          id: `msg_test_${randomBytes(8).toString('hex')}`,
          type: 'webhook.test',
          payload: { type: 'webhook.test', timestamp: at.toISOString(), data: { endpointId: id } },
        };
        const result = await sendWebhook(endpoint, message, process.env.WARDEN_DASHBOARD_URL ? { dashboardUrl: process.env.WARDEN_DASHBOARD_URL } : {});
        if (opts.json) printJson({ id, messageId: message.id, ...result });
        else process.stdout.write(result.ok ? `${id}: delivered (HTTP ${result.status})\n` : `${id}: not delivered (${result.error})\n`);
        if (!result.ok) throw new WardenError('WEBHOOK_FAILED', `Webhook endpoint ${id} at ${endpoint.url} did not accept the test message: ${result.error}`);
      } finally {
        await store.close();
      }
    });
}
