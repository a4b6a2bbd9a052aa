import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLI, runCli, tempDir } from '../helpers.ts';

const AGENT = resolve('test/fixtures/undo-agent.ts');

function undoEffects(file: string): { account: string; key: string; attempt: number; pid: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, account, key, attempt, pid] = line.split(' ');
      return { account: account ?? '', key: key ?? '', attempt: Number(attempt), pid: Number(pid) };
    });
}

describe('undo across SIGKILL', () => {
  it('resumes a killed undo where it stopped: newest first, nothing reversed twice, the in-flight one retried with its key', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.db');
    const effects = join(dir, 'effects.log');
    const run = await runCli(['run', AGENT, '--input', 'go', '--db', db, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const { runId } = JSON.parse(run.stdout);

    const child = spawn(process.execPath, [CLI, 'undo', runId, '--db', db, '--by', 'ana'], {
      env: { ...process.env, WARDEN_TEST_EFFECTS: effects, WARDEN_TEST_HANG_UNDO: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const deadline = Date.now() + 20_000;
    while (!undoEffects(effects).some((e) => e.account === 'a2')) {
      if (Date.now() > deadline) throw new Error('the undo never reached a2');
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const resumed = await runCli(['undo', runId, '--db', db, '--by', 'ana', '--json'], { WARDEN_TEST_EFFECTS: effects });
    assert.equal(resumed.code, 0, resumed.stderr);
    const report = JSON.parse(resumed.stdout);
    assert.equal(report.status, 'completed');
    assert.equal(report.reversed.length, 3);

    const seen = undoEffects(effects);
    assert.deepEqual([...new Set(seen.map((e) => e.account))], ['a3', 'a2', 'a1'], 'newest first');
    assert.equal(seen.filter((e) => e.account === 'a3').length, 1, 'a3 was reversed before the kill and not again');
    const a2 = seen.filter((e) => e.account === 'a2');
    assert.equal(a2.length, 2, 'the in-flight compensation was retried once');
    assert.equal(a2[0]?.key, a2[1]?.key, 'with the same idempotency key');
    assert.notEqual(a2[0]?.pid, a2[1]?.pid);
    assert.equal(seen.filter((e) => e.account === 'a1').length, 1);

    const again = await runCli(['undo', runId, '--db', db, '--by', 'ana', '--json'], { WARDEN_TEST_EFFECTS: effects });
    assert.equal(JSON.parse(again.stdout).status, 'completed');
    assert.equal(undoEffects(effects).length, seen.length, 'a finished undo does nothing more');
  });
});
