import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers.ts';

const EXAMPLE = 'examples/support-desk.ts';

describe('the warden CLI contract', () => {
  it('runs the example, parks on the refund, and finishes after a person approves it', async () => {
    const db = join(tempDir(), 'w.db');
    const run = await runCli(['run', EXAMPLE, '--input', 'Refund order 1042, it arrived broken', '--db', db, '--json']);
    assert.equal(run.code, 4, run.stderr);
    const parked = JSON.parse(run.stdout);
    for (const field of ['runId', 'status', 'stopReason', 'costUsd', 'ceilingUsd', 'steps', 'toolCalls']) assert.ok(field in parked, field);
    assert.equal(parked.status, 'waiting_approval');
    assert.equal(parked.stopReason, null);
    assert.deepEqual(
      parked.toolCalls.map((c: { tool: string; tier: string; status: string }) => [c.tool, c.tier, c.status]),
      [
        ['submit_plan', null, 'executed'],
        ['lookup_order', 'read', 'executed'],
        ['refund', 'write', 'pending_approval'],
      ],
    );

    const list = await runCli(['approvals', 'list', '--db', db, '--json']);
    assert.equal(list.code, 0);
    const [approval] = JSON.parse(list.stdout);
    assert.equal(approval.runId, parked.runId);
    assert.equal(approval.card.request, 'Refund order 1042, it arrived broken');
    assert.equal(approval.card.rule, 'tool:refund.approval');
    assert.match(approval.card.ruleReason, /^approval predicate of refund returned true for \{"orderId":"1042","amount":250/);
    assert.equal(approval.card.undoable, 'reversible');
    assert.equal(approval.card.planStep.id, 'pay');
    assert.ok(approval.card.spentUsd > 0 && approval.card.spentUsd === parked.costUsd);

    const show = await runCli(['approvals', 'show', approval.id, '--db', db]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /"amount": 250/);
    assert.match(show.stdout, /request {3}Refund order 1042, it arrived broken/);
    assert.match(show.stdout, /model {5}"Order found; refund the full amount\." \(said 85% sure\)/);
    assert.match(show.stdout, /undo {6}reversible: refund declares compensate/);
    assert.match(show.stdout, /spend {5}\$[\d.]+ of \$0\.0500 ceiling/);
    assert.match(show.stdout, /waited {4}\d+(ms|s)/);
    const missing = await runCli(['approvals', 'show', 'apr_nope', '--db', db]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No approval with id "apr_nope"/);

    const approve = await runCli(['approvals', 'approve', approval.id, '--by', 'ana', '--db', db, '--json']);
    assert.equal(approve.code, 0, approve.stderr);
    const done = JSON.parse(approve.stdout.slice(approve.stdout.indexOf('{')));
    assert.equal(done.status, 'completed');
    assert.equal(done.toolCalls[2].status, 'executed');
    assert.ok(done.costUsd > 0 && done.costUsd <= done.ceilingUsd);

    const shown = await runCli(['runs', 'show', parked.runId, '--db', db, '--json']);
    assert.equal(shown.code, 0);
    assert.equal(JSON.parse(shown.stdout).status, 'completed');
  });

  it('exits 3 with a named reason when a limit stops the run', async () => {
    const db = join(tempDir(), 'w.db');
    const run = await runCli(['run', 'test/fixtures/looping-agent.ts', '--input', 'go', '--db', db, '--json']);
    assert.equal(run.code, 3, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'loop_detected');
  });

  it('answers bad usage with exit 2 and a typed error, never a stack trace', async () => {
    const missing = await runCli(['run', 'no/such/agent.ts', '--input', 'x', '--db', join(tempDir(), 'w.db')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /INVALID_CONFIG|not found|Cannot/i);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);

    const unknownRun = await runCli(['runs', 'show', 'run_nope', '--db', join(tempDir(), 'w.db')]);
    assert.notEqual(unknownRun.code, 0);
    assert.match(unknownRun.stderr, /NOT_FOUND|not found/i);

    const noBy = await runCli(['approvals', 'approve', 'apr_x', '--db', join(tempDir(), 'w.db')]);
    assert.equal(noBy.code, 2);
  });

  it('reports a database it cannot open as a typed error', async () => {
    const dir = tempDir();
    const run = await runCli(['run', EXAMPLE, '--input', 'x', '--db', dir]); // a directory, not a database
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /STORE_UNAVAILABLE|database/i);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});
