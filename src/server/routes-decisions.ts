import type { Hono } from 'hono';
import { WardenError } from '../errors.ts';
import type { InterventionKind, InterventionRecord, InterventionStatus } from '../store/store.ts';
import { type ApiKey, coversTenant } from './api-keys.ts';
import { type Env, jsonBody, need, type ServerDeps } from './app.ts';

async function visibleIntervention(deps: ServerDeps, key: ApiKey, id: string): Promise<InterventionRecord> {
  const record = await deps.store.getIntervention(id);
  if (!record || !coversTenant(key, record.tenant)) throw new WardenError('NOT_FOUND', `No approval or escalation with id "${id}"`);
  return record;
}

/** The key that submitted a request may not approve its actions (four eyes). */
async function assertNotSubmitter(deps: ServerDeps, key: ApiKey, record: InterventionRecord): Promise<string> {
  const run = await deps.store.getRun(record.runId);
  const rootId = run?.rootRunId ?? record.runId;
  const [submitted] = await deps.store.loadEvents(rootId, 0);
  if (submitted?.type === 'run.submitted' && submitted.data.submittedBy === key.id) {
    throw new WardenError('FORBIDDEN', `This key submitted run ${rootId}, so it may not decide its actions; another approver must`);
  }
  return rootId;
}

/** After a decision: carry the run on (from its root), or its undo. */
async function carryOn(deps: ServerDeps, record: InterventionRecord, rootId: string, by: string): Promise<void> {
  if (record.evidence.compensation === true) {
    const run = await deps.store.getRun(record.runId);
    if (!run) return;
    const agent = await deps.agents.agentFor(run);
    void deps.warden.undo(agent, record.runId, { by }).catch((e) => process.stderr.write(`warden serve: undo of ${record.runId}: ${String(e)}\n`));
    return;
  }
  deps.executor.enqueue(rootId);
}

function reasonOf(body: Record<string, unknown>): string | undefined {
  if (body.reason === undefined) return undefined;
  if (typeof body.reason !== 'string' || body.reason.length > 2000) throw new WardenError('INVALID_ARGUMENT', '"reason" must be a string of at most 2000 characters');
  return body.reason;
}

export function decisionRoutes(app: Hono<Env>, deps: ServerDeps): void {
  app.get('/v1/interventions', async (c) => {
    const key = need(c, 'interventions:read');
    const q = c.req.query();
    const status = (q.status ?? 'pending') as InterventionStatus;
    const kind = q.kind as InterventionKind | undefined;
    const tenants = key.tenants.includes('*') ? [undefined] : key.tenants;
    const list: InterventionRecord[] = [];
    for (const tenant of tenants) list.push(...(await deps.store.listInterventions({ status, ...(kind ? { kind } : {}), ...(tenant ? { tenant } : {}), limit: 500 })));
    return c.json({ interventions: list.sort((a, b) => a.requestedAt - b.requestedAt) });
  });

  for (const verdict of ['approve', 'deny'] as const) {
    app.post(`/v1/approvals/:id/${verdict}`, async (c) => {
      const key = need(c, 'interventions:decide');
      const record = await visibleIntervention(deps, key, c.req.param('id'));
      const rootId = await assertNotSubmitter(deps, key, record);
      const body = c.req.header('content-type')?.includes('json') ? await jsonBody(c) : {};
      const reason = reasonOf(body);
      const by = `${key.name} (${key.id})`;
      const decided = verdict === 'approve'
        ? await deps.warden.approve(record.id, { by, ...(reason ? { reason } : {}) })
        : await deps.warden.deny(record.id, { by, ...(reason ? { reason } : {}) });
      await carryOn(deps, record, rootId, by);
      return c.json(decided);
    });
  }

  app.post('/v1/escalations/:id', async (c) => {
    const key = need(c, 'interventions:decide');
    const record = await visibleIntervention(deps, key, c.req.param('id'));
    const rootId = await assertNotSubmitter(deps, key, record);
    const body = await jsonBody(c);
    const decision = body.decision;
    if (decision !== 'approve' && decision !== 'edit' && decision !== 'takeover' && decision !== 'stop') {
      throw new WardenError('INVALID_ARGUMENT', '"decision" must be approve, edit, takeover or stop');
    }
    if (decision === 'takeover' && typeof body.output !== 'string') throw new WardenError('INVALID_ARGUMENT', 'A takeover needs "output": the final answer');
    const run = await deps.store.getRun(record.runId);
    const agent = run ? await deps.agents.agentFor(run).catch(() => undefined) : undefined;
    const reason = reasonOf(body);
    const by = `${key.name} (${key.id})`;
    const decided = await deps.warden.decideEscalation(
      record.id,
      { decision, by, ...(reason ? { reason } : {}), ...(body.args !== undefined ? { args: body.args } : {}), ...(typeof body.output === 'string' ? { output: body.output } : {}) },
      agent,
    );
    await carryOn(deps, record, rootId, by);
    return c.json(decided);
  });
}
