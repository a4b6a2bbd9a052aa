import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { WardenError } from '../core/errors.ts';
import { liftSwitch, listSwitches, parseScope } from '../runtime/kill-switch.ts';
import type { InterventionRecord, RunRecord } from '../core/ports/store.ts';
import { type ApiKey, coversTenant } from './api-keys.ts';
import { AgentNames, Engaged, Lifted, Me, Overview, SwitchBody, SwitchList } from './api-schemas.ts';
import type { Env, ServerDeps } from './context.ts';
import { errors, json, requires } from './openapi.ts';
import { nanoToUsd } from '../core/money.ts';

function canSwitch(key: ApiKey, scope: string): boolean {
  if (key.tenants.includes('*')) return true;
  return scope.startsWith('tenant:') && coversTenant(key, scope.slice('tenant:'.length));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Per agent: runs by status and stop reason, runs per hour, cost per request, approval and escalation rates. */
async function overview(deps: ServerDeps, key: ApiKey) {
  const tenants = key.tenants.includes('*') ? [undefined] : key.tenants;
  const runs: RunRecord[] = [];
  for (const tenant of tenants) runs.push(...(await deps.store.listRuns({ limit: 2000, ...(tenant ? { tenant } : {}) })));
  const interventions: InterventionRecord[] = [];
  for (const tenant of tenants) {
    for (const status of ['pending', 'approved', 'denied', 'decided'] as const)
      interventions.push(...(await deps.store.listInterventions({ status, limit: 5000, ...(tenant ? { tenant } : {}) })));
  }
  const agents = new Map<string, RunRecord[]>();
  for (const r of runs) agents.set(r.agent, [...(agents.get(r.agent) ?? []), r]);
  const hour = 3_600_000;
  return [...agents].map(([agent, list]) => {
    const costs = list.map((r) => nanoToUsd(r.costNano)).sort((a, b) => a - b);
    const byStatus: Record<string, number> = {};
    const byStop: Record<string, number> = {};
    const perHour: Record<string, number> = {};
    for (const r of list) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      if (r.stopReason) byStop[r.stopReason] = (byStop[r.stopReason] ?? 0) + 1;
      const h = new Date(Math.floor(r.createdAt / hour) * hour).toISOString();
      perHour[h] = (perHour[h] ?? 0) + 1;
    }
    const mine = interventions.filter((i) => i.agent === agent);
    return {
      agent,
      runs: list.length,
      byStatus,
      byStopReason: byStop,
      runsPerHour: perHour,
      costUsd: { p50: percentile(costs, 50), p95: percentile(costs, 95), p99: percentile(costs, 99), max: costs.at(-1) ?? 0, histogram: histogram(costs) },
      approvalsPer100: list.length ? (mine.filter((i) => i.kind === 'approval').length / list.length) * 100 : 0,
      escalationsPer100: list.length ? (mine.filter((i) => i.kind === 'escalation').length / list.length) * 100 : 0,
    };
  });
}

function histogram(sorted: number[], bins = 12): { from: number; to: number; count: number }[] {
  const lo = sorted[0];
  const hi = sorted.at(-1);
  if (lo === undefined || hi === undefined) return [];
  const width = (hi - lo) / bins || 1e-9;
  const out = Array.from({ length: bins }, (_, i) => ({ from: lo + i * width, to: lo + (i + 1) * width, count: 0 }));
  for (const v of sorted) {
    const bin = out[Math.min(bins - 1, Math.floor((v - lo) / width))];
    if (bin) bin.count++; // always: the index is clamped to [0, bins - 1]
  }
  return out;
}

const listSwitchesRoute = createRoute({
  method: 'get',
  path: '/v1/kill-switch',
  operationId: 'listKillSwitches',
  summary: 'Engaged kill switches',
  middleware: [requires('switch:read')] as const,
  responses: { 200: json(SwitchList, 'Switches'), ...errors(401, 403) },
});

