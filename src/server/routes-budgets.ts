import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { WardenError } from '../core/errors.ts';
import { budgetStatusView } from '../guard/budget-status.ts';
import { type ApiKey, coversTenant } from './api-keys.ts';
import { BudgetBody, BudgetList, BudgetStored, BudgetsRemoved } from './api-schemas.ts';
import type { Env, ServerDeps } from './context.ts';
import { errors, json, requires } from './openapi.ts';

/** A key of every tenant sees every budget; a tenant's key sees (and sets) only `tenant:` budgets of its tenants. */
function coversScope(key: ApiKey, scope: string): boolean {
  if (key.tenants.includes('*')) return true;
  return scope.startsWith('tenant:') && coversTenant(key, scope.slice('tenant:'.length));
}

const listRoute = createRoute({
  method: 'get',
  path: '/v1/budgets',
  operationId: 'listBudgets',
  summary: "Fleet budgets (config and stored): the current window's spend, the maximum and the projection to the window end",
  middleware: [requires('budgets:read')] as const,
  responses: { 200: json(BudgetList, 'Budgets'), ...errors(401, 403) },
});

const putRoute = createRoute({
  method: 'put',
  path: '/v1/budgets',
  operationId: 'putBudget',
  summary: 'Store a budget (role operator), replacing the stored one of the same scope and window; every process on the store holds it within budgetRefreshMs',
  middleware: [requires('budgets:write')] as const,
  request: { body: { required: true, ...json(BudgetBody, 'The budget') } },
  responses: { 200: json(BudgetStored, 'Stored'), ...errors(400, 401, 403, 413) },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/budgets',
  operationId: 'removeBudgets',
  summary: 'Remove the stored budgets of a scope (of one window with ?window=); config budgets stay',
  middleware: [requires('budgets:write')] as const,
  request: {
    query: z.object({
      scope: z.string().openapi({ description: 'all, tenant:NAME or agent:NAME', example: 'tenant:acme' }),
      window: z.string().optional().openapi({ description: 'day, month or <n>h', example: 'day' }),
    }),
  },
  responses: { 200: json(BudgetsRemoved, 'Removed'), ...errors(400, 401, 403, 404) },
});

export function budgetRoutes(app: OpenAPIHono<Env>, deps: ServerDeps): void {
  const book = deps.warden.budgetBook;

  app.openapi(listRoute, async (c) => {
    const key = c.get('key');
    const statuses = (await book.list()).filter((s) => coversScope(key, s.scope));
    return c.json({ budgets: statuses.map(budgetStatusView) }, 200);
  });

  app.openapi(putRoute, async (c) => {
    const key = c.get('key');
    const body = c.req.valid('json');
    if (!coversScope(key, body.scope)) throw new WardenError('FORBIDDEN', `This key may not set budgets of "${body.scope}"`);
    const budget = await book.set(body);
    const status = (await book.list()).find((s) => s.source === 'stored' && s.scope === budget.scope && s.window === budget.window);
    if (!status) throw new WardenError('INTERNAL', `The ${budget.window} budget of ${budget.scope} was stored but is not listed`);
    return c.json({ budget: budgetStatusView(status) }, 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const key = c.get('key');
    const { scope, window } = c.req.valid('query');
    if (!coversScope(key, scope)) throw new WardenError('FORBIDDEN', `This key may not remove budgets of "${scope}"`);
    const removed = await book.remove(scope, window);
    if (removed === 0) throw new WardenError('NOT_FOUND', `No stored ${window ? `${window} ` : ''}budget for ${scope}`);
    return c.json({ scope, removed }, 200);
  });
}
