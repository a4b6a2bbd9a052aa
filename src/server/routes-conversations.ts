import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { WardenError } from '../core/errors.ts';
import { nanoToUsd } from '../core/money.ts';
import type { ConversationRecord, ConversationStatus, RunRecord } from '../core/ports/store.ts';
import { conversationView } from '../runtime/conversation-turns.ts';
import { type ApiKey, coversTenant } from './api-keys.ts';
import { CancelBody, CancelledTurns, ConversationList, ConversationWithTurns, IdParam, MessageBody, MessageSubmitted } from './api-schemas.ts';
import type { Env, ServerDeps } from './context.ts';
import { errors, json, jsonOrNothing, requires } from './openapi.ts';

const optional = (description: string) => z.string().optional().openapi({ description });

/** A conversation the key may see; one of another tenant is reported as missing, not forbidden. */
async function visibleConversation(deps: ServerDeps, key: ApiKey, id: string): Promise<ConversationRecord> {
  const c = await deps.store.getConversation(id);
  if (!c || !coversTenant(key, c.tenant)) throw new WardenError('NOT_FOUND', `No conversation with id "${id}"`);
  return c;
}

function withUsd<T extends ConversationRecord>(c: T) {
  return { ...c, spentUsd: nanoToUsd(c.spentNano), ceilingUsd: c.ceilingNano === null ? null : nanoToUsd(c.ceilingNano) };
}

const postMessage = createRoute({
  method: 'post',
  path: '/v1/conversations/{id}/messages',
  operationId: 'postConversationMessage',
  summary:
    "Send a message to a conversation (role submitter): a run that is the conversation's next turn, created with the first message. It sees the earlier turns and runs once the turn before it has ended.",
  middleware: [requires('runs:submit')] as const,
  request: { params: IdParam, body: { required: true, ...json(MessageBody, 'The message') } },
  responses: { 201: json(MessageSubmitted, 'Queued as the next turn'), ...errors(400, 401, 403, 404, 409, 413, 429) },
});

const listConversations = createRoute({
  method: 'get',
  path: '/v1/conversations',
  operationId: 'listConversations',
  summary: 'List conversations, most recently updated first',
  middleware: [requires('runs:read')] as const,
  request: {
    query: z.object({
      agent: optional('Only conversations with this agent'),
      tenant: optional('Only conversations of this tenant'),
      status: optional('open or cancelled'),
      limit: optional('At most this many (1–500, default 100)'),
    }),
  },
  responses: { 200: json(ConversationList, 'Conversations'), ...errors(400, 401, 403) },
});

const getConversation = createRoute({
  method: 'get',
  path: '/v1/conversations/{id}',
  operationId: 'getConversation',
  summary: 'One conversation and its turns, oldest first (each turn is a run: GET /v1/runs/{id}/events for its timeline)',
  middleware: [requires('runs:read')] as const,
  request: { params: IdParam },
  responses: { 200: json(ConversationWithTurns, 'The conversation'), ...errors(401, 403, 404) },
});

const cancelConversation = createRoute({
  method: 'post',
  path: '/v1/conversations/{id}/cancel',
  operationId: 'cancelConversation',
  summary: 'Cancel a conversation (role operator): it takes no more messages, and its live turns are cancelled',
  request: { params: IdParam, body: { required: false, ...json(CancelBody, 'Why (optional)') } },
  responses: { 200: json(CancelledTurns, 'The turns cancelled'), ...errors(400, 401, 403, 404, 413) },
});

export function conversationRoutes(app: OpenAPIHono<Env>, deps: ServerDeps): void {
  app.openapi(postMessage, async (c) => {
    const key = c.get('key');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const existing = await deps.store.getConversation(id);
    if (existing && !coversTenant(key, existing.tenant)) throw new WardenError('NOT_FOUND', `No conversation with id "${id}"`);
    const tenant = body.tenant ?? existing?.tenant ?? (key.tenants.includes('*') ? 'default' : key.tenants[0]);
    if (tenant === undefined || !coversTenant(key, tenant)) throw new WardenError('FORBIDDEN', `This key may not submit for tenant "${tenant}"`);
    if (deps.agents.names && !deps.agents.names.includes(body.agent)) throw new WardenError('NOT_FOUND', `No agent named "${body.agent}" on this server`);
    const agent = await deps.agents.agentFor({ agent: body.agent, runId: '(new)' } as RunRecord);
    const path = deps.agents.pathOf?.(body.agent);
    const runId = await deps.warden.submit(agent, body.input, {
      tenant,
      conversation: id,
      submittedBy: key.id,
      ...(path ? { agentFile: path } : {}),
      ...(body.shadow === true ? { shadow: true } : {}),
    });
    deps.executor.enqueue(runId);
    const turn = (await deps.store.getRun(runId))?.turn ?? 0;
    return c.json({ runId, status: 'queued', conversationId: id, turn }, 201);
  });

  app.openapi(listConversations, async (c) => {
    const key = c.get('key');
    const q = c.req.valid('query');
    const limit = Math.min(500, Math.max(1, Number(q.limit ?? 100) || 100));
    if (q.status !== undefined && q.status !== 'open' && q.status !== 'cancelled')
      throw new WardenError('INVALID_ARGUMENT', `status must be open or cancelled, got "${q.status}"`);
    const filter = { ...(q.agent ? { agent: q.agent } : {}), ...(q.status ? { status: q.status as ConversationStatus } : {}), limit };
    const tenants = q.tenant ? [q.tenant] : key.tenants.includes('*') ? [undefined] : key.tenants;
    const found: ConversationRecord[] = [];
    for (const tenant of tenants) {
      if (tenant && !coversTenant(key, tenant)) continue;
      found.push(...(await deps.store.listConversations({ ...filter, ...(tenant ? { tenant } : {}) })));
    }
    const list = found.sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit);
    return c.json({ conversations: list.map(withUsd) }, 200);
  });

  app.openapi(getConversation, async (c) => {
    const { id } = c.req.valid('param');
    await visibleConversation(deps, c.get('key'), id);
    const view = await conversationView(deps.store, id);
    return c.json({ ...withUsd(view), turnRuns: view.turnRuns.map((r) => ({ ...r, costUsd: nanoToUsd(r.costNano) })) }, 200);
  });

  // The conversation must be visible (404) before its optional body is read.
  app.openapi(
    {
      ...cancelConversation,
      middleware: [
        requires('runs:cancel'),
        async (c, next) => {
          await visibleConversation(deps, c.get('key'), c.req.param('id') ?? '');
          await next();
        },
        jsonOrNothing,
      ],
    },
    async (c) => {
      const key = c.get('key');
      const { id } = c.req.valid('param');
      const body = c.req.valid('json') as { reason?: string };
      const reason = typeof body.reason === 'string' ? body.reason : 'conversation cancelled from the API';
      const cancelled = await deps.warden.cancelConversation(id, { by: `${key.name} (${key.id})`, reason });
      return c.json({ cancelled }, 200);
    },
  );
}
