import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import newsroom from '../../examples/newsroom.ts';
import supportDesk from '../../examples/support-desk.ts';
import { defineAgent, type Agent } from '../../src/agent/agent.ts';
import { defineTool, type AnyTool } from '../../src/agent/tool.ts';
import type { AnyRunEvent } from '../../src/core/events.ts';
import { applyEvent, foldRun } from '../../src/core/fold.ts';
import type { RunRecord, Store } from '../../src/core/ports/store.ts';
import { figuresLine, projectRun, type RunProjection } from '../../src/core/projection.ts';
import { simulated } from '../../src/model/simulated.ts';
import { seededRandom } from '../../src/model/seeded-random.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { projectionAttributes } from '../../src/observe/otel/run-attributes.ts';
import { replayRun } from '../../src/observe/replay/replay-run.ts';
import { rehearse } from '../../src/rehearse/rehearsal.ts';
import { summarizeRun } from '../../src/rehearse/run-summary.ts';
import { createWarden, type Warden } from '../../src/runtime/warden.ts';
import { createApiKey } from '../../src/server/api-keys.ts';
import { createServerApp } from '../../src/server/app.ts';
import { WORKERS_EXECUTE } from '../../src/server/executor.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli, tempDir } from '../helpers.ts';

/**
 * Every view of a run reports the same figures as its projection (`core/projection.ts`): the
 * store's row (what `warden runs list --json` prints), the run's summary (`runs show --json`,
 * `warden run --json`), the API, the rehearsal summary, replay's outcome, the metrics' increments
 * and the OpenTelemetry run attributes. Runs come from seeded rehearsals (plans, delegation,
 * escalations, retries under a fault storm) and from generated scripts (shadow mode, undo,
 * approvals and escalations decided either way, model and tool failures, rejected calls).
 */

type Json = Record<string, unknown>;

async function counterSum(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((n, v) => n + v.value, 0);
}

/** The metrics' increments over one run's log, fed one event per batch as a live run commits them. */
async function metricsOf(events: readonly AnyRunEvent[]) {
  const metrics = createMetrics();
  const [first, ...rest] = events;
  const state = foldRun([first!]);
  metrics.observe({ runId: state.runId, events: [first!], state });
  for (const e of rest) {
    applyEvent(state, e);
    metrics.observe({ runId: state.runId, events: [e], state });
  }
  const sum = (name: string, labels?: Record<string, string>) => counterSum(metrics, name, labels);
  return {
    steps: await sum('warden_steps_total'),
    modelOk: await sum('warden_model_calls_total', { outcome: 'ok' }),
    modelAll: await sum('warden_model_calls_total'),
    toolChecks: await sum('warden_tool_calls_total'),
    toolRejected: await sum('warden_tool_calls_total', { decision: 'rejected' }),
    executions: await sum('warden_tool_executions_total'),
    approvalsDecided: await sum('warden_approvals_decided_total'),
    escalations: await sum('warden_escalations_total'),
    modelRetries: await sum('warden_retries_total', { kind: 'model' }),
    toolRetries: await sum('warden_retries_total', { kind: 'tool' }),
    overruns: await sum('warden_budget_overruns_total'),
    parked: await sum('warden_runs_parked_total'),
    ended: await sum('warden_runs_total'),
  };
}

