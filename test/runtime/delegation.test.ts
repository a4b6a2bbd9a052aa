import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineAgent, type Agent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { simulated } from '../../src/model/simulated.ts';
import { seededRandom } from '../../src/model/seeded-random.ts';
import { INDEPENDENT_RUNS, SideEffects, supportTools, testWarden, waitFor } from '../helpers.ts';

type Turns = Parameters<typeof simulated.script>[0];

function agentOf(name: string, turns: Turns, extra: Partial<Parameters<typeof defineAgent>[0]> = {}): Agent {
  return defineAgent({
    name,
    instructions: `${name} agent`,
    model: simulated.script(turns),
    tools: [],
    limits: { maxSteps: 6, maxToolCalls: 6, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: 1 },
    backoff: { baseMs: 0, maxMs: 0 },
    ...extra,
  });
}

const delegate = (name: string, task: string) => ({ tool: `delegate_${name}`, args: { task } });

describe('sub-agents', () => {
  it('runs children in parallel as runs of their own, sharing the parent ceiling, results in call order', async () => {
    const researcher = agentOf('researcher', [{ text: 'Findings: three causes.', delayMs: 30 }]);
    const writer = agentOf('writer', [{ text: 'Draft: a short note.', delayMs: 5 }]);
    const lead = agentOf('lead', [{ toolCalls: [delegate('researcher', 'find causes'), delegate('writer', 'draft a note')] }, { text: 'All done.' }], {
      delegates: [researcher, writer],
    });
    const { warden, store } = testWarden();
    const result = await warden.run(lead, 'report on outages');
    assert.equal(result.status, 'completed');
    const events = await warden.events(result.runId);
    const spawned = events.filter((e) => e.type === 'child.spawned');
    assert.equal(spawned.length, 2);
    const outcomes = events.filter((e) => e.type === 'tool.succeeded').map((e) => e.type === 'tool.succeeded' && (e.data.result as { output: string }).output);
    assert.deepEqual(outcomes, ['Findings: three causes.', 'Draft: a short note.'], 'recorded in call order although the writer finished first');
    const tree = await store.listRuns({ rootRunId: result.runId });
    assert.equal(tree.length, 3);
    for (const child of tree.filter((r) => r.runId !== result.runId)) assert.equal(child.parentRunId, result.runId);
    const budget = await store.getBudget(result.runId);
    const total = tree.reduce((sum, r) => sum + r.costNano, 0);
    assert.equal(budget!.spentNano, total, 'one ledger for the whole tree');
  });

  it('parks the parent while a child waits for a person, and goes on once it is decided', async () => {
    const effects = new SideEffects();
    const cleaner = agentOf('cleaner', [{ toolCalls: [{ tool: 'delete_account', args: { customerId: 'c-1' } }] }, { text: 'Deleted.' }], {
      tools: supportTools(effects),
    });
    const lead = agentOf('lead', [{ toolCalls: [delegate('cleaner', 'remove c-1')] }, { text: 'Cleaner says done.' }], { delegates: [cleaner] });
    const { warden } = testWarden();
    // The cleaner can delete, so handing it work is a delete-tier call: a person approves that first.
    const handOff = await warden.run(lead, 'clean up');
    assert.equal(handOff.status, 'waiting_approval');
    assert.equal(handOff.pending?.tool, 'delegate_cleaner');
    await warden.approve(handOff.pending!.id, { by: 'ana' });
    const parked = await warden.execute(lead, handOff.runId);
    assert.equal(parked.status, 'waiting_approval');
    assert.ok(parked.pending, 'the parent shows the decision it waits for');
    assert.notEqual(parked.pending!.id, handOff.pending!.id, 'now the delete in the child waits');
    assert.equal(effects.count('delete_account'), 0);
    await warden.approve(parked.pending!.id, { by: 'ana' });
    const done = await warden.execute(lead, parked.runId);
    assert.equal(done.status, 'completed');
    assert.equal(done.output, 'Cleaner says done.');
    assert.equal(effects.count('delete_account'), 1);
  });

  it('gives a delegation tool the highest tier its delegate can reach, and says so in its description', () => {
    const effects = new SideEffects();
    const [lookup, refund] = supportTools(effects);
    const reader = agentOf('reader', [{ text: 'read' }], { tools: [lookup!] });
    const writer = agentOf('writer', [{ text: 'wrote' }], { tools: [lookup!, refund!] });
    const relay = agentOf('relay', [{ text: 'relayed' }], { delegates: [writer] });
    const lead = agentOf('lead', [{ text: 'x' }], { delegates: [reader, writer, relay] });
    const tool = (name: string) => lead.toolsByName.get(name)!;
    assert.equal(tool('delegate_reader').tier, 'read');
    assert.match(tool('delegate_reader').description, /only reads data/);
    assert.equal(tool('delegate_writer').tier, 'write');
    assert.match(tool('delegate_writer').description, /may change data/);
    assert.doesNotMatch(tool('delegate_writer').description, /only reads/);
    assert.equal(tool('delegate_relay').tier, 'write', 'through a delegate of a delegate');
  });

  it('asks a person before handing work to a delegate that writes, when the policy asks that of writes', async () => {
    const effects = new SideEffects();
    const [, refund] = supportTools(effects);
    const writer = agentOf('writer', [{ toolCalls: [{ tool: 'refund', args: { orderId: '7', amount: 5 } }] }, { text: 'Refunded.' }], { tools: [refund!] });
    const policy = { rules: [{ name: 'writes-need-a-person', tiers: ['write' as const], decision: 'approve' as const }] };
    const lead = agentOf('lead', [{ toolCalls: [delegate('writer', 'refund order 7')] }, { text: 'Done.' }], { delegates: [writer], policy });
    const { warden } = testWarden();
    const parked = await warden.run(lead, 'refund 7');
    assert.equal(parked.status, 'waiting_approval', 'the hand-off waits like any write');
    assert.equal(parked.pending?.tool, 'delegate_writer');
    assert.equal(parked.toolCalls[0]?.tier, 'write');
    assert.equal(parked.toolCalls[0]?.rule, 'rule:writes-need-a-person');
    assert.equal(effects.count('refund'), 0, 'nothing ran before the person decided');
    const events = await warden.events(parked.runId);
    assert.equal(
      events.some((e) => e.type === 'child.spawned'),
      false,
      'no child run started',
    );
    await warden.deny(parked.pending!.id, { by: 'ana', reason: 'not today' });
    const done = await warden.execute(lead, parked.runId);
    assert.equal(done.toolCalls[0]?.status, 'denied');
    assert.equal(effects.count('refund'), 0);
  });

  it('still runs a write-capable delegate in shadow mode as a child run (its own writes are shadowed) ', async () => {
    const effects = new SideEffects();
    const [, refund] = supportTools(effects);
    const writer = agentOf('writer', [{ toolCalls: [{ tool: 'refund', args: { orderId: '7', amount: 5 } }] }, { text: 'Refunded.' }], { tools: [refund!] });
    const lead = agentOf('lead', [{ toolCalls: [delegate('writer', 'refund order 7')] }, { text: 'Done.' }], { delegates: [writer] });
    const { warden } = testWarden();
    const result = await warden.run(lead, 'refund 7', { shadow: true });
    assert.equal(result.status, 'completed');
    assert.equal(result.toolCalls[0]?.status, 'executed', 'the hand-off itself ran: a child run, not a stand-in');
    assert.equal(effects.count('refund'), 0, "the child's write was recorded, not made");
    const events = await warden.events(result.runId);
    assert.ok(events.some((e) => e.type === 'child.spawned'));
  });

  it('reports a cycle of delegation as a deadlock, naming the cycle', async () => {
    let b: Agent;
    const a = agentOf('alpha', [{ toolCalls: [delegate('beta', 'ask beta')] }, { text: 'a done' }], { delegates: () => [b] });
    b = agentOf('beta', [{ toolCalls: [delegate('alpha', 'ask alpha')] }, { text: 'b done' }], { delegates: () => [a] });
    const { warden } = testWarden();
    const result = await warden.run(a, 'go');
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'deadlock');
    assert.match(result.stopDetail ?? '', /alpha .*→ beta .*→ alpha/);
  });

  it('stops at the delegation depth and total children limits', async () => {
    const leaf = agentOf('leaf', [{ text: 'leaf' }]);
    const mid = agentOf('mid', [{ toolCalls: [delegate('leaf', 'x')] }, { text: 'mid' }], { delegates: [leaf] });
    const top = agentOf('top', [{ toolCalls: [delegate('mid', 'x')] }, { text: 'top' }], { delegates: [mid], delegation: { maxDepth: 1 } });
    const { warden } = testWarden();
    const deep = await warden.run(top, 'go');
    assert.equal(deep.status, 'completed', 'the limit applies to the agent that delegates: mid may go one level down');
    const shallowMid = agentOf('mid2', [{ toolCalls: [delegate('leaf', 'x')] }, { text: 'mid' }], { delegates: [leaf], delegation: { maxDepth: 1 } });
    const top2 = agentOf('top2', [{ toolCalls: [delegate('mid2', 'x')] }, { text: 'top' }], { delegates: [shallowMid] });
    const stopped = await warden.run(top2, 'go');
    const [child] = stopped.toolCalls;
    assert.ok(child);
    assert.equal(child.status, 'failed');
    assert.match(child.error?.message ?? '', /max_depth/);

    const many = agentOf('many', [{ toolCalls: [delegate('leaf', '1'), delegate('leaf', '2'), delegate('leaf', '3')] }, { text: 'x' }], {
      delegates: [leaf],
      delegation: { maxChildren: 2 },
    });
    const capped = await warden.run(many, 'go');
    assert.equal(capped.stopReason, 'max_children');
  });

  it('cancels every descendant when the parent is cancelled', async () => {
    const cleaner = agentOf('cleaner', [{ toolCalls: [{ tool: 'delete_account', args: { customerId: 'c-1' } }] }, { text: 'x' }], {
      tools: supportTools(new SideEffects()),
    });
    const lead = agentOf('lead', [{ toolCalls: [delegate('cleaner', 'remove')] }, { text: 'x' }], { delegates: [cleaner] });
    const { warden, store } = testWarden();
    const parked = await warden.run(lead, 'go');
    await warden.cancel(parked.runId, { by: 'ops' });
    const tree = await store.listRuns({ rootRunId: parked.runId });
    assert.ok(
      tree.every((r) => r.status === 'cancelled'),
      JSON.stringify(tree.map((r) => r.status)),
    );
    const pending = await store.listInterventions({ status: 'pending' });
    assert.equal(pending.length, 0, 'no approval is left waiting for a cancelled run');
  });

  it('never lets a tree of runs with parallel children spend more than the shared ceiling (200 random trees)', async () => {
    const random = seededRandom(20261124);
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    const outcomes = new Map<string, number>();
    for (let n = 0; n < 200; n++) {
      const ceiling = 0.002 + random() * 0.03;
      const heavy = () => ({ usage: { inputTokens: 100 + Math.floor(random() * 4000), outputTokens: 50 + Math.floor(random() * 3000) } });
      const failing = () => (random() < 0.3 ? { error: { status: 503, times: 1 + Math.floor(random() * 2) } } : {});
      const leaf = (i: number) => agentOf(`leaf${i}`, [{ text: `leaf ${i}`, ...heavy(), ...failing() }], { limits: { maxCostUsd: 1, maxOutputTokens: 4000 } });
      const leaves = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => leaf(i));
      const midCount = 1 + Math.floor(random() * 3);
      const mids = Array.from({ length: midCount }, (_, m) =>
        agentOf(
          `mid${m}`,
          [
            { toolCalls: leaves.map((l) => delegate(l.name, 'dig')), ...heavy() },
            { text: 'mid done', ...heavy() },
          ],
          { delegates: leaves, limits: { maxCostUsd: 1, maxOutputTokens: 4000 } },
        ),
      );
      const root = agentOf(
        'root',
        [
          { toolCalls: mids.map((m) => delegate(m.name, 'split')), ...heavy() },
          { text: 'root done', ...heavy() },
        ],
        {
          delegates: mids,
          parallelToolCalls: 4,
          limits: { maxCostUsd: ceiling, maxOutputTokens: 4000, maxSteps: 6, maxToolCalls: 8, maxRetries: 3, maxWallMs: 60_000 },
        },
      );
      const result = await warden.run(root, `tree ${n}`);
      const key = result.stopReason ?? result.status;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      const tree = await store.listRuns({ rootRunId: result.runId, limit: 1000 });
      const spent = tree.reduce((sum, r) => sum + r.costNano, 0);
      const budget = await store.getBudget(result.runId);
      assert.ok(spent <= Math.round(ceiling * 1e9), `tree ${n}: spent ${spent} > ceiling ${ceiling}`);
      assert.ok(budget!.spentNano + budget!.reservedNano <= budget!.ceilingNano, `tree ${n}: ledger over its ceiling`);
      assert.equal(budget!.reservedNano, 0, `tree ${n}: a reservation was left open`);
    }
    // The trees must really press on the ceiling, or the test proves nothing.
    assert.ok((outcomes.get('cost_ceiling') ?? 0) >= 20, JSON.stringify([...outcomes]));
    assert.ok((outcomes.get('completed') ?? 0) >= 20, JSON.stringify([...outcomes]));
  });

  it('records every call of a tree whose children re-plan while siblings spend the shared ceiling: what came before a refused reservation lands (100 random trees)', async () => {
    // A child's rejected plan and the call that proposed it are decided in memory; the next call's
    // reservation can then be refused by the store (a sibling took the room first). What came
    // before it must land anyway, or that call's cost is never recorded and its reservation stays open.
    const random = seededRandom(20261203);
    const { warden, store } = testWarden(':memory:', INDEPENDENT_RUNS);
    let refusedAfterReplan = 0;
    for (let n = 0; n < 100; n++) {
      const ceiling = 0.002 + random() * 0.02;
      const heavy = () => ({ usage: { inputTokens: 100 + Math.floor(random() * 4000), outputTokens: 50 + Math.floor(random() * 3000) } });
      const badPlan = { toolCalls: [{ tool: 'submit_plan', args: { steps: [{ id: 'x', tool: 'no_such_tool', args: {} }] } }] };
      const leaves = Array.from({ length: 2 + Math.floor(random() * 3) }, (_, i) =>
        agentOf(
          `replanner${i}`,
          [
            { ...badPlan, ...heavy() },
            { text: `leaf ${i}`, ...heavy() },
          ],
          {
            plan: { maxRejections: 2 },
            limits: { maxCostUsd: 1, maxOutputTokens: 4000, maxSteps: 6, maxToolCalls: 6, maxRetries: 3, maxWallMs: 60_000 },
          },
        ),
      );
      const root = agentOf(
        'root',
        [
          { toolCalls: leaves.map((l) => delegate(l.name, 'dig')), ...heavy() },
          { text: 'root done', ...heavy() },
        ],
        {
          delegates: leaves,
          parallelToolCalls: 4,
          limits: { maxCostUsd: ceiling, maxOutputTokens: 4000, maxSteps: 6, maxToolCalls: 8, maxRetries: 3, maxWallMs: 60_000 },
        },
      );
      const result = await warden.run(root, `tree ${n}`);
      const tree = await store.listRuns({ rootRunId: result.runId, limit: 1000 });
      const budget = await store.getBudget(result.runId);
      const recorded = tree.reduce((sum, r) => sum + r.costNano, 0);
      assert.equal(budget!.reservedNano, 0, `tree ${n}: a reservation was left open`);
      assert.equal(budget!.spentNano, recorded, `tree ${n}: the ledger and the runs disagree on what was spent`);
      for (const run of tree) {
        const events = await store.loadEvents(run.runId);
        const called = events.filter((e) => e.type === 'model.called').length;
        const committed = events.filter((e) => e.type === 'budget.committed').length;
        const reserved = events.filter((e) => e.type === 'budget.reserved').length;
        assert.equal(committed, reserved, `tree ${n}, run ${run.runId}: ${reserved} reservations, ${committed} settled`);
        if (events.some((e) => e.type === 'plan.rejected') && run.stopReason === 'cost_ceiling' && called >= 1) refusedAfterReplan++;
      }
    }
    assert.ok(refusedAfterReplan >= 5, `the trees must press on the ceiling after a re-plan (${refusedAfterReplan})`);
  });

  it('runs several calls of one turn at the same time, up to the cap', async () => {
    const live = { now: 0, max: 0 };
    const slow = defineTool({
      name: 'slow',
      description: 'Slow read',
      tier: 'read',
      input: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        live.now++;
        live.max = Math.max(live.max, live.now);
        // The first calls wait until the cap is reached, so a slow machine cannot make them run one after another.
        await waitFor(() => live.max >= 3, { message: '3 calls at once' });
        await new Promise((r) => setTimeout(r, 20)); // simulated work, so a fourth call would overlap if the cap let it
        live.now--;
        return { n };
      },
    });
    const agent = agentOf('fan', [{ toolCalls: [1, 2, 3, 4, 5].map((n) => ({ tool: 'slow', args: { n } })) }, { text: 'ok' }], {
      tools: [slow],
      parallelToolCalls: 3,
    });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'go');
    assert.equal(result.status, 'completed');
    assert.equal(live.max, 3);
    const order = (await warden.events(result.runId))
      .filter((e) => e.type === 'tool.succeeded')
      .map((e) => e.type === 'tool.succeeded' && (e.data.result as { n: number }).n);
    assert.deepEqual(order, [1, 2, 3, 4, 5]);
  });
});
