import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { createWarden } from '../../src/runtime/warden.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import agent from '../fixtures/crash-agent.ts';
import { CLI, tempDir } from '../helpers.ts';
import { dropSchema, uniqueSchema, urlWithSchema } from '../store/pg-schema.ts';

const AGENT_FILE = resolve('test/fixtures/crash-agent.ts');
const RUNS = 150;
const schema = uniqueSchema('restart');
after(() => dropSchema(schema));

/**
 * A loopback TCP proxy in front of the shared PostgreSQL. "Restarting" it drops every connection
 * and refuses new ones for a while, which is what workers see when the database restarts, without
 * restarting the server other test files share.
 */
class FlakyProxy {
  #server: Server | null = null;
  #sockets = new Set<Socket>();
  port = 0;

  async listen(port = 0): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = connect(5432, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.#server!.listen(port, '127.0.0.1', () => r()));
    this.port = (this.#server.address() as { port: number }).port;
  }

  /** Drops every connection and stays down for `downMs`, then listens again on the same port. */
  async restart(downMs: number): Promise<void> {
    await new Promise<void>((r) => {
      this.#server!.close(() => r());
      for (const s of this.#sockets) s.destroy();
    });
    await new Promise((r) => setTimeout(r, downMs));
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}

async function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('workers when PostgreSQL restarts', () => {
  it('reconnect and finish every run, repeating no committed call', { timeout: 60_000 }, async () => {
    const proxy = new FlakyProxy();
    await proxy.listen();
    const direct = await createPostgresStore({ url: urlWithSchema(schema), poolSize: 2 });
    const effects = join(tempDir(), 'effects.log');
    const workers: ChildProcess[] = [];
    try {
      const warden = createWarden({ store: direct });
      for (let i = 0; i < RUNS; i++) await warden.submit(agent, `request ${i}`, { agentFile: AGENT_FILE });
      const viaProxy = `postgres://postgres@127.0.0.1:${proxy.port}/test?schema=${schema}`;
      for (let i = 0; i < 2; i++) {
        workers.push(
          spawn(process.execPath, [CLI, 'worker', '--db', viaProxy, '--concurrency', '8', '--lease-ms', '2000', '--poll-ms', '200'], {
            env: { ...process.env, WARDEN_TEST_EFFECTS: effects, WARDEN_TEST_DELAY_MS: '5' },
            stdio: 'ignore',
          }),
        );
      }
      const finished = async () => (await direct.listRuns({ status: ['completed', 'failed', 'stopped', 'cancelled'], limit: RUNS * 2 })).length;
      await waitFor('a fifth of the runs finished', async () => (await finished()) >= RUNS / 5, 30_000);
      const before = await finished();
      await proxy.restart(1_500);
      await waitFor('every run finished', async () => (await finished()) === RUNS, 45_000).catch(async (e) => {
        const left = (await direct.listRuns({ limit: RUNS * 2 })).filter((r) => r.status !== 'completed');
        throw new Error(`${e.message}; not finished: ${JSON.stringify(left.slice(0, 5).map((r) => [r.status, r.leaseOwner, r.error]))}`);
      });
      assert.ok(before < RUNS, 'the restart happened while runs were still going');
      for (const w of workers) assert.equal(w.exitCode, null, 'the workers survived the outage');

      const runs = await direct.listRuns({ limit: RUNS * 2 });
      assert.ok(
        runs.every((r) => r.status === 'completed'),
        JSON.stringify(runs.filter((r) => r.status !== 'completed').map((r) => [r.runId, r.status, r.error])),
      );
      const { readFileSync } = await import('node:fs');
      const lines = readFileSync(effects, 'utf8').split('\n').filter(Boolean);
      const attempts = lines.map((l) => l.split(' ').slice(1, 3).join(' '));
      assert.equal(new Set(attempts).size, attempts.length, 'no attempt of any call ran twice');
    } finally {
      for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
      await proxy.close();
      await direct.close();
    }
  });
});
