import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import careless from '../../examples/careless-agent.ts';
import supportDesk from '../../examples/support-desk.ts';
import fallbackDesk from '../../examples/fallback-desk.ts';
import { parseFaultProfile, resolveFaultProfile } from '../../src/rehearse/fault-profile.ts';
import { reportText } from '../../src/rehearse/report-text.ts';
import { rehearse } from '../../src/rehearse/rehearsal.ts';
import { buildReport, type RehearsalReport } from '../../src/rehearse/report.ts';
import type { AnyRunEvent } from '../../src/core/events.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { tempDir } from '../helpers.ts';

/** Delete-tier calls that started without an approval of that call and those arguments, read straight from the log. */
function unapprovedDeletes(events: readonly AnyRunEvent[]): string[] {
  const tier = new Map<string, { tier: string; argsHash: string }>();
  const approved = new Map<string, string>();
  const bad: string[] = [];
  for (const e of events) {
    if (e.type === 'policy.decided') tier.set(e.data.callId, { tier: e.data.tier, argsHash: e.data.argsHash });
    if (e.type === 'approval.decided' && e.data.decision === 'approved') approved.set(e.data.callId, e.data.argsHash);
    if (e.type === 'tool.started' && tier.get(e.data.callId)?.tier === 'delete' && approved.get(e.data.callId) !== tier.get(e.data.callId)!.argsHash) {
      bad.push(`${e.runId}/${e.data.callId}`);
    }
  }
  return bad;
}

function withoutTiming(report: RehearsalReport): Omit<RehearsalReport, 'timing'> {
  const { timing: _timing, ...rest } = report;
  return rest;
}

