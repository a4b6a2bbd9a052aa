import type { WebhookFormat } from '../core/ports/store.ts';

/** What is sent: a queued message, or `warden webhooks test`'s. */
export interface OutgoingWebhook {
  /** The `webhook-id`. */
  id: string;
  type: string;
  payload: Record<string, unknown>;
}

/**
 * The body an endpoint receives. `standard`: the queued payload as is (`{ type, timestamp, data }`).
 * `slack`: a Slack-compatible message (`{ text, blocks }`) with a link to the run in the dashboard
 * when `dashboardUrl` is known.
 *
 * @example
 * webhookBody(message, 'slack', 'https://warden.example.com') // '{"text":"Approval needed: …"}'
 */
export function webhookBody(message: OutgoingWebhook, format: WebhookFormat, dashboardUrl?: string): string {
  if (format === 'standard') return JSON.stringify(message.payload);
  const data = (message.payload.data ?? {}) as Record<string, unknown>;
  const text = slackText(message.type, data, dashboardUrl);
  return JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
}

function slackText(type: string, d: Record<string, unknown>, dashboardUrl?: string): string {
  const runId = typeof d.runId === 'string' ? d.runId : undefined;
  const base = dashboardUrl?.replace(/\/+$/, '');
  const run = runId ? (base ? `<${base}/#/runs/${encodeURIComponent(runId)}|${runId}>` : runId) : '';
  const who = d.agent ? ` (${String(d.agent)}, tenant ${String(d.tenant)})` : '';
  switch (type) {
    case 'approval.requested':
      return `Approval needed: run ${run}${who} wants to call \`${String(d.tool)}\` — ${String(d.reason)}`;
    case 'escalated':
      return `Escalated: run ${run}${who} waits for a person — ${String(d.reason ?? '')}`;
    case 'run.stopped':
      return `Run stopped: ${run}${who} hit ${String(d.reason)} — ${String(d.detail ?? '')}`;
    case 'kill_switch.changed':
      return `Kill switch ${d.engaged ? 'engaged' : 'lifted'}: ${String(d.scope)}${d.by ? ` by ${String(d.by)}` : ''}${d.reason ? ` — ${String(d.reason)}` : ''}`;
    case 'drift.detected':
      return `Drift detected for agent ${String(d.agent)}`;
    case 'budget.alert':
      return `Budget alert: the ${String(d.window)} budget of ${String(d.scope)} is past ${Math.round(Number(d.threshold) * 100)}% (run ${run}${who})`;
    case 'webhook.test':
      return 'Test message from Warden: this endpoint is set up.';
    default:
      return `${type}${run ? `: run ${run}` : ''}`;
  }
}
