import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { WardenError } from '../core/errors.ts';
import { nanoToUsd } from '../core/money.ts';
import type { AgentEventRecord, InterventionRecord, RunRecord, WebhookEndpoint, WebhookMessage } from '../core/ports/store.ts';
import { buildOverview, type OverviewWindow, windowBounds } from '../observe/overview.ts';
import type { ApiKey } from './api-keys.ts';
import { Deliveries, DeliveriesQuery, Overview, OverviewQuery } from './api-schemas.ts';
import type { Env, ServerDeps } from './context.ts';
import { errors, json, requires } from './openapi.ts';

/** Rows each listing of the overview may return, per tenant of the key: bounds the work one request can ask of the store. */
export const OVERVIEW_CAP = 20_000;

/**
 * One window of the overview for one agent (or all), read from the runs and interventions tables
 * (never the events of each run) within the key's tenants. Drift alerts are agent-wide (an
 * agent's log has no tenant): a key of some tenants sees only the agents it has runs of, and
 * only when and which dimensions drifted.
 */
async function overviewFor(deps: ServerDeps, key: ApiKey, agent: string | undefined, window: OverviewWindow) {
  const now = Date.now();
  const { from } = windowBounds(window, now);
  const everyTenant = key.tenants.includes('*');
  const runs: RunRecord[] = [];
  const interventions: InterventionRecord[] = [];
  const truncated = { runs: false, interventions: false };
  for (const tenant of everyTenant ? [undefined] : key.tenants) {
    const filter = { since: from, limit: OVERVIEW_CAP, ...(tenant ? { tenant } : {}), ...(agent ? { agent } : {}) };
    const r = await deps.store.listRuns({ ...filter, withoutText: true });
    const i = await deps.store.listInterventions(filter);
    truncated.runs ||= r.length >= OVERVIEW_CAP;
    truncated.interventions ||= i.length >= OVERVIEW_CAP;
    runs.push(...r);
    interventions.push(...i);
  }
  const seen = new Set(runs.map((r) => r.agent));
  const events: AgentEventRecord[] =
    (await deps.store.listAgentEvents?.({ type: 'drift.detected', since: from, limit: 1000, ...(agent ? { agent } : {}) })) ?? [];
  const drift = everyTenant ? events : events.filter((e) => seen.has(e.agent));
  let ceilingUsd: number | null = null;
  if (agent) {
    const newest = runs.filter((r) => r.parentRunId === null).reduce<RunRecord | undefined>((a, r) => (a && a.createdAt >= r.createdAt ? a : r), undefined);
    const budget = newest && (await deps.store.getBudget(newest.rootRunId));
    if (budget) ceilingUsd = nanoToUsd(budget.ceilingNano);
  }
  return {
    agent: agent ?? null,
    agents: [...new Set([...(deps.agents.names ?? []), ...seen])].sort(),
    ...buildOverview({ window, now, runs, interventions, drift, ceilingUsd, cap: OVERVIEW_CAP, truncated }),
  };
}

/** Where an endpoint sends, without what may be a token in its path or query. */
function origin(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && !u.search ? u.origin : `${u.origin}/…`;
  } catch {
    return '(invalid URL)';
  }
}

function endpointView(e: WebhookEndpoint) {
  return { id: e.id, origin: origin(e.url), events: e.events, format: e.format, enabled: e.enabled };
}

/** A message as the delivery log shows it: where it stands, not its payload. */
function deliveryView(m: WebhookMessage) {
  const suffix = `.${m.endpointId}`;
  const data = m.payload.data;
  const runId = data && typeof data === 'object' && 'runId' in data && typeof data.runId === 'string' ? data.runId : null;
  const status =
    m.deliveredAt !== null ? 'delivered' : m.nextAttemptAt === null ? 'gave_up' : m.lastError !== null ? 'retrying' : m.attempts > 0 ? 'sending' : 'queued';
  return {
    id: m.id,
    endpointId: m.endpointId,
    type: m.type,
    eventId: m.id.endsWith(suffix) ? m.id.slice(0, -suffix.length) : m.id,
    runId,
    status: status as 'queued' | 'sending' | 'delivered' | 'retrying' | 'gave_up',
    attempts: m.attempts,
    lastStatus: m.lastStatus,
    lastError: m.lastError,
    nextAttemptAt: m.nextAttemptAt,
    deliveredAt: m.deliveredAt,
    createdAt: m.createdAt,
  };
}

const overviewRoute = createRoute({
  method: 'get',
  path: '/v1/overview',
  operationId: 'getOverview',
  summary: "One agent's (or all agents') runs, stop reasons, cost per request, approvals and drift over a window, within the key's tenants",
  middleware: [requires('runs:read')] as const,
  request: { query: OverviewQuery },
  responses: { 200: json(Overview, 'Overview'), ...errors(400, 401, 403) },
});

const deliveriesRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks/deliveries',
  operationId: 'listWebhookDeliveries',
  summary: 'Recent webhook deliveries, newest first, per endpoint (admin with a key of every tenant)',
  middleware: [requires('webhooks:read')] as const,
  request: { query: DeliveriesQuery },
  responses: { 200: json(Deliveries, 'Endpoints and their deliveries'), ...errors(400, 401, 403) },
});

/** The operator's desk: the overview's charts and the webhook delivery log. */
export function observeRoutes(app: OpenAPIHono<Env>, deps: ServerDeps): void {
  app.openapi(overviewRoute, async (c) => {
    const { agent, window } = c.req.valid('query');
    return c.json(await overviewFor(deps, c.get('key'), agent && agent !== 'all' ? agent : undefined, window), 200);
  });

  app.openapi(deliveriesRoute, async (c) => {
    if (!c.get('key').tenants.includes('*')) {
      throw new WardenError('FORBIDDEN', 'Webhook deliveries carry every tenant\'s events: only an admin key of every tenant ("*") may read them');
    }
    const q = c.req.valid('query');
    const messages = await deps.store.listWebhookMessages({
      limit: q.limit,
      ...(q.endpoint ? { endpointId: q.endpoint } : {}),
      ...(q.failed ? { failed: q.failed === 'true' } : {}),
    });
    return c.json({ endpoints: (await deps.store.listWebhookEndpoints()).map(endpointView), deliveries: messages.map(deliveryView) }, 200);
  });
}
