import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { CLI, type Json, runCli, tempDir, waitFor } from '../helpers.ts';

const AGENT = resolve('test/fixtures/conversation-agent.ts');

function exited(child: ChildProcess): Promise<void> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
}

describe('a conversation across SIGKILL', () => {
  it('keeps the conversation intact when a turn is killed mid-call, resumes the turn, and the next turn sees both earlier turns', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.db');
    const effects = join(dir, 'effects.log');
    const say = (input: string) => ['run', AGENT, '--input', input, '--conversation', 'chat-9', '--db', db, '--json'];

    const first = await runCli(say('Look up order 5.'));
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).output, 'Did "Look up order 5." (heard 1 message(s), answered 0 before).');

    const child = spawn(process.execPath, [CLI, ...say('Refund it.')], {
      env: { ...process.env, WARDEN_TEST_HANG: '1', WARDEN_TEST_EFFECTS: effects },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitFor(() => existsSync(effects) && readFileSync(effects, 'utf8').includes('work'), {
      timeoutMs: 30_000,
      message: 'the second turn to start its call',
    });
    child.kill('SIGKILL');
    await exited(child);

    const store = createSqliteStore({ path: db });
    const conversation = await store.getConversation('chat-9');
    const turns = (await store.listRuns({ conversationId: 'chat-9' })).sort((a, b) => (a.turn ?? 0) - (b.turn ?? 0));
    await store.close();
    assert.equal(conversation?.turns, 2);
    assert.deepEqual(
      turns.map((t) => [t.turn, t.status]),
      [
        [1, 'completed'],
        [2, 'running'],
      ],
    );
    assert.ok((conversation?.spentNano ?? 0) > 0, 'what the turns spent before the kill is in the conversation');

    // A third message while the second turn is orphaned waits behind it.
    const third = await runCli(say('Thanks, that is all.'));
    assert.equal(JSON.parse(third.stdout).status, 'queued', third.stderr);

    const resumed = await runCli(['resume', mustBe(turns[1]?.runId), '--db', db, '--json'], { WARDEN_TEST_EFFECTS: effects });
    assert.equal(resumed.code, 0, resumed.stderr);
    const second: Json = JSON.parse(resumed.stdout);
    assert.equal(second.output, 'Did "Refund it." (heard 2 message(s), answered 1 before).');
    const keys = readFileSync(effects, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1]);
    assert.equal(keys.length, 2, 'the in-flight call ran once more');
    assert.equal(keys[0], keys[1], 'with the same idempotency key');

    const thirdRunId = JSON.parse(third.stdout).runId as string;
    const finished = await runCli(['resume', thirdRunId, '--db', db, '--json']);
    assert.equal(finished.code, 0, finished.stderr);
    assert.equal(JSON.parse(finished.stdout).output, 'Did "Thanks, that is all." (heard 3 message(s), answered 2 before).');

    const shown = await runCli(['conversations', 'show', 'chat-9', '--db', db, '--json']);
    const view: Json = JSON.parse(shown.stdout);
    assert.equal(view.turns.length, 3);
    assert.deepEqual(
      view.turns.map((t: Json) => t.status),
      ['completed', 'completed', 'completed'],
    );
    assert.equal(view.reservedNano, 0, 'every reservation was settled in the conversation');
    const spent = view.turns.reduce((sum: number, t: Json) => sum + t.costNano, 0);
    assert.equal(view.spentNano, spent, "the conversation's spend is its turns' spend, the killed call's charge included");

    const exported = await runCli(['conversations', 'export', 'chat-9', '--db', db]);
    const doc: Json = JSON.parse(exported.stdout);
    assert.equal(doc.format, 'warden.conversation-export');
    assert.deepEqual(
      doc.turns.map((t: Json) => t.run.turn),
      [1, 2, 3],
    );
    const listed = await runCli(['conversations', 'list', '--db', db]);
    assert.match(listed.stdout, /chat-9 .* conversation-crash .* open +3 turns/);
  });
});

function mustBe(id: string | undefined): string {
  assert.ok(id);
  return id;
}
