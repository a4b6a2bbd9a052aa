import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { WardenError } from '../core/errors.ts';
import { liftSwitch, listSwitches, parseScope } from '../runtime/kill-switch.ts';
import { type ApiKey, coversTenant } from './api-keys.ts';
import { AgentNames, Engaged, Lifted, Me, SwitchBody, SwitchList } from './api-schemas.ts';
import type { Env, ServerDeps } from './context.ts';
import { errors, json, requires } from './openapi.ts';

function canSwitch(key: ApiKey, scope: string): boolean {
  if (key.tenants.includes('*')) return true;
  return scope.startsWith('tenant:') && coversTenant(key, scope.slice('tenant:'.length));
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

  app.openapi(agentsRoute, (c) => c.json({ agents: [...(deps.agents.names ?? [])] }, 200));

  app.openapi(meRoute, (c) => {
    const key = c.get('key');
    return c.json({ id: key.id, name: key.name, role: key.role, tenants: key.tenants }, 200);
  });
}
