import type { Hono } from 'hono';
import { WardenError } from '../errors.ts';
import { explainEvent } from '../observe/explain.ts';
import type { AnyRunEvent, RunStatus, StopReason } from '../runtime/events.ts';
import type { RunRecord } from '../store/store.ts';
import { type ApiKey, coversTenant } from './api-keys.ts';
import { type Env, jsonBody, need, type ServerDeps } from './app.ts';
import { lastEventId, streamRun } from './run-stream.ts';

/** A run the key may see; a run of another tenant is reported as missing, not forbidden. */
export async function visibleRun(deps: ServerDeps, key: ApiKey, runId: string): Promise<RunRecord> {
  const run = await deps.store.getRun(runId);
  if (!run || !coversTenant(key, run.tenant)) throw new WardenError('NOT_FOUND', `No run with id "${runId}"`);
  return run;
}

const IDEMPOTENCY_NS = 'idempotency';

function str(body: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const v = body[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new WardenError('INVALID_ARGUMENT', `"${field}" must be a non-empty string`);
  return v;
}

function withExplain(e: AnyRunEvent) {
  return { ...e, explain: explainEvent(e) };
}

export function runRoutes(app: Hono<Env>, deps: ServerDeps): void {
  app.post('/v1/runs', async (c) => {
    const key = need(c, 'runs:submit');
    const body = await jsonBody(c);
    const agentName = str(body, 'agent', true)!;
    const input = str(body, 'input', true)!;
    const tenant = str(body, 'tenant', false) ?? (key.tenants.includes('*') ? 'default' : key.tenants[0]);
    if (body.shadow !== undefined && typeof body.shadow !== 'boolean') throw new WardenError('INVALID_ARGUMENT', '"shadow" must be true or false');
    if (!coversTenant(key, tenant)) throw new WardenError('FORBIDDEN', `This key may not submit for tenant "${tenant}"`);
    if (deps.agents.names && !deps.agents.names.includes(agentName)) throw new WardenError('NOT_FOUND', `No agent named "${agentName}" on this server`);
    const agent = await deps.agents.agentFor({ agent: agentName, runId: '(new)' } as RunRecord);
    const idempotencyKey = c.req.header('idempotency-key');
    let runId: string | undefined;
    if (idempotencyKey) {
      if (idempotencyKey.length > 200) throw new WardenError('INVALID_ARGUMENT', 'Idempotency-Key is limited to 200 characters');
      const proposed = `run_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
      const claim = await deps.store.putRecord(IDEMPOTENCY_NS, `${key.id}:${idempotencyKey}`, { runId: proposed, body: { agentName, input, tenant } }, { ifAbsent: true });
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

  app.get('/v1/runs', async (c) => {
    const key = need(c, 'runs:read');
    const q = c.req.query();
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
    const minCost = q.minCostUsd ? Number(q.minCostUsd) * 1e9 : 0;
    const list = runs.filter((r) => r.costNano >= minCost).sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    return c.json({ runs: list.map((r) => ({ ...r, costUsd: r.costNano / 1e9 })) });
  });

  app.get('/v1/runs/:id', async (c) => {
    const key = need(c, 'runs:read');
    await visibleRun(deps, key, c.req.param('id'));
    return c.json(await deps.warden.inspect(c.req.param('id')));
  });

  app.get('/v1/runs/:id/events', async (c) => {
    const key = need(c, 'runs:read');
    await visibleRun(deps, key, c.req.param('id'));
    return c.json({ events: (await deps.warden.events(c.req.param('id'))).map(withExplain) });
  });

  app.get('/v1/runs/:id/children', async (c) => {
    const key = need(c, 'runs:read');
    const run = await visibleRun(deps, key, c.req.param('id'));
    const tree = await deps.store.listRuns({ rootRunId: run.rootRunId, limit: 1000 });
    return c.json({ runs: tree.filter((r) => r.parentRunId === run.runId) });
  });

  app.post('/v1/runs/:id/cancel', async (c) => {
    const key = need(c, 'runs:cancel');
    await visibleRun(deps, key, c.req.param('id'));
    const body = c.req.header('content-type')?.includes('json') ? await jsonBody(c) : {};
    const reason = typeof body.reason === 'string' ? body.reason : 'cancelled from the API';
    return c.json(await deps.warden.cancel(c.req.param('id'), { by: `${key.name} (${key.id})`, reason }));
  });

  // Live events over Server-Sent Events: the log after Last-Event-ID, then each commit as it lands.
  app.get('/v1/runs/:id/stream', async (c) => {
    const key = need(c, 'runs:read');
    const run = await visibleRun(deps, key, c.req.param('id'));
    return streamRun(c, deps, run, lastEventId(c.req.header('last-event-id')));
  });
}
