import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { WardenError } from '../core/errors.ts';
import { bookkeepingName, explainEvent } from '../observe/explain.ts';
import { figuresLine } from '../core/projection.ts';
import type { AnyRunEvent, RunStatus, StopReason } from '../core/events.ts';
import type { RunRecord } from '../core/ports/store.ts';
import { type ApiKey, coversTenant } from './api-keys.ts';
import { CancelBody, EventList, IdParam, RunList, RunRecord as RunRecordBody, RunResult, SubmitBody, Submitted } from './api-schemas.ts';
import type { Env, ServerDeps } from './context.ts';
import { errors, json, jsonOrNothing, requires } from './openapi.ts';
import { lastEventId, streamRun } from './run-stream.ts';
import { nanoToUsd, usdToNano } from '../core/money.ts';
import { newRunId } from '../core/ids.ts';

/** A run the key may see; a run of another tenant is reported as missing, not forbidden. */
export async function visibleRun(deps: ServerDeps, key: ApiKey, runId: string): Promise<RunRecord> {
  const run = await deps.store.getRun(runId);
  if (!run || !coversTenant(key, run.tenant)) throw new WardenError('NOT_FOUND', `No run with id "${runId}"`);
  return run;
}

const IDEMPOTENCY_NS = 'idempotency';

/** An event with its sentence; a bookkeeping event (no sentence) is named instead, so the timeline never skips silently. */
function withExplain(e: AnyRunEvent) {
  const explain = explainEvent(e);
  return { ...e, explain, ...(explain === null ? { bookkeeping: bookkeepingName(e) } : {}) };
}

/** Route middleware: the `{id}` run exists and the key's tenants cover it (404 otherwise), before any body is read. */
function runVisible(deps: ServerDeps): MiddlewareHandler<Env> {
  return async (c, next) => {
    await visibleRun(deps, c.get('key'), c.req.param('id') ?? '');
    await next();
  };
}

const optional = (description: string) => z.string().optional().openapi({ description });

const submitRun = createRoute({
  method: 'post',
  path: '/v1/runs',
  operationId: 'submitRun',
  summary: 'Submit a run (role submitter). Honours an Idempotency-Key header: the same key returns the same run.',
  middleware: [requires('runs:submit')] as const,
  request: {
    headers: z.object({
      'idempotency-key': z.string().optional().openapi({ description: 'The same key (at most 200 characters) with the same body returns the same run' }),
    }),
    body: { required: true, ...json(SubmitBody, 'The run to start') },
  },
  responses: {
    201: json(Submitted, 'Queued'),
    200: json(Submitted, 'The run this idempotency key already made'),
    ...errors(400, 401, 403, 404, 409, 413, 429),
  },
});

const listRuns = createRoute({
  method: 'get',
  path: '/v1/runs',
  operationId: 'listRuns',
  summary: 'List runs, newest first',
  middleware: [requires('runs:read')] as const,
  request: {
    query: z.object({
      agent: optional('Only runs of this agent'),
      tenant: optional('Only runs of this tenant'),
      status: optional('Comma-separated statuses'),
      stopReason: optional('Only runs stopped for this reason'),
      minCostUsd: optional('Only runs that cost at least this much'),
      limit: optional('At most this many (1–500, default 100)'),
    }),
  },
  responses: { 200: json(RunList, 'Runs, newest first'), ...errors(400, 401, 403) },
});

const readRoute = (path: string, operationId: string, summary: string, response: ReturnType<typeof json>) =>
  createRoute({
    method: 'get',
    path,
    operationId,
    summary,
    middleware: [requires('runs:read')] as const,
    request: { params: IdParam },
    responses: { 200: response, ...errors(401, 403, 404) },
  });

const getRun = readRoute('/v1/runs/{id}', 'getRun', 'One run as its log says it is', json(RunResult, 'The run'));
const getRunEvents = readRoute('/v1/runs/{id}/events', 'getRunEvents', 'The decision trace: every event, with a plain-words line', json(EventList, 'Events'));
const getRunChildren = readRoute(
  '/v1/runs/{id}/children',
  'getRunChildren',
  'Child runs started by delegation',
  json(z.object({ runs: z.array(RunRecordBody) }).openapi('ChildRuns'), 'Runs'),
);

const cancelRun = createRoute({
  method: 'post',
  path: '/v1/runs/{id}/cancel',
  operationId: 'cancelRun',
  summary: 'Cancel a run and its children (role operator)',
  request: { params: IdParam, body: { required: false, ...json(CancelBody, 'Why (optional)') } },
  responses: { 200: json(RunResult, 'The run'), ...errors(400, 401, 403, 404, 413) },
});

const streamRoute = createRoute({
  method: 'get',
  path: '/v1/runs/{id}/stream',
  operationId: 'streamRun',
  summary: 'Live events over Server-Sent Events (the log so far, then each commit)',
  description:
    "Each event carries `id: seq`, in seq order with no gap. The stream ends when the run ends; it also ends, within about a second, when the key is revoked or no longer covers the run's tenant, with a last `stream.end` event (no id) whose data is `{reason: key_revoked | role_lost | tenant_lost, message}`. " +
    "While a model call of the run streams in this server's process, its text arrives as `text.delta` messages (no id; data `{runId, step, attempt, delta}`), a live preview: text streamed elsewhere or before connecting is not sent, and `model.called` carries the committed text. A client over 256 KiB of text behind gets one `text.dropped` message `{runId, chars}` instead of the excess.",
  middleware: [requires('runs:read')] as const,
  request: {
    params: IdParam,
    headers: z.object({
      'last-event-id': z.string().optional().openapi({
        description: 'The seq of the last event received: the stream resumes with the events after it (a browser EventSource sends it on reconnect)',
      }),
    }),
    query: z.object({ access_token: optional('The API key, for clients that cannot send headers (EventSource)') }),
  },
  responses: { 200: { description: 'Server-Sent Events', content: { 'text/event-stream': { schema: z.string() } } }, ...errors(400, 401, 403, 404) },
});

