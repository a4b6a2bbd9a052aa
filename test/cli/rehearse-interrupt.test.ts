import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli, tempDir, waitFor } from '../helpers.ts';

const EXAMPLE = 'examples/support-desk.ts';
/** Far more than finish before the signal: the rehearsal is always interrupted part-way. */
const REQUESTS = 50_000;

/**
 * Starts `warden rehearse`, waits until its progress on stderr says a request finished, sends
 * `signal`, and collects what it printed. TMPDIR is a fresh folder, so a temporary store left
 * behind shows.
 */
async function interruptedRehearsal(signal: NodeJS.Signals, args: string[] = []) {
  const tmp = tempDir('warden-rehearse-tmp-');
  const child = spawn(process.execPath, [CLI, 'rehearse', EXAMPLE, '--requests', String(REQUESTS), ...args], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((done) => child.on('exit', (code) => done(code ?? -1)));
  await waitFor(() => /^rehearsal \d/m.test(stderr), { timeoutMs: 30_000, message: 'the first progress line' });
  child.kill(signal);
  const code = await exited;
  return { code, stdout, stderr, tmp };
}

describe('warden rehearse, interrupted', () => {
  it('on Ctrl-C reports the requests that finished, marks the rest interrupted, removes its temporary store and exits 6', { timeout: 60_000 }, async () => {
    const html = join(tempDir(), 'report.html');
    const { code, stdout, stderr, tmp } = await interruptedRehearsal('SIGINT', ['--report', html]);
    assert.equal(code, 6, stderr);
    assert.match(stderr, /SIGINT: no new requests/);
    const [, finishedText] = stdout.match(/^INTERRUPTED after ([\d,]+) of 50,000 requests: ([\d,]+) interrupted/m) ?? [];
    assert.ok(finishedText, stdout);
    const finished = Number(finishedText.replaceAll(',', ''));
    assert.ok(finished > 0 && finished < REQUESTS, `finished ${finished}`);
    assert.match(stdout, new RegExp(`runs by final status .*interrupted ${(REQUESTS - finished).toLocaleString('en-US')}`));
    assert.match(stdout, new RegExp(`Every one of ${finishedText} requests that finished ended`));
    assert.match(readFileSync(html, 'utf8'), /INTERRUPTED after [\d,]+ of 50,000 requests/);
    assert.deepEqual(readdirSync(tmp), [], 'the temporary store is removed');
  });

  it('on SIGTERM prints the partial report as JSON, counts adding up to the requests and invariants computed', { timeout: 60_000 }, async () => {
    const { code, stdout, stderr, tmp } = await interruptedRehearsal('SIGTERM', ['--json']);
    assert.equal(code, 6, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.requests, REQUESTS);
    assert.ok(report.interrupted.finished > 0);
    assert.equal(report.interrupted.finished + report.interrupted.interrupted, REQUESTS);
    assert.equal(report.stopConditions.byStatus.interrupted, report.interrupted.interrupted);
    const counted = Object.values(report.stopConditions.byStatus as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.equal(counted, REQUESTS);
    assert.deepEqual(Object.values(report.checks), [true, true, true, true, true]);
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('keeps an interrupted rehearsal in --db, and a rerun there says to use a new --db path', { timeout: 60_000 }, async () => {
    const db = join(tempDir(), 'kept.db');
    const first = await interruptedRehearsal('SIGINT', ['--db', db]);
    assert.equal(first.code, 6, first.stderr);
    assert.ok(existsSync(db));
    const rerun = await runCli(['rehearse', EXAMPLE, '--requests', '10', '--db', db]);
    assert.equal(rerun.code, 1);
    assert.match(rerun.stderr, /already holds a rehearsal with seed 1/);
    assert.match(rerun.stderr, /Pass a new --db path, remove .*kept\.db, or choose another --seed/);
  });
});
