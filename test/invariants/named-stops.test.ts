/**
 * Promise: every run ends with a named reason. A callback that throws anything, a process that
 * crashes every time it drives a run, a call that never answers, a provider that asks to wait an
 * hour or answers with garbage: each ends the run (or the call) with a typed, recorded reason, and
 * the run is never left `running` while the caller goes on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { z } from 'zod';
import fc from 'fast-check';
import { Worker, createSqliteStore, createWarden, defineAgent, defineTool, ERROR_CODES, isWardenError, simulated, type AgentCatalog } from '../../src/index.ts';
import { describeError } from '../../src/core/errors.ts';
import { PARKED_STATUSES, TERMINAL_STATUSES } from '../../src/core/events.ts';
import type { Agent } from '../../src/agent/agent.ts';
import type { RunResult } from '../../src/runtime/run-result.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, scriptedAgent, SideEffects, supportTools, tempDir } from '../helpers.ts';

function catalogOf(agent: Agent): AgentCatalog {
  return { names: [agent.name], agentFor: async () => agent };
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the exported Worker', () => {
  it('drives claimed runs to their end when no onRunEnd is given', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'lookup_order', args: { orderId: 'o-1' } }] }, { text: 'done' }], supportTools(effects));
    const store = createSqliteStore({ path: ':memory:' });
    const warden = createWarden({ store });
    const errors: unknown[] = [];
    const worker = new Worker({ store, agents: catalogOf(agent), pollMs: 20, warden: { sleep: async () => {} }, onError: (e) => errors.push(e) });
    const done = worker.start();
    try {
      const runId = await warden.submit(agent, 'where is o-1?');
      await until(async () => (await store.getRun(runId))?.status === 'completed', 5_000);
      assert.equal(effects.count('lookup_order'), 1);
      assert.deepEqual(errors, []);
    } finally {
      await worker.stop();
      await done;
      await store.close();
    }
  });
});

/** Values a callback can throw, each made fresh (a Proxy is revoked, a Symbol is new). */
const thrown: fc.Arbitrary<{ kind: string; make: () => unknown }> = fc.oneof(
  fc.string().map((m) => ({ kind: 'Error', make: () => new Error(m) })),
  fc.string().map((m) => ({ kind: 'string', make: () => m })),
  fc.double().map((n) => ({ kind: 'number', make: () => n })),
  fc.constant({ kind: 'null', make: () => null }),
  fc.constant({ kind: 'undefined', make: () => undefined }),
  fc.string().map((m) => ({ kind: 'Symbol', make: () => Symbol(m) })),
  fc.constant({
    kind: 'revoked Proxy',
    make: () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    },
  }),
  fc.constant({
    kind: 'object whose getters throw',
    make: () => ({
      get message(): string {
        throw new Error('message getter');
      },
      get code(): string {
        throw new Error('code getter');
      },
      toString(): string {
        throw new Error('toString');
      },
      toJSON(): string {
        throw new Error('toJSON');
      },
    }),
  }),
  fc.constant({
    kind: 'Error whose message getter throws',
    make: () => {
      const e = new Error('x');
      Object.defineProperty(e, 'message', {
        get() {
          throw new Error('message getter');
        },
      });
      return e;
    },
  }),
);

const PROPERTY = { seed: 13, numRuns: 12 } as const;

describe('describeError', () => {
  it('describes any thrown value in words and never throws itself', () => {
    fc.assert(
      fc.property(thrown, ({ make }) => {
        const words = describeError(make());
        assert.equal(typeof words, 'string');
      }),
      { seed: 13, numRuns: 200 },
    );
  });
});

type Hook = 'input transform' | 'lockKey' | 'costUsd' | 'approval' | 'policy rule' | 'execute' | 'model' | 'compensate';

