import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { seededRandom } from '../../src/model/seeded-random.ts';
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
    // The kill moments are drawn from a seed (set WARDEN_TEST_SEED to replay a failure): after the
    // k-th of the 5 side effects, plus up to one tool's delay, so every round kills a written run.
    const seed = Number(process.env.WARDEN_TEST_SEED ?? 20261203);
    const random = seededRandom(seed);
    for (let round = 0; round < 6; round++) {
      const dir = tempDir();
      const db = join(dir, 'w.db');
      const effects = join(dir, 'effects.log');
      // Both durabilities keep the promise against a killed process: odd rounds run with 'power'.
      const durability = round % 2 === 1 ? 'power' : 'process';
      const env = { WARDEN_TEST_EFFECTS: effects, WARDEN_TEST_DELAY_MS: '15', WARDEN_DURABILITY: durability };
      const afterEffects = 1 + Math.floor(random() * 5);
      const extraMs = Math.floor(random() * 15);
      const where = `round ${round} (seed ${seed}, durability ${durability}, killed after ${afterEffects} effects + ${extraMs} ms)`;
      const child = startRun(db, env);
      await waitFor(() => readEffects(effects).length >= afterEffects).catch((e) => assert.fail(`${where}: ${e.message}`));
      // This sleep only picks the kill moment inside the next tool's delay; the outcome must hold for any.
      await new Promise((r) => setTimeout(r, extraMs));
      child.kill('SIGKILL');
      await exited(child);
      const runId = await onlyRunId(db).catch((e) => assert.fail(`${where}: no run was written: ${e}`));

      const store = createSqliteStore({ path: db, durability });
      const before = await store.loadEvents(runId);
      const committed = new Set(before.filter((e) => e.type === 'tool.succeeded').map((e) => (e.data as { callId: string }).callId));
      const warden = createWarden({ store, sleep: async () => {} });
      process.env.WARDEN_TEST_EFFECTS = effects;
      try {
        const result = await warden.resume(agent, runId);
        assert.equal(result.status, 'completed', `${where}: ${JSON.stringify(result.stopDetail ?? result.error)}`);
      } finally {
        delete process.env.WARDEN_TEST_EFFECTS;
        await store.close();
      }
      const byKey = new Map<string, number>();
      for (const e of readEffects(effects)) byKey.set(e.key, (byKey.get(e.key) ?? 0) + 1);
      for (const callId of committed) {
        assert.equal(byKey.get(`${runId}:${callId}`), 1, `${where}: committed call ${callId} ran again`);
      }
      for (const [key, count] of byKey) assert.ok(count <= 2, `${where}: ${key} ran ${count} times`);
      assert.equal(byKey.size, 5, `${where}: every call ran`);
    }
  });
});