const engageRoute = createRoute({
  method: 'post',
  path: '/v1/kill-switch',
  operationId: 'engageKillSwitch',
  summary: 'Engage a kill switch (scope all, agent:NAME or tenant:NAME; role operator): stops live runs, refuses new ones',
  middleware: [requires('switch:write')] as const,
  request: { body: { required: true, ...json(SwitchBody, 'What to switch off, and why') } },
  responses: { 201: json(Engaged, 'Engaged'), ...errors(400, 401, 403, 413) },
});

const liftRoute = createRoute({
  method: 'delete',
  path: '/v1/kill-switch',
  operationId: 'liftKillSwitch',
  summary: 'Lift a kill switch',
  middleware: [requires('switch:write')] as const,
  request: { query: z.object({ scope: z.string().optional().openapi({ description: 'all, agent:NAME or tenant:NAME', example: 'tenant:acme' }) }) },
  responses: { 200: json(Lifted, 'Lifted'), ...errors(400, 401, 403, 404) },
});

const overviewRoute = createRoute({
  method: 'get',
  path: '/v1/overview',
  operationId: 'getOverview',
  summary: 'Per agent: runs and stop reasons over time, cost per request, approval and escalation rates',
  middleware: [requires('runs:read')] as const,
  responses: { 200: json(Overview, 'Overview'), ...errors(401, 403) },
});

const agentsRoute = createRoute({
  method: 'get',
  path: '/v1/agents',
  operationId: 'listAgents',
  summary: 'Agents this server can run',
  middleware: [requires('runs:read')] as const,
  responses: { 200: json(AgentNames, 'Agent names'), ...errors(401, 403) },
});

const meRoute = createRoute({
  method: 'get',
  path: '/v1/me',
  operationId: 'getMe',
  summary: 'The calling key: name, role, tenants',
  responses: { 200: json(Me, 'Key'), ...errors(401) },
});

export function controlRoutes(app: OpenAPIHono<Env>, deps: ServerDeps): void {
  app.openapi(listSwitchesRoute, async (c) => {
    const key = c.get('key');
    return c.json({ switches: (await listSwitches(deps.store)).filter((s) => canSwitch(key, s.scope) || s.scope === 'all') }, 200);
  });

  // Engaging stops every live run it covers and keeps new ones (and resumes) out until it is lifted.
  app.openapi(engageRoute, async (c) => {
    const key = c.get('key');
    const body = c.req.valid('json');
    const scope = parseScope(body.scope);
    if (!canSwitch(key, scope)) throw new WardenError('FORBIDDEN', `This key may not switch off "${scope}"`);
    const reason = typeof body.reason === 'string' && body.reason ? body.reason : 'kill switch';
    const by = `${key.name} (${key.id})`;
    const { engaged, stopped } = await deps.warden.halt(scope, { by, reason });
    return c.json({ engaged, stopped: stopped.map((r) => ({ runId: r.runId, status: r.status })) }, 201);
  });

  app.openapi(liftRoute, async (c) => {
    const key = c.get('key');
    const scope = parseScope(c.req.valid('query').scope ?? '');
    if (!canSwitch(key, scope)) throw new WardenError('FORBIDDEN', `This key may not lift "${scope}"`);
    if (!(await liftSwitch(deps.store, scope))) throw new WardenError('NOT_FOUND', `No kill switch is engaged for "${scope}"`);
    return c.json({ lifted: scope }, 200);
  });

  app.openapi(overviewRoute, async (c) => c.json({ agents: await overview(deps, c.get('key')) }, 200));

  app.openapi(agentsRoute, (c) => c.json({ agents: [...(deps.agents.names ?? [])] }, 200));

  app.openapi(meRoute, (c) => {
    const key = c.get('key');
    return c.json({ id: key.id, name: key.name, role: key.role, tenants: key.tenants }, 200);
  });
}