/** One write tool and a two-turn script; the callback named by `hook` throws `make()`. */
function throwingAgent(hook: Hook, make: () => unknown, when: () => boolean = () => true) {
  const raise = (): never => {
    throw make();
  };
  const args = z.object({ id: z.string() });
  const note = defineTool({
    name: 'write_note',
    description: 'Write a note',
    tier: 'write',
    idempotent: true,
    retries: 0,
    input: hook === 'input transform' ? (args.transform((a) => (when() ? raise() : a)) as unknown as typeof args) : args,
    ...(hook === 'lockKey' ? { lockKey: () => raise() } : {}),
    ...(hook === 'costUsd' ? { costUsd: () => raise() } : {}),
    ...(hook === 'approval' ? { approval: () => raise() } : {}),
    execute: (a: { id: string }) => (hook === 'execute' ? raise() : { wrote: a.id }),
    compensate: () => (hook === 'compensate' ? raise() : null),
  });
  const throwingModel = {
    specificationVersion: 'v2' as const,
    provider: 'throwing',
    modelId: 'm',
    supportedUrls: {},
    doGenerate: async () => raise(),
    doStream: async () => raise(),
  };
  return defineAgent({
    name: 'throwing',
    instructions: 'Write the note.',
    model: hook === 'model' ? (throwingModel as never) : simulated.script([{ toolCalls: [{ tool: 'write_note', args: { id: 'n1' } }] }, { text: 'done' }]),
    pricing: { inputPerMTok: 1, outputPerMTok: 2 },
    tools: [note],
    ...(hook === 'policy rule' ? { policy: { rules: [{ name: 'explodes', when: () => raise(), decision: 'deny' as const }] } } : {}),
    limits: { maxSteps: 4, maxToolCalls: 4, maxRetries: 2, maxWallMs: 60_000, maxCostUsd: 1 },
    backoff: { baseMs: 0, maxMs: 0 },
  });
}