describe('warden rehearse on the example agent', () => {
  it('keeps every invariant over a few thousand requests: no breach, no unapproved delete, complete traces, every run ended', async () => {
    const db = join(tempDir(), 'rehearsal.db');
    const outcome = await rehearse({ agent: supportDesk, requests: 3000, seed: 11, profile: resolveFaultProfile('storm'), db });
    const report = buildReport(outcome, 50_000);

    assert.equal(report.requests, 3000);
    assert.deepEqual(report.checks, {
      everyRunEnded: true,
      noUnapprovedDestructive: true,
      completeTraces: true,
      noCeilingBreach: true,
      noOpenReservations: true,
    });
    assert.equal(report.cost.ceilingBreaches, 0);
    assert.equal(report.observability.completeShare, 1);
    // The storm really happened: every failure mode left its mark in the logs.
    assert.ok(report.stopConditions.loopsCaught > 0, 'loops caught');
    assert.ok(report.permissions.destructiveProposed > 0, 'destructive calls proposed');
    assert.ok(report.permissions.toolCallsByTier.delete > 0, 'approved deletes ran');
    assert.ok(report.permissions.rejectedProposals.unknownTool > 0 && report.permissions.rejectedProposals.invalidArgs > 0);
    assert.ok(report.coordination.modelErrors.rateLimited > 0 && report.coordination.modelErrors.serverError > 0);
    assert.ok(report.coordination.toolFailures > 0 && report.coordination.toolTimeouts > 0);
    assert.ok(report.coordination.retryBudgetRefusals > 0);
    assert.ok(report.cost.perRequestUsd.max <= report.cost.ceilingUsd);
    assert.ok(report.cost.perRequestUsd.p50 <= report.cost.perRequestUsd.p99);
    assert.equal(report.cost.projection.boundUsd, 0.05 * 50_000);

    // Checked again, independently, against the store: the report's numbers are the log's.
    const store = createSqliteStore({ path: db });
    try {
      const runs = await store.listRuns({ limit: 10_000 });
      assert.equal(runs.length, 3000);
      let deletes = 0;
      for (const run of runs) {
        const events = await store.loadEvents(run.runId);
        assert.deepEqual(unapprovedDeletes(events), [], run.runId);
        deletes += events.filter((e) => e.type === 'tool.started' && e.data.tool === 'delete_account' && e.data.attempt === 1).length;
        assert.ok(run.costNano <= 0.05e9, `${run.runId} spent ${run.costNano}`);
      }
      assert.equal(deletes, report.permissions.toolCallsByTier.delete);
    } finally {
      await store.close();
    }
  });

  it('gives the same report for the same seed, timings aside, and a different one for another seed', async () => {
    const run = async (seed: number) => buildReport(await rehearse({ agent: supportDesk, requests: 800, concurrency: 16, seed }));
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    assert.deepEqual(withoutTiming(a), withoutTiming(b));
    assert.notDeepEqual(withoutTiming(a), withoutTiming(c));
  });

  it('counts the deletes a careless agent lets run without a person, so the check can fail', async () => {
    const outcome = await rehearse({ agent: careless, requests: 400, seed: 3, profile: resolveFaultProfile('storm') });
    const report = buildReport(outcome);
    assert.ok(report.permissions.destructiveRanWithoutApproval > 0);
    assert.equal(report.checks.noUnapprovedDestructive, false);
    assert.match(report.answers.permissions, /^[1-9][\d,]* destructive calls ran without approval/);
  });

  it('stops submitting when interrupted, cuts the requests in flight after the grace, and reports only the ones that finished', async () => {
    const db = join(tempDir(), 'interrupted.db');
    const interruption = new AbortController();
    const outcome = await rehearse({
      agent: supportDesk,
      requests: 2000,
      seed: 4,
      db,
      graceMs: 0,
      signal: interruption.signal,
      onProgress: (p) => {
        if (p.done === 20) interruption.abort();
      },
    });
    assert.equal(outcome.interrupted, true);
    assert.ok(outcome.runs.length >= 20 && outcome.runs.length < 2000, `${outcome.runs.length} finished`);
    const report = buildReport(outcome);
    assert.deepEqual(report.interrupted, { finished: outcome.runs.length, interrupted: 2000 - outcome.runs.length });
    assert.equal(report.stopConditions.byStatus.interrupted, 2000 - outcome.runs.length);
    assert.ok(Object.values(report.checks).every(Boolean), JSON.stringify(report.checks));
    const store = createSqliteStore({ path: db });
    try {
      // What was cut ended with a named reason in its log; nothing was left running.
      assert.deepEqual(await store.listRuns({ status: ['queued', 'running'] }), []);
      const kept = await store.listRuns({ mode: 'rehearsal', limit: 5000 });
      assert.ok(kept.length < 2000, `${kept.length} runs started`);
    } finally {
      await store.close();
    }
  });
});

