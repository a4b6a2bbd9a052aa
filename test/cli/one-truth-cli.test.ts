import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers.ts';

const UNDO_AGENT = 'test/fixtures/undo-agent.ts';

describe('one truth in the CLI', () => {
  it('counts the plan on its own line, the same in runs show, runs list and replay', async () => {
    const db = join(tempDir(), 'w.db');
    const run = await runCli(['run', 'examples/support-desk.ts', '--input', 'Refund order 2001', '--db', db, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.summary.plan.submitted, 1);
    assert.equal(result.summary.toolCalls.proposed, result.toolCalls.filter((c: { tool: string }) => c.tool !== 'submit_plan').length);
    const show = await runCli(['runs', 'show', result.runId, '--db', db]);
    const figures = /^figures {2}(.+)$/m.exec(show.stdout)?.[1];
    assert.ok(figures, show.stdout);
    assert.match(figures, /2 tool calls run \(2 proposed: 2 executed\) · plan submitted once \(not counted as a tool call\)/);
    const [row] = JSON.parse((await runCli(['runs', 'list', '--db', db, '--json'])).stdout);
    assert.equal(row.toolCalls, result.summary.toolCalls.ran);
    assert.equal(row.steps, result.summary.steps);
    const replay = await runCli(['replay', result.runId, '--db', db]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.ok(replay.stdout.includes(figures), `replay prints the same figures:\n${replay.stdout}`);
  });

  it('names undo states for what they are, and runs list shows a run was undone', async () => {
    const db = join(tempDir(), 'w.db');
    const run = await runCli(['run', UNDO_AGENT, '--input', 'credit', '--db', db, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const { runId } = JSON.parse(run.stdout);
    const dry = await runCli(['undo', runId, '--dry-run', '--db', db]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /credit\s+planned/);
    assert.doesNotMatch(dry.stdout, /pending/);
    const before = await runCli(['runs', 'list', '--db', db]);
    assert.doesNotMatch(before.stdout, /undone/);
    const undo = await runCli(['undo', runId, '--db', db, '--by', 'ana']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, /credit\s+done \(reversed\)/);
    const list = await runCli(['runs', 'list', '--db', db]);
    assert.match(list.stdout, /\[undone\]/);
    const [row] = JSON.parse((await runCli(['runs', 'list', '--db', db, '--json'])).stdout);
    assert.equal(row.undo, 'done');
    const show = await runCli(['runs', 'show', runId, '--db', db]);
    assert.match(show.stdout, /\[undone\]/);
  });

  it('marks a shadow run as such in runs list', async () => {
    const db = join(tempDir(), 'w.db');
    const run = await runCli(['run', 'examples/support-desk.ts', '--input', 'Refund order 2001', '--shadow', '--db', db, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const list = await runCli(['runs', 'list', '--db', db]);
    assert.match(list.stdout, /\[shadow\]/);
  });
});