describe('callbacks that throw anything', () => {
  const hooks: Hook[] = ['input transform', 'lockKey', 'costUsd', 'approval', 'policy rule', 'execute', 'model'];
  for (const hook of hooks) {
    it(`ends the run with a typed reason, never left running, when ${hook} throws any value`, async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      try {
        await fc.assert(
          fc.asyncProperty(thrown, async ({ kind, make }) => {
            const store = createSqliteStore({ path: ':memory:' });
            const warden = createWarden({ store, sleep: async () => {} });
            try {
              const agent = throwingAgent(hook, make);
              const runId = await warden.submit(agent, 'go');
              try {
                const result = await warden.execute(agent, runId);
                const live = TERMINAL_STATUSES.has(result.status) || PARKED_STATUSES.has(result.status);
                assert.ok(live, `${kind}: run ended ${result.status}`);
                if (result.status === 'failed')
                  assert.ok(result.error && Object.hasOwn(ERROR_CODES, result.error.code), `${kind}: ${JSON.stringify(result.error)}`);
                if (result.status === 'stopped') assert.ok(result.stopReason, `${kind}: no stop reason`);
              } catch (e) {
                assert.ok(isWardenError(e), `${kind}: warden threw a non-Warden error: ${describeError(e)}`);
              }
              const row = await store.getRun(runId);
              assert.ok(row && row.status !== 'running' && row.status !== 'queued', `${kind}: stored status ${row?.status}`);
            } finally {
              await store.close();
            }
          }),
          PROPERTY,
        );
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(unhandled.map(describeError), []);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  }

  it('names the call it was at, and returns the failed run instead of throwing, when a callback throws past every check', async () => {
    // Vetting and the lock step catch a transform that throws (a named INVALID_TOOL_ARGS). This one
    // passes both and throws when the arguments are parsed once more to launch the call: only the
    // safety net under the session stands between it and a run left `running`.
    let parses = 0;
    const store = createSqliteStore({ path: ':memory:' });
    const warden = createWarden({ store, sleep: async () => {} });
    const result = await warden.run(
      throwingAgent(
        'input transform',
        () => 'bad transform',
        () => ++parses > 2,
      ),
      'go',
    );
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'CALLBACK_FAILED');
    assert.match(result.error?.message ?? '', /write_note .*bad transform/);
    const last = (await warden.events(result.runId)).at(-1);
    assert.equal(last?.type, 'run.failed');
    assert.equal((await store.getRun(result.runId))?.status, 'failed');
    await store.close();
  });

  it('ends an undo step whose compensate throws any value with a named reason (escalated to a person)', async () => {
    await fc.assert(
      fc.asyncProperty(thrown, async ({ kind, make }) => {
        const store = createSqliteStore({ path: ':memory:' });
        const warden = createWarden({ store, sleep: async () => {} });
        try {
          const agent = throwingAgent('compensate', make);
          const result = await warden.run(agent, 'go');
          assert.equal(result.status, 'completed', kind);
          const report = await warden.undo(agent, result.runId, { by: 'ana' });
          assert.equal(report.status, 'escalated', `${kind}: undo ${report.status}`);
          const failed = (await warden.events(result.runId)).filter((e) => e.type === 'compensation.failed');
          assert.ok(
            failed.length > 0 &&
              failed.every((e) => e.type === 'compensation.failed' && typeof e.data.error.message === 'string' && e.data.error.code.length > 0),
            kind,
          );
        } finally {
          await store.close();
        }
      }),
      PROPERTY,
    );
  });
});

type Reply = { status?: number; headers?: Record<string, string>; body: unknown };

/** A loopback server speaking the OpenAI chat-completions protocol, answering from a script. */
let server: Server;
let port = 0;
let script: Reply[] = [];
let requests = 0;

before(async () => {
  server = createServer(async (req, res) => {
    for await (const _ of req);
    requests++;
    const reply = script.shift() ?? { status: 500, body: { error: { message: 'script ran out' } } };
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const answer = (text: string): Reply => ({
  body: {
    id: 'c1',
    object: 'chat.completion',
    created: 0,
    model: 'llama-3',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  },
});

function remoteAgent(limits: Record<string, number> = {}) {
  const provider = createOpenAICompatible({ name: 'local', baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'test' });
  const noop = defineTool({ name: 'noop', description: 'Nothing', tier: 'read', input: z.object({}), execute: () => ({}) });
  return defineAgent({
    name: 'remote',
    instructions: 'Help.',
    model: provider('llama-3'),
    tools: [noop],
    pricing: { inputPerMTok: 1, outputPerMTok: 2 },
    limits: { maxSteps: 5, maxRetries: 2, maxCostUsd: 0.01, maxOutputTokens: 256, ...limits },
    backoff: { baseMs: 1, maxMs: 5 },
  });
}

describe('malformed provider responses', () => {
  const malformed: [string, Reply][] = [
    ['invalid JSON under HTTP 200', { body: '{"choices": [ not json' }],
    ['the wrong shape under HTTP 200', { body: { hello: 'world' } }],
  ];
  for (const [what, reply] of malformed) {
    it(`retries ${what} and completes when the next answer is well-formed`, async () => {
      script = [reply, answer('fine')];
      const store = createSqliteStore({ path: ':memory:' });
      const warden = createWarden({ store, sleep: async () => {} });
      const result = await warden.run(remoteAgent(), 'x');
      assert.equal(result.status, 'completed', JSON.stringify(result));
      const failed = (await warden.events(result.runId)).filter((e) => e.type === 'model.failed');
      assert.equal(failed.length, 1);
      assert.ok(failed[0]?.type === 'model.failed' && failed[0]?.data.failure.kind === 'malformed' && failed[0]?.data.willRetry);
      await store.close();
    });

    it(`stops with max_retries when every answer is ${what}`, async () => {
      script = Array.from({ length: 5 }, () => reply);
      const store = createSqliteStore({ path: ':memory:' });
      const warden = createWarden({ store, sleep: async () => {} });
      const result = await warden.run(remoteAgent({ maxRetries: 2 }), 'x');
      assert.equal(result.status, 'stopped', JSON.stringify(result));
      assert.equal(result.stopReason, 'max_retries');
      assert.equal((await store.getRun(result.runId))?.status, 'stopped');
      await store.close();
    });
  }
});

describe('Retry-After', () => {
  const cases: [string, string, Record<string, number>][] = [
    ['longer than the cap (3600 s)', '3600', {}],
    ['within the cap but past the wall-time limit', '30', { maxWallMs: 10_000 }],
  ];
  for (const [what, header, limits] of cases) {
    it(`stops the run with wall_time at once when the provider asks to wait ${what}`, async () => {
      script = [{ status: 429, headers: { 'retry-after': header }, body: { error: { message: 'slow down' } } }, answer('too late')];
      requests = 0;
      const slept: number[] = [];
      const store = createSqliteStore({ path: ':memory:' });
      const warden = createWarden({ store, sleep: async (ms) => void slept.push(ms) });
      const result = await warden.run(remoteAgent(limits), 'x');
      assert.equal(result.status, 'stopped', JSON.stringify(result));
      assert.equal(result.stopReason, 'wall_time');
      assert.match(result.stopDetail ?? '', new RegExp(`${header} s \\(Retry-After\\)`));
      assert.deepEqual(
        slept.filter((ms) => ms >= 10_000),
        [],
        'no long sleep was requested',
      );
      assert.equal(requests, 1, 'no second call');
      assert.equal((await store.getRun(result.runId))?.status, 'stopped');
      script = [];
      await store.close();
    });
  }

  it('waits for a Retry-After within the cap and the wall time, then goes on', async () => {
    script = [{ status: 429, headers: { 'retry-after': '2' }, body: { error: { message: 'slow down' } } }, answer('fine')];
    const slept: number[] = [];
    const store = createSqliteStore({ path: ':memory:' });
    const warden = createWarden({ store, sleep: async (ms) => void slept.push(ms) });
    const result = await warden.run(remoteAgent(), 'x');
    assert.equal(result.status, 'completed', JSON.stringify(result));
    assert.ok(slept.includes(2000), JSON.stringify(slept));
    await store.close();
  });
});

describe('calls that never answer, driven by the CLI', () => {
  async function storedStatus(db: string, runId: string): Promise<string | undefined> {
    const store = createSqliteStore({ path: db });
    try {
      return (await store.getRun(runId))?.status;
    } finally {
      await store.close();
    }
  }

  it('escalates a non-idempotent tool that never answers (exit 5), with the timeout recorded', async () => {
    const db = join(tempDir(), 'w.db');
    const run = await runCli(['run', 'test/fixtures/hang-agent.ts', '--input', 'go', '--db', db, '--json'], { WARDEN_TEST_HANG_WHAT: 'tool' });
    assert.equal(run.code, 5, `exit ${run.code}: ${run.stderr}`);
    const result = JSON.parse(run.stdout);
    assert.equal(result.status, 'escalated');
    assert.equal(result.pending.reason, 'unknown_outcome');
    assert.equal(await storedStatus(db, result.runId), 'escalated');
    const store = createSqliteStore({ path: db });
    const escalated = (await store.loadEvents(result.runId)).find((e) => e.type === 'escalated');
    await store.close();
    assert.match(String(escalated?.type === 'escalated' && escalated.data.evidence.detail), /did not finish within 200 ms/);
  });

  it('stops a run whose model never answers with wall_time (exit 3)', async () => {
    const db = join(tempDir(), 'w.db');
    const run = await runCli(['run', 'test/fixtures/hang-agent.ts', '--input', 'go', '--db', db, '--json'], { WARDEN_TEST_HANG_WHAT: 'model' });
    assert.equal(run.code, 3, `exit ${run.code}: ${run.stderr}`);
    const result = JSON.parse(run.stdout);
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'wall_time');
    assert.equal(await storedStatus(db, result.runId), 'stopped');
    const store = createSqliteStore({ path: db });
    const failed = (await store.loadEvents(result.runId)).filter((e) => e.type === 'model.failed');
    await store.close();
    assert.ok(failed.length > 0 && failed.every((e) => e.type === 'model.failed' && e.data.failure.kind === 'timeout'), 'the timeout is recorded');
  });
});

describe('poison runs', () => {
  it('stops a run whose every session kills its process with `crashed` after 3 crashed sessions, escalated, the tool run at most 3 times', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.db');
    const effects = join(dir, 'effects.log');
    const env = { WARDEN_TEST_EFFECTS: effects, WARDEN_TEST_CRASH: 'charge' };
    const first = await runCli(['run', 'test/fixtures/crash-agent.ts', '--input', 'go', '--db', db, '--json'], env);
    assert.equal(first.code, -1, `killed by its own tool: ${first.stderr}`);
    const store = createSqliteStore({ path: db });
    const [run] = await store.listRuns();
    assert.ok(run);
    const { runId } = run;
    await store.close();
    for (let i = 0; i < 2; i++) {
      const again = await runCli(['resume', runId, '--db', db, '--json'], env);
      assert.equal(again.code, -1, `resume ${i + 1} crashed too: ${again.stderr}`);
    }
    const last = await runCli(['resume', runId, '--db', db, '--json'], env);
    assert.equal(last.code, 3, `exit 3, stopped: ${last.stderr}`);
    const result = JSON.parse(last.stdout);
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'crashed');
    assert.match(result.stopDetail, /3 sessions/);

    const charges = readFileSync(effects, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('charge '));
    assert.equal(charges.length, 3, 'the crashing tool ran at most 3 times');

    const list = await runCli(['escalations', 'list', '--db', db, '--json']);
    const escalations = JSON.parse(list.stdout) as { runId: string; reason: string }[];
    assert.equal(escalations.filter((e) => e.runId === runId).length, 1, 'a person sees it');

    const again = await runCli(['resume', runId, '--db', db, '--json'], env);
    assert.equal(again.code, 3, 'a stopped run is not driven again');
    assert.equal(
      readFileSync(effects, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('charge ')).length,
      3,
    );
  });

  it('counts only sessions that neither ended nor parked as crashed', async () => {
    const effects = new SideEffects();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'refund', args: { orderId: 'o-1', amount: 500 } }] }, { text: 'done' }], supportTools(effects));
    const store = createSqliteStore({ path: ':memory:' });
    const warden = createWarden({ store, sleep: async () => {}, maxCrashedSessions: 1 });
    const parked = await warden.run(agent, 'refund o-1');
    assert.equal(parked.status, 'waiting_approval');
    await warden.approve(parked.pending!.id, { by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed', 'a parked session is not a crash');
    await store.close();
  });
});

export type { RunResult };
