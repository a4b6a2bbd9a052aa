import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTool, type AnyTool } from '../../src/agent/tool.ts';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isWardenError } from '../../src/core/errors.ts';
import { replayRun } from '../../src/observe/replay/index.ts';
import { resolveFaultProfile } from '../../src/rehearse/fault-profile.ts';
import { rehearse } from '../../src/rehearse/rehearsal.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import markerAgent, { realCalls } from '../fixtures/marker-agent.ts';
import { runCli, scriptedAgent, tempDir, testWarden } from '../helpers.ts';

const MARKER_AGENT = resolve('test/fixtures/marker-agent.ts');

/** Counts every real execute and compensate, so a test sees whether anything real ran. */
class RealCalls {
  executes = 0;
  compensations = 0;
}

function tools(real: RealCalls): AnyTool[] {
  return [
    defineTool({
      name: 'refund',
      description: 'Refund an order',
      tier: 'write',
      input: z.object({ orderId: z.string(), amount: z.number() }),
      execute: (args: { amount: number }) => {
        real.executes++;
        return { refunded: args.amount };
      },
      compensate: () => {
        real.compensations++;
        return { reversed: true };
      },
    }),
    defineTool({
      name: 'close_account',
      description: 'Close an account',
      tier: 'write',
      input: z.object({ customerId: z.string() }),
      execute: () => {
        real.executes++;
        return { closed: true };
      },
    }),
  ];
}

/** A run that refunds, is then denied a call and stops, and (saga) reverses the refund. */
async function recordSagaRun(real: RealCalls) {
  const { warden, store } = testWarden();
  const agent = scriptedAgent(
    [
      { toolCalls: [{ tool: 'refund', args: { orderId: 'o-1', amount: 40 } }] },
      { toolCalls: [{ tool: 'close_account', args: { customerId: 'c-1' } }] },
      { text: 'done' },
    ],
    tools(real),
    { compensateOnFailure: true, policy: { onDeny: 'stop', rules: [{ name: 'no-closing', tools: ['close_account'], decision: 'deny' }] } },
  );
  const result = await warden.run(agent, 'refund then close');
  assert.equal(result.status, 'stopped');
  const events = await store.loadEvents(result.runId);
  assert.ok(
    events.some((e) => e.type === 'compensation.succeeded'),
    'the recording holds a real compensation',
  );
  return { events, agent, warden, runId: result.runId };
}

describe('offline means offline', () => {
  it('replays and what-ifs a run with a compensation without calling any real execute or compensate', async () => {
    const real = new RealCalls();
    const { events, agent } = await recordSagaRun(real);
    assert.deepEqual({ ...real }, { executes: 1, compensations: 1 });
    const replay = new RealCalls();
    const replayed = await replayRun(events, {
      agent: scriptedAgent([{ text: 'unused' }], tools(replay), { compensateOnFailure: true, policy: agent.policy }),
    });
    assert.equal(replayed.identical, true);
    const whatIf = await replayRun(events, { agent: scriptedAgent([{ text: 'unused' }], tools(replay), { compensateOnFailure: true }), mode: 'what-if' });
    assert.equal(whatIf.replayed.toolCalls >= 1, true);
    assert.deepEqual({ ...replay }, { executes: 0, compensations: 0 });
  });

  it('never reaches a real tool from replay, even when its execute and compensate would throw', async () => {
    const real = new RealCalls();
    const { events, agent } = await recordSagaRun(real);
    const reached: string[] = [];
    const throwing = tools(new RealCalls()).map((t) =>
      defineTool({
        ...t,
        execute: () => {
          reached.push(`${t.name}.execute`);
          throw new Error('a real execute was called from replay');
        },
        ...(t.compensate
          ? {
              compensate: () => {
                reached.push(`${t.name}.compensate`);
                throw new Error('a real compensate was called from replay');
              },
            }
          : {}),
      }),
    );
    for (const mode of ['replay', 'what-if'] as const) {
      const report = await replayRun(events, {
        agent: scriptedAgent([{ text: 'unused' }], throwing, { compensateOnFailure: true, policy: agent.policy }),
        mode,
      });
      assert.equal(report.identical, true, JSON.stringify(report.divergence));
    }
    assert.deepEqual(reached, []);
  });

  it('replays a run a person undid without calling the compensation again', async () => {
    const real = new RealCalls();
    const { warden, store } = testWarden();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'refund', args: { orderId: 'o-1', amount: 40 } }] }, { text: 'done' }], tools(real));
    const result = await warden.run(agent, 'refund');
    await warden.undo(agent, result.runId, { by: 'ana' });
    assert.deepEqual({ ...real }, { executes: 1, compensations: 1 });
    const replay = new RealCalls();
    await replayRun(await store.loadEvents(result.runId), { agent: scriptedAgent([{ text: 'unused' }], tools(replay)) });
    await replayRun(await store.loadEvents(result.runId), { agent: scriptedAgent([{ text: 'unused' }], tools(replay)), mode: 'what-if' });
    assert.deepEqual({ ...replay }, { executes: 0, compensations: 0 });
  });
});

