import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { WardenError } from '../core/errors.ts';
import type { InterventionKind, InterventionRecord, InterventionStatus } from '../core/ports/store.ts';
import { loadApprovalCard } from '../observe/approval-card.ts';
import { type ApiKey, coversTenant } from './api-keys.ts';
import { allows } from './permissions.ts';
import { DecisionBody, IdParam, Intervention, InterventionList, ReasonBody } from './api-schemas.ts';
import type { Env, ServerDeps } from './context.ts';
import { errors, json, jsonOrNothing, requires } from './openapi.ts';

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

async function agentOf(deps: ServerDeps, runId: string) {
  const run = await deps.store.getRun(runId);
  return run ? deps.agents.agentFor(run) : undefined;
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

/**
 * Route middleware of the decision routes: the intervention exists for the key's tenants (404) and
 * the key did not submit its run (403), both before the body is read.
 */
function decidable(deps: ServerDeps): MiddlewareHandler<Env> {
  return async (c, next) => {
    const key = c.get('key');
    const record = await visibleIntervention(deps, key, c.req.param('id') ?? '');
    const rootId = await assertNotSubmitter(deps, key, record);
    c.set('intervention', { record, rootId });
    await next();
  };
}

const listInterventions = createRoute({
  method: 'get',
  path: '/v1/interventions',
  operationId: 'listInterventions',
  summary: 'Approvals and escalations, oldest first',
  middleware: [requires('interventions:read')] as const,
  request: {
    query: z.object({
      status: z.string().optional().openapi({ description: 'pending (default), approved, denied, decided or expired' }),
      kind: z.string().optional().openapi({ description: 'approval or escalation' }),
    }),
  },
  responses: { 200: json(InterventionList, 'Interventions, oldest first'), ...errors(400, 401, 403) },
});

const verdictRoute = (verdict: 'approve' | 'deny') =>
  createRoute({
    method: 'post',
    path: `/v1/approvals/{id}/${verdict}`,
    operationId: verdict === 'approve' ? 'approveApproval' : 'denyApproval',
    summary: verdict === 'approve' ? 'Approve the exact arguments (role approver; not the submitting key)' : 'Deny (role approver; not the submitting key)',
    request: { params: IdParam, body: { required: false, ...json(ReasonBody, 'Why (optional)') } },
    responses: { 200: json(Intervention, 'The decision'), ...errors(400, 401, 403, 404, 409, 413) },
  });

const decideEscalation = createRoute({
  method: 'post',
  path: '/v1/escalations/{id}',
  operationId: 'decideEscalation',
  summary: 'Decide an escalation: approve, edit the arguments, take over with the answer, or stop',
  request: { params: IdParam, body: { required: true, ...json(DecisionBody, 'The decision') } },
  responses: { 200: json(Intervention, 'The decision'), ...errors(400, 401, 403, 404, 409, 413) },
});

export function decisionRoutes(app: OpenAPIHono<Env>, deps: ServerDeps): void {
  app.openapi(listInterventions, async (c) => {
    const key = c.get('key');
    const q = c.req.valid('query');
    const status = (q.status ?? 'pending') as InterventionStatus;
    const kind = q.kind as InterventionKind | undefined;
    const tenants = key.tenants.includes('*') ? [undefined] : key.tenants;
    const list: InterventionRecord[] = [];
    for (const tenant of tenants)
      list.push(...(await deps.store.listInterventions({ status, ...(kind ? { kind } : {}), ...(tenant ? { tenant } : {}), limit: 500 })));
    const viewer = { keyId: key.id, role: key.role, roleMayDecide: allows(key.role, 'interventions:decide') };
    const now = Date.now();
    const interventions = await Promise.all(
      list
        .sort((a, b) => a.requestedAt - b.requestedAt)
        .map(async (record) => ({ ...record, card: await loadApprovalCard(deps.store, record, (state) => agentOf(deps, state.runId), { viewer, now }) })),
    );
    return c.json({ interventions }, 200);
  });

  for (const verdict of ['approve', 'deny'] as const) {
    app.openapi({ ...verdictRoute(verdict), middleware: [requires('interventions:decide'), decidable(deps), jsonOrNothing] }, async (c) => {
      const key = c.get('key');
      const { record, rootId } = c.get('intervention');
      const { reason } = c.req.valid('json') as { reason?: string };
      const by = `${key.name} (${key.id})`;
      const decided =
        verdict === 'approve'
          ? await deps.warden.approve(record.id, { by, ...(reason ? { reason } : {}) })
          : await deps.warden.deny(record.id, { by, ...(reason ? { reason } : {}) });
      await carryOn(deps, record, rootId, by);
      return c.json(decided, 200);
    });
  }

  app.openapi({ ...decideEscalation, middleware: [requires('interventions:decide'), decidable(deps)] }, async (c) => {
    const key = c.get('key');
    const { record, rootId } = c.get('intervention');
    const body = c.req.valid('json');
    const decision = body.decision;
    if (decision === 'takeover' && typeof body.output !== 'string') throw new WardenError('INVALID_ARGUMENT', 'A takeover needs "output": the final answer');
    const run = await deps.store.getRun(record.runId);
    const agent = run ? await deps.agents.agentFor(run).catch(() => undefined) : undefined;
    const reason = body.reason;
    const by = `${key.name} (${key.id})`;
    const decided = await deps.warden.decideEscalation(
      record.id,
      {
        decision,
        by,
        ...(reason ? { reason } : {}),
        ...(body.args !== undefined ? { args: body.args } : {}),
        ...(typeof body.output === 'string' ? { output: body.output } : {}),
      },
      agent,
    );
    await carryOn(deps, record, rootId, by);
    return c.json(decided, 200);
  });
}
