import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import agent from '../fixtures/crash-agent.ts';
import { runCli, tempDir } from '../helpers.ts';

const CLI = resolve('bin/warden.js');
const AGENT = resolve('test/fixtures/crash-agent.ts');

interface Effect {
  tool: string;
  key: string;
  attempt: number;
  pid: number;
}

function readEffects(file: string): Effect[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [tool, key, attempt, pid] = line.split(' ');
      return { tool: tool ?? '', key: key ?? '', attempt: Number(attempt), pid: Number(pid) };
    });
}

function startRun(db: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [CLI, 'run', AGENT, '--input', 'go', '--db', db, '--json'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitFor(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the child');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
}

async function onlyRunId(db: string): Promise<string> {
  const store = createSqliteStore({ path: db });
  const [run] = await store.listRuns();
  assert.ok(run);
  await store.close();
  return run.runId;
}

describe('durability across SIGKILL', () => {
  it('`warden resume` retries an idempotent call that was in flight, with the same key, and repeats nothing committed', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.db');
    const effects = join(dir, 'effects.log');
    const child = startRun(db, { WARDEN_TEST_EFFECTS: effects, WARDEN_TEST_HANG: 'charge' });
    await waitFor(() => readEffects(effects).some((e) => e.tool === 'charge'));
    child.kill('SIGKILL');
    await exited(child);

    const runId = await onlyRunId(db);
    const resumed = await runCli(['resume', runId, '--db', db, '--json'], { WARDEN_TEST_EFFECTS: effects });
    assert.equal(resumed.code, 0, resumed.stdout);
    const result = JSON.parse(resumed.stdout);
    assert.equal(result.status, 'completed');

    const all = readEffects(effects);
    const charges = all.filter((e) => e.tool === 'charge');
    assert.equal(charges.length, 2, 'the in-flight charge ran once more');
    assert.equal(charges[0]?.key, charges[1]?.key, 'with the same idempotency key');
    const steps = all.filter((e) => e.tool === 'step');
    assert.equal(steps.length, 4, 'no committed step ran twice');
    assert.equal(new Set(steps.map((s) => s.key)).size, 4);
  });

  it('escalates a non-idempotent call whose outcome is unknown instead of running it again', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.db');
    const effects = join(dir, 'effects.log');
    const env = { WARDEN_TEST_EFFECTS: effects, WARDEN_TEST_IDEMPOTENT: '0' };
    const child = startRun(db, { ...env, WARDEN_TEST_HANG: 'charge' });
    await waitFor(() => readEffects(effects).some((e) => e.tool === 'charge'));
    child.kill('SIGKILL');
    await exited(child);

    const runId = await onlyRunId(db);
    const resumed = await runCli(['resume', runId, '--db', db, '--json'], env);
    assert.equal(resumed.code, 5, 'exit code 5: escalated');
    const result = JSON.parse(resumed.stdout);
    assert.equal(result.status, 'escalated');
    assert.equal(result.pending.kind, 'escalation');
    assert.equal(readEffects(effects).filter((e) => e.tool === 'charge').length, 1, 'not re-run blindly');

    // The person checked the card processor: the charge did not go through; run it again.
    const decided = await runCli(['escalations', 'approve', result.pending.id, '--by', 'ana', '--reason', 'not charged', '--db', db, '--json'], env);
    assert.equal(decided.code, 0, decided.stdout);
    assert.equal(readEffects(effects).filter((e) => e.tool === 'charge').length, 2);
  });

  it('loses no run and repeats no committed call when killed at random moments', async () => {
    for (let round = 0; round < 6; round++) {
      const dir = tempDir();
      const db = join(dir, 'w.db');
      const effects = join(dir, 'effects.log');
      const env = { WARDEN_TEST_EFFECTS: effects, WARDEN_TEST_DELAY_MS: '15' };
      const child = startRun(db, env);
      await waitFor(() => existsSync(db));
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 250));
      child.kill('SIGKILL');
      await exited(child);
      const runId = await onlyRunId(db).catch(() => null);
      if (runId === null) continue; // killed before the run was written: nothing to lose

      const store = createSqliteStore({ path: db });
      const before = await store.loadEvents(runId);
      const committed = new Set(before.filter((e) => e.type === 'tool.succeeded').map((e) => (e.data as { callId: string }).callId));
      const warden = createWarden({ store, sleep: async () => {} });
      process.env.WARDEN_TEST_EFFECTS = effects;
      try {
        const result = await warden.resume(agent, runId);
        assert.equal(result.status, 'completed', `round ${round}: ${JSON.stringify(result.stopDetail ?? result.error)}`);
      } finally {
        delete process.env.WARDEN_TEST_EFFECTS;
        await store.close();
      }
      const byKey = new Map<string, number>();
      for (const e of readEffects(effects)) byKey.set(e.key, (byKey.get(e.key) ?? 0) + 1);
      for (const callId of committed) {
        assert.equal(byKey.get(`${runId}:${callId}`), 1, `round ${round}: committed call ${callId} ran again`);
      }
      for (const [key, count] of byKey) assert.ok(count <= 2, `round ${round}: ${key} ran ${count} times`);
      assert.equal(byKey.size, 5, `round ${round}: every call ran`);
    }
  });
});