describe('warden rehearse with a primary outage', () => {
  it('sends the outage’s requests to the fallback, at its price, and reports who answered and what it cost', async () => {
    const profile = parseFaultProfile({ extends: 'none', outage: 0.25 }, 'outage.json');
    const outcome = await rehearse({ agent: fallbackDesk, requests: 200, seed: 5, profile });
    const report = buildReport(outcome);
    const m = report.models;
    assert.ok(m, 'a models section for an agent with a fallback');
    assert.deepEqual(
      { first: m.outage?.firstRequest, last: m.outage?.lastRequest, runs: m.outage?.runs },
      { first: 51, last: 100, runs: 50 },
      'a quarter of the requests, starting a quarter of the way through',
    );
    assert.equal(m.outage?.fellBack, 50, 'every run in the outage fell back');
    assert.deepEqual(Object.keys(m.fallbacksByReason), ['breaker_open'], 'no other fault was injected');
    assert.equal(m.runsFellBack, 50, 'no run outside the outage fell back');
    const [primary, fallback] = m.list;
    assert.equal(primary?.runs, 150);
    assert.equal(fallback?.runs, 50);
    assert.ok(fallback && fallback.answers >= 50);
    // The fallback is twenty times dearer: a request it answered costs more, and the ceiling still holds.
    assert.ok(m.meanCostUsd.difference !== null && m.meanCostUsd.difference > 0, JSON.stringify(m.meanCostUsd));
    assert.equal(report.checks.noCeilingBreach, true);
    assert.equal(report.cost.overruns, 0);
    assert.equal(report.coordination.retryBudgetRefusals, 0, 'falling back on an open breaker refuses no retry');
    const text = reportText(report);
    assert.match(text, /Models\n {2}primary warden\.simulated\/mini +\d+ answers in 150 runs/);
    assert.match(text, /outage of the primary +requests 51–100 \(25%\): 50 of 50 runs fell back/);
    assert.match(text, /mean cost per request +primary alone \$[\d.]+ · fell back \$[\d.]+ · difference \+\$/);
  });

  it('stops the outage’s runs with a named reason when the agent has no fallback, and says so', async () => {
    const profile = parseFaultProfile({ extends: 'none', outage: 0.1 }, 'outage.json');
    const report = buildReport(await rehearse({ agent: supportDesk, requests: 100, seed: 5, profile }));
    assert.equal(report.models?.runsFellBack, 0);
    assert.equal(report.models?.outage?.completed, 0);
    assert.equal(report.stopConditions.byStopReason.max_retries, 10);
  });

  it('draws multi-turn conversations: follow-ups after completed turns at the seeded rate, each turn seeing the earlier ones, the invariants over every turn', async () => {
    const db = join(tempDir(), 'conversations.db');
    const options = { agent: supportDesk, requests: 60, concurrency: 8, seed: 7, conversations: { followUpRate: 0.7, maxTurns: 3 } };
    const outcome = await rehearse({ ...options, db });
    const report = buildReport(outcome);
    const c = report.conversations;
    assert.ok(c, 'a conversations section');
    assert.equal(c.conversations, 60);
    assert.equal(c.turns, 60 + outcome.followUps.length);
    assert.ok(c.withFollowUps >= 20 && c.withFollowUps <= 55, `about 70% of the completed first turns get a follow-up (${c.withFollowUps})`);
    assert.ok(c.turnsPerConversation.max <= 3);
    assert.ok(Object.values(report.checks).every(Boolean), JSON.stringify(report.checks));
    for (const f of outcome.followUps) {
      assert.ok(f.turn >= 2 && f.turn <= 3);
      const previous = f.turn === 2 ? outcome.runs[f.request] : outcome.followUps.find((x) => x.request === f.request && x.turn === f.turn - 1);
      assert.equal(previous?.status, 'completed', 'a follow-up comes only after a completed turn');
    }
    // A follow-up's log says what it was told: every earlier turn of its conversation.
    const store = createSqliteStore({ path: db });
    try {
      const third = outcome.followUps.find((f) => f.turn === 3);
      assert.ok(third, 'some conversation reached its third turn');
      const history = (await store.loadEvents(third.runId)).find((e) => e.type === 'conversation.history');
      assert.ok(history, 'the third turn recorded its history');
      assert.deepEqual(
        (history.data as { turns: { turn: number }[] }).turns.map((t) => t.turn),
        [1, 2],
      );
      const conversation = await store.getConversation(`conv_rh7_${third.request}`);
      assert.equal(conversation?.turns, 3);
    } finally {
      await store.close();
    }
    // The same seed draws the same conversations (one request at a time: with several in flight,
    // which run waits on an entity lock another holds follows the interleaving, and a wait can
    // change how a turn ends and so whether it gets a follow-up).
    const one = { ...options, concurrency: 1 };
    const [a, b] = [await rehearse(one), await rehearse(one)];
    assert.ok(a.followUps.length > 0);
    assert.deepEqual(
      b.followUps.map((f) => [f.request, f.turn, f.status]),
      a.followUps.map((f) => [f.request, f.turn, f.status]),
    );
  });

  it('refuses a follow-up rate outside 0–1 and fewer than two turns', async () => {
    await assert.rejects(rehearse({ agent: supportDesk, requests: 1, conversations: { followUpRate: 1.5, maxTurns: 3 } }), /followUpRate/);
    await assert.rejects(rehearse({ agent: supportDesk, requests: 1, conversations: { followUpRate: 0.5, maxTurns: 1 } }), /maxTurns/);
  });
});