describe('rehearsals cannot reach a real tool', () => {
  /** Rehearses the marker agent into a kept store; returns the store file and a pending approval. */
  async function rehearseIntoFile() {
    const db = join(tempDir(), 'rehearsal.db');
    await rehearse({
      agent: markerAgent,
      agentFile: MARKER_AGENT,
      requests: 30,
      seed: 5,
      db,
      profile: { ...resolveFaultProfile('calm'), reviewer: { decides: 0.5, approves: 1 } },
    });
    const store = createSqliteStore({ path: db });
    const pending = await store.listInterventions({ kind: 'approval', status: 'pending' });
    const [first] = pending;
    assert.ok(first, 'the rehearsal left approvals waiting');
    const run = await store.getRun(first.runId);
    assert.equal(run?.mode, 'rehearsal');
    return { db, store, pending: first };
  }

  it('refuses to approve, resume or undo a rehearsal run through the library, so the real refund never runs', async () => {
    realCalls.executes = 0;
    realCalls.compensations = 0;
    const { store, pending } = await rehearseIntoFile();
    try {
      const warden = createWarden({ store });
      const refused = (e: unknown) => isWardenError(e, 'CONFLICT') && /rehearsal mode/.test((e as Error).message);
      await assert.rejects(warden.approve(pending.id, { by: 'ana' }), refused);
      await assert.rejects(warden.deny(pending.id, { by: 'ana' }), refused);
      await assert.rejects(warden.execute(markerAgent, pending.runId), refused);
      await assert.rejects(warden.resume(markerAgent, pending.runId, { force: true }), refused);
      const [ended] = await store.listRuns({ mode: 'rehearsal', status: ['completed', 'stopped', 'failed', 'cancelled'], limit: 1 });
      assert.ok(ended, 'the rehearsal ended some runs');
      await assert.rejects(warden.undo(markerAgent, ended.runId, { by: 'ana' }), refused);
      assert.deepEqual(realCalls, { executes: 0, compensations: 0 });
    } finally {
      await store.close();
    }
  });

  it('refuses `warden approvals approve` and `warden resume` on a rehearsal store with the real agent file, and nothing real runs', async () => {
    const { db, store, pending } = await rehearseIntoFile();
    await store.close();
    const marker = join(tempDir(), 'marker.txt');
    const env = { WARDEN_MARKER: marker };
    const approve = await runCli(['approvals', 'approve', pending.id, '--by', 'ana', '--db', db], env);
    assert.notEqual(approve.code, 0);
    assert.match(approve.stderr, /rehearsal mode/);
    const resume = await runCli(['resume', pending.runId, '--agent', MARKER_AGENT, '--db', db, '--force'], env);
    assert.notEqual(resume.code, 0);
    assert.match(resume.stderr, /rehearsal mode/);
    assert.equal(existsSync(marker), false, 'the real execute never ran');
  });

  it('refuses `rehearse --db` into a store that holds live runs', async () => {
    const db = join(tempDir(), 'live.db');
    const { warden, store } = testWarden(db);
    await warden.run(markerAgent, 'refund o-1');
    await store.close();
    await assert.rejects(
      rehearse({ agent: markerAgent, requests: 2, seed: 1, db }),
      (e) => isWardenError(e, 'CONFLICT') && /holds live runs/.test((e as Error).message),
    );
    const cli = await runCli(['rehearse', MARKER_AGENT, '--requests', '2', '--db', db]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /holds live runs/);
  });
});