function sumOf(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

/** The figures a view must agree on, compared one by one so a failure names the figure. */
async function assertViewsAgree(v: {
  events: AnyRunEvent[];
  row: RunRecord;
  warden: Warden;
  agent: Agent;
  api?: (runId: string) => Promise<Json>;
}): Promise<RunProjection> {
  const { events, row } = v;
  const p = projectRun(events);
  const where = `run ${p.runId}`;
  // The projection is consistent with itself.
  assert.equal(sumOf(p.toolCalls.byStatus), p.toolCalls.proposed, `${where}: byStatus sums to proposed`);
  assert.equal(sumOf(p.toolCalls.ranByTier), p.toolCalls.ran, `${where}: ranByTier sums to ran`);
  assert.equal(p.modelCalls.answered, p.steps, `${where}: one answer per step`);
  assert.equal(p.retries.total, p.retries.model + p.retries.tool + p.retries.rejected, `${where}: retries add up`);
  assert.equal(
    p.assessments.belowThreshold,
    p.escalations.byReason.low_confidence ?? 0,
    `${where}: every score below the threshold is a low_confidence escalation`,
  );

  // The store's row: `warden runs list` and `--json`.
  assert.equal(row.steps, p.steps, `${where}: runs list steps`);
  assert.equal(row.toolCalls, p.toolCalls.ran, `${where}: runs list toolCalls`);
  assert.equal(row.undo, p.undo.phase, `${where}: runs list undo`);
  assert.equal(row.mode, p.mode, `${where}: runs list mode`);
  assert.equal(row.status, p.status, `${where}: runs list status`);
  assert.equal(row.costNano, p.costNano, `${where}: runs list cost`);

  // `warden runs show --json`, `warden run --json`.
  const result = await v.warden.inspect(p.runId);
  assert.deepEqual(result.summary, p, `${where}: runs show summary`);
  assert.equal(result.steps, p.steps);
  assert.equal(result.retries, p.retries.total, `${where}: runs show retries`);
  assert.equal(result.toolCalls.filter((c) => c.tool !== 'submit_plan').length, p.toolCalls.proposed, `${where}: runs show calls`);

  // The API (and so the dashboard, which renders what it gives).
  if (v.api) {
    const json = await v.api(p.runId);
    assert.deepEqual(json.summary, JSON.parse(JSON.stringify(p)), `${where}: API summary`);
    assert.equal(json.figures, figuresLine(p), `${where}: API figures`);
  }

  // The rehearsal summary.
  const r = summarizeRun(events, v.agent);
  assert.equal(r.steps, p.steps, `${where}: rehearsal steps`);
  assert.equal(r.modelCalls, p.modelCalls.answered, `${where}: rehearsal model calls`);
  assert.deepEqual(r.toolCalls, p.toolCalls.ranByTier, `${where}: rehearsal tool calls`);
  assert.deepEqual(r.retries, { model: p.retries.model, tool: p.retries.tool }, `${where}: rehearsal retries`);
  assert.equal(r.approvalsRequested, p.approvals.requested, `${where}: rehearsal approvals`);
  assert.equal(r.approvalsApproved + r.approvalsDenied, p.approvals.approved + p.approvals.denied);
  assert.equal(r.escalations, p.escalations.total, `${where}: rehearsal escalations`);
  assert.equal(r.gateBelowThreshold, p.escalations.byReason.low_confidence ?? 0, `${where}: rehearsal low confidence`);
  assert.equal(r.plansRejected, p.plan.rejected);
  assert.equal(r.spentNano, p.costNano);

  // Metrics, counted live one committed batch at a time.
  const m = await metricsOf(events);
  assert.equal(m.steps, p.steps, `${where}: metrics steps`);
  assert.equal(m.modelOk, p.modelCalls.answered, `${where}: metrics model answers`);
  assert.equal(m.modelAll, p.modelCalls.answered + p.modelCalls.failed, `${where}: metrics model calls`);
  assert.equal(m.toolChecks, sumOf(p.decisions), `${where}: metrics tool call checks`);
  assert.equal(m.toolRejected, p.decisions.rejected, `${where}: metrics rejected calls`);
  assert.equal(m.executions, p.toolCalls.finished.succeeded + p.toolCalls.finished.failed, `${where}: metrics executions`);
  assert.equal(
    m.approvalsDecided,
    p.approvals.approved + p.approvals.denied + p.approvals.expiredDenied + p.approvals.expiredEscalated,
    `${where}: metrics approvals`,
  );
  assert.equal(m.escalations, p.escalations.total, `${where}: metrics escalations`);
  assert.equal(m.modelRetries, p.retries.model, `${where}: metrics model retries`);
  assert.equal(m.toolRetries, p.retries.tool, `${where}: metrics tool retries`);
  assert.equal(m.overruns, p.overruns, `${where}: metrics overruns`);
  assert.equal(m.parked, p.approvals.requested + p.escalations.total, `${where}: metrics parked`);
  assert.equal(m.ended, ['completed', 'failed', 'stopped', 'cancelled'].includes(p.status) ? 1 : 0, `${where}: metrics ended`);

  // OpenTelemetry: the run span's attributes.
  const attrs = projectionAttributes(p);
  assert.equal(attrs['warden.steps'], p.steps);
  assert.equal(attrs['warden.tool_calls'], row.toolCalls, `${where}: otel tool calls = runs list`);
  assert.equal(attrs['warden.retries'], result.retries);
  return p;
}

/** An in-process API over `store`, with a viewer key: GET /v1/runs/{id} as JSON. */
async function apiOver(store: Store, warden: Warden): Promise<(runId: string) => Promise<Json>> {
  const app = createServerApp({ warden, store, agents: { get: () => undefined, names: () => [] } as never, executor: WORKERS_EXECUTE });
  const { secret } = await createApiKey(store, { name: 'viewer', role: 'viewer', tenants: ['*'] });
  return async (runId) => {
    const res = await app.request(`/v1/runs/${runId}`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as Json;
  };
}

// ---- generated scripts ---------------------------------------------------------------------

function tools(): AnyTool[] {
  return [
    defineTool({
      name: 'lookup_order',
      description: 'Find an order',
      tier: 'read',
      idempotent: true,
      retries: 1,
      input: z.object({ orderId: z.string() }),
      execute: (args, ctx) => {
        if (args.orderId === 'flaky' && ctx.attempt === 1) throw new Error('flaky lookup');
        if (args.orderId === 'broken') throw new Error('broken lookup');
        return { id: args.orderId, total: 250 };
      },
    }),
    defineTool({
      name: 'refund',
      description: 'Refund an order',
      tier: 'write',
      input: z.object({ orderId: z.string(), amount: z.number().positive() }),
      approval: (args) => args.amount > 100,
      execute: (args) => ({ refunded: args.amount }),
      compensate: (args) => ({ reversed: args.orderId }),
    }),
    defineTool({
      name: 'delete_account',
      description: 'Delete an account',
      tier: 'delete',
      input: z.object({ customerId: z.string() }),
      execute: (args) => ({ deleted: args.customerId }),
    }),
  ];
}

const CALLS = [
  { tool: 'lookup_order', args: { orderId: '1' } },
  { tool: 'lookup_order', args: { orderId: 'flaky' } },
  { tool: 'lookup_order', args: { orderId: 'broken' } },
  { tool: 'refund', args: { orderId: '1', amount: 20 } },
  { tool: 'refund', args: { orderId: '2', amount: 500 } },
  { tool: 'refund', args: { orderId: '3', amount: 'lots' } },
  { tool: 'delete_account', args: { customerId: 'c-1' } },
  { tool: 'no_such_tool', args: {} },
  { tool: 'delegate_helper', args: { task: 'refund order 9' } },
  { tool: 'submit_plan', args: { steps: [{ id: 'a', tool: 'lookup_order', args: { orderId: '1' } }] } },
  { tool: 'submit_plan', args: { steps: [{ id: 'a', tool: 'no_such_tool', args: {} }] } },
] as const;

// Valid calls more often than broken ones, so runs get past their first turn.
const VALID = CALLS.filter((c) => c.tool !== 'no_such_tool' && !(c.tool === 'refund' && typeof c.args.amount !== 'number'));
const turnArb = fc.record({
  calls: fc.array(fc.oneof({ arbitrary: fc.constantFrom(...VALID), weight: 4 }, { arbitrary: fc.constantFrom(...CALLS), weight: 1 }), {
    minLength: 0,
    maxLength: 3,
  }),
  confidence: fc.constantFrom(undefined, undefined, 0.2, 0.9),
  error: fc.constantFrom(undefined, undefined, undefined, undefined, 429, 500),
});

const scenarioArb = fc.record({
  turns: fc.array(turnArb, { minLength: 1, maxLength: 4 }),
  plan: fc.boolean(),
  escalation: fc.boolean(),
  shadow: fc.boolean(),
  undo: fc.boolean(),
  decisions: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
});

interface Scenario {
  turns: { calls: readonly (typeof CALLS)[number][]; confidence: number | undefined; error: number | undefined }[];
  plan: boolean;
  escalation: boolean;
  shadow: boolean;
  undo: boolean;
  decisions: boolean[];
}

function agentFor(s: Scenario, n: number): Agent {
  const limits = { maxSteps: 8, maxToolCalls: 8, maxRetries: 8, maxWallMs: 60_000, maxCostUsd: 1 };
  const helper = defineAgent({
    name: 'helper',
    instructions: 'helps',
    model: simulated.script([{ toolCalls: [{ tool: 'refund', args: { orderId: '9', amount: 30 } }] }, { text: 'helped' }]),
    tools: tools().filter((t) => t.name === 'refund'),
    limits,
    backoff: { baseMs: 0, maxMs: 0 },
  });
  const turns = s.turns.map((t) =>
    t.calls.length
      ? {
          toolCalls: t.calls.map((c) => ({ tool: c.tool, args: c.args })),
          ...(t.confidence ? { confidence: t.confidence } : {}),
          ...(t.error ? { error: { status: t.error } } : {}),
        }
      : { text: 'done', ...(t.confidence ? { confidence: t.confidence } : {}), ...(t.error ? { error: { status: t.error } } : {}) },
  );
  return defineAgent({
    name: `gen-${n}`,
    instructions: 'generated',
    model: simulated.script([...turns, { text: 'final answer' }]),
    tools: tools(),
    delegates: [helper],
    limits,
    backoff: { baseMs: 0, maxMs: 0 },
    ...(s.plan ? { plan: { maxRejections: 2 } } : {}),
    ...(s.escalation ? { escalation: { threshold: 0.5 } } : {}),
  });
}

/** Drives a generated run to an end (or leaves it parked), deciding what waits for a person from `s.decisions`. */
async function drive(warden: Warden, agent: Agent, s: Scenario): Promise<string> {
  let result = await warden.run(agent, 'do the thing', s.shadow ? { shadow: true } : {});
  for (let i = 0; i < s.decisions.length && result.pending; i++) {
    const yes = s.decisions[i]!;
    const pending = result.pending;
    if (pending.kind === 'approval') {
      if (yes) await warden.approve(pending.id, { by: 'ana' });
      else await warden.deny(pending.id, { by: 'ana', reason: 'no' });
    } else await warden.decideEscalation(pending.id, { decision: yes ? 'approve' : 'stop', by: 'ana' }, agent);
    // A child's decision is made on the child; the parent is driven on either way.
    result = await warden.execute(agent, result.runId).catch(() => warden.inspect(result.runId));
  }
  if (s.undo && result.status === 'completed') {
    const report = await warden.undo(agent, result.runId, { by: 'ana' });
    if (report.pending?.kind === 'approval') await warden.approve(report.pending.id, { by: 'bo' }).catch(() => {});
  }
  return result.runId;
}

describe('one truth in every view', () => {
  it('every view of 1,000+ runs (rehearsals and generated scripts) reports the projection’s figures', async () => {
    let checked = 0;
    const covered = { plan: 0, delegation: 0, shadow: 0, undo: 0, escalation: 0, retry: 0, approval: 0, rejected: 0 };
    const note = (p: RunProjection) => {
      checked++;
      if (p.plan.submitted) covered.plan++;
      if (p.children) covered.delegation++;
      if (p.shadowed) covered.shadow++;
      if (p.undo.phase !== 'none') covered.undo++;
      if (p.escalations.total) covered.escalation++;
      if (p.retries.model + p.retries.tool) covered.retry++;
      if (p.approvals.requested) covered.approval++;
      if (p.decisions.rejected) covered.rejected++;
    };

    // Seeded rehearsals, kept in a file so the CLI can read them back.
    const dir = tempDir();
    for (const [agent, requests, seed] of [
      [supportDesk, 560, 7],
      [newsroom, 160, 5],
    ] as const) {
      const db = join(dir, `${agent.name}.db`);
      await rehearse({ agent, requests, seed, db, concurrency: 16 });
      const store = createSqliteStore({ path: db });
      const warden = createWarden({ store });
      const api = await apiOver(store, warden);
      const rows = await store.listRuns({ limit: 100_000 });
      for (const [i, row] of rows.entries()) {
        const p = await assertViewsAgree({ events: await store.loadEvents(row.runId), row, warden, agent, ...(i % 4 === 0 ? { api } : {}) });
        note(p);
      }
      await store.close();
      if (agent !== supportDesk) continue;
      // The CLI's own --json, once over the whole store (a process start is the slow part).
      const cli = await runCli(['runs', 'list', '--json', '--db', db, '--limit', '100000']);
      assert.equal(cli.code, 0, cli.stderr);
      const listed = JSON.parse(cli.stdout) as RunRecord[];
      assert.equal(listed.length, rows.length);
      for (const r of listed) {
        const stored = rows.find((x) => x.runId === r.runId)!;
        assert.deepEqual([r.steps, r.toolCalls, r.undo, r.mode], [stored.steps, stored.toolCalls, stored.undo, stored.mode]);
      }
    }

    // Generated scripts: shadow, undo, approvals and escalations decided both ways, failures.
    const store = createSqliteStore({ path: ':memory:' });
    const warden = createWarden({ store, sleep: async () => {}, random: seededRandom(3) });
    const api = await apiOver(store, warden);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const agent = agentFor(s, n++);
        // A Warden per run: its circuit breakers are per process, and one run's model failures must not open another's.
        const warden = createWarden({ store, sleep: async () => {}, random: seededRandom(n) });
        const runId = await drive(warden, agent, s);
        const rows = await store.listRuns({ rootRunId: (await store.getRun(runId))!.rootRunId, limit: 100 });
        for (const row of rows) {
          const events = await store.loadEvents(row.runId);
          const own = row.runId === runId ? agent : agent.delegates[0]!;
          const p = await assertViewsAgree({ events, row, warden, agent: own, ...(n % 3 === 0 ? { api } : {}) });
          note(p);
          if (row.runId === runId && n % 20 === 0) {
            // Replay: the recorded outcome is the projection; a faithful replay's figures are too.
            const report = await replayRun(events, { agent });
            assert.deepEqual(report.recorded.summary, p, `replay of ${runId}: recorded`);
            if (report.identical && p.undo.phase === 'none' && p.children === 0) {
              // A replay is a new run (its own id, log and, with retries, its own bill); its decisions match, so do these.
              const figures = (x: RunProjection) => [x.steps, x.toolCalls.ran, x.toolCalls.proposed, x.decisions, x.approvals.requested, x.escalations.total];
              assert.deepEqual(figures(report.replayed.summary), figures(p), `replay of ${runId}: replayed`);
            }
          }
        }
      }),
      { numRuns: 300, seed: 22 },
    );
    await store.close();

    assert.ok(checked >= 1000, `${checked} runs checked`);
    for (const [what, count] of Object.entries(covered)) assert.ok(count > 0, `no generated run covered ${what}`);
  });
});