export function runRoutes(app: OpenAPIHono<Env>, deps: ServerDeps): void {
  app.openapi(submitRun, async (c) => {
    const key = c.get('key');
    const body = c.req.valid('json');
    const agentName = body.agent;
    const input = body.input;
    const tenant = body.tenant ?? (key.tenants.includes('*') ? 'default' : key.tenants[0]);
    if (tenant === undefined || !coversTenant(key, tenant)) throw new WardenError('FORBIDDEN', `This key may not submit for tenant "${tenant}"`);
    if (deps.agents.names && !deps.agents.names.includes(agentName)) throw new WardenError('NOT_FOUND', `No agent named "${agentName}" on this server`);
    const agent = await deps.agents.agentFor({ agent: agentName, runId: '(new)' } as RunRecord);
    const idempotencyKey = c.req.header('idempotency-key');
    let runId: string | undefined;
    if (idempotencyKey) {
      if (idempotencyKey.length > 200) throw new WardenError('INVALID_ARGUMENT', 'Idempotency-Key is limited to 200 characters');
      const proposed = newRunId();
      const claim = await deps.store.putRecord(
        IDEMPOTENCY_NS,
        `${key.id}:${idempotencyKey}`,
        { runId: proposed, body: { agentName, input, tenant } },
        { ifAbsent: true },
      );
      const held = claim.value as { runId: string; body: { agentName: string; input: string; tenant: string } };
      if (!claim.stored) {
        if (held.body.agentName !== agentName || held.body.input !== input || held.body.tenant !== tenant) {
          throw new WardenError('CONFLICT', `Idempotency-Key "${idempotencyKey}" was used for a different request`);
        }
        const existing = await deps.store.getRun(held.runId);
        if (existing) return c.json({ runId: existing.runId, status: existing.status, replayed: true }, 200);
      }
      runId = held.runId;
    }
    const path = deps.agents.pathOf?.(agentName);
    const id = await deps.warden.submit(agent, input, {
      tenant,
      submittedBy: key.id,
      ...(runId ? { runId } : {}),
      ...(path ? { agentFile: path } : {}),
      ...(body.shadow === true ? { shadow: true } : {}),
    });
    deps.executor.enqueue(id);
    return c.json({ runId: id, status: 'queued' }, 201);
  });

  app.openapi(listRuns, async (c) => {
    const key = c.get('key');
    const q = c.req.valid('query');
    const limit = Math.min(500, Math.max(1, Number(q.limit ?? 100) || 100));
    const filter = {
      ...(q.agent ? { agent: q.agent } : {}),
      ...(q.status ? { status: q.status.split(',') as RunStatus[] } : {}),
      ...(q.stopReason ? { stopReason: q.stopReason as StopReason } : {}),
      limit,
    };
    const tenants = q.tenant ? [q.tenant] : key.tenants.includes('*') ? [undefined] : key.tenants;
    const runs: RunRecord[] = [];
    for (const tenant of tenants) {
      if (tenant && !coversTenant(key, tenant)) continue;
      runs.push(...(await deps.store.listRuns({ ...filter, ...(tenant ? { tenant } : {}) })));
    }
    const minCost = q.minCostUsd ? usdToNano(Number(q.minCostUsd)) : 0;
    const list = runs
      .filter((r) => r.costNano >= minCost)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, limit);
    return c.json({ runs: list.map((r) => ({ ...r, costUsd: nanoToUsd(r.costNano) })) }, 200);
  });

  app.openapi(getRun, async (c) => {
    const { id } = c.req.valid('param');
    await visibleRun(deps, c.get('key'), id);
    const run = await deps.warden.inspect(id);
    return c.json({ ...run, figures: figuresLine(run.summary) }, 200);
  });

  app.openapi(getRunEvents, async (c) => {
    const { id } = c.req.valid('param');
    await visibleRun(deps, c.get('key'), id);
    return c.json({ events: (await deps.warden.events(id)).map(withExplain) }, 200);
  });

  app.openapi(getRunChildren, async (c) => {
    const run = await visibleRun(deps, c.get('key'), c.req.valid('param').id);
    const tree = await deps.store.listRuns({ rootRunId: run.rootRunId, limit: 1000 });
    return c.json({ runs: tree.filter((r) => r.parentRunId === run.runId) }, 200);
  });

  // The run must be visible (404) before its optional body is read.
  app.openapi({ ...cancelRun, middleware: [requires('runs:cancel'), runVisible(deps), jsonOrNothing] }, async (c) => {
    const key = c.get('key');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json') as { reason?: string };
    const reason = typeof body.reason === 'string' ? body.reason : 'cancelled from the API';
    return c.json(await deps.warden.cancel(id, { by: `${key.name} (${key.id})`, reason }), 200);
  });

  // Live events over Server-Sent Events: the log after Last-Event-ID, then each commit as it lands.
  app.openapi(streamRoute, async (c) => {
    const run = await visibleRun(deps, c.get('key'), c.req.valid('param').id);
    return streamRun(c, deps, run, lastEventId(c.req.header('last-event-id'))) as never;
  });
}
