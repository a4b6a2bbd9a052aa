import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LanguageModelV3, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { defineAgent } from '../../src/agent/agent.ts';
import type { AnyRunEvent } from '../../src/core/events.ts';
import { foldRun } from '../../src/core/fold.ts';
import type { TextDelta } from '../../src/runtime/text-stream.ts';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../helpers.ts';

const SCRIPT = [
  { text: 'Let me look that order up.', toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }], confidence: 0.9 },
  { text: 'Order 1042 shipped on Monday and should arrive by Thursday.' },
] satisfies [unknown, unknown];

/** The log without what only timing and identity change: ids, clocks, latencies, the worker. */
function shape(events: readonly AnyRunEvent[]): unknown[] {
  return events.map((e) => {
    const data = { ...(e.data as Record<string, unknown>) };
    delete data.latencyMs;
    delete data.durationMs;
    delete data.worker;
    delete data.rootRunId;
    if (typeof data.idempotencyKey === 'string') delete data.idempotencyKey;
    return { seq: e.seq, type: e.type, data };
  });
}

function foldedShape(events: AnyRunEvent[]) {
  const s = foldRun(events);
  return { status: s.status, output: s.output, spentNano: s.spentNano, steps: s.steps, toolCalls: s.toolCalls, open: s.openReservations.size };
}

/** A v3 model whose stream sends `first`, then nothing more, ever (it ignores cancel and abort). */
function hangingStreamModel(first: string): LanguageModelV3 {
  return {
    specificationVersion: 'v3',
    provider: 'hanging',
    modelId: 'h-1',
    supportedUrls: {},
    doGenerate: () => new Promise(() => {}),
    async doStream() {
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings: [] });
          controller.enqueue({ type: 'text-start', id: 't' });
          controller.enqueue({ type: 'text-delta', id: 't', delta: first });
        },
      });
      return { stream };
    },
  };
}

describe('streaming a run', () => {
  it("folds a streamed run's log to the same state as a generated one, with the same events apart from timing", async () => {
    const { warden } = testWarden();
    const effects = new SideEffects();
    const agent = scriptedAgent(SCRIPT, supportTools(effects));
    const generated = await warden.run(agent, 'Where is order 1042?');
    const deltas: TextDelta[] = [];
    const streamed = await warden.run(agent, 'Where is order 1042?', { onText: (d) => deltas.push(d) });
    assert.equal(streamed.status, 'completed');
    assert.ok(deltas.length > 2, 'the text arrived in pieces');
    const a = await warden.events(generated.runId);
    const b = await warden.events(streamed.runId);
    assert.deepEqual(shape(b), shape(a));
    assert.deepEqual(foldedShape(b), foldedShape(a));
  });

  it('passes each delta to onText with its run, step and attempt, in order, adding up to what model.called records', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent([{ ...SCRIPT[0], error: { status: 503, times: 1 } }, SCRIPT[1]], supportTools(new SideEffects()));
    const deltas: TextDelta[] = [];
    const result = await warden.run(agent, 'Where is order 1042?', { onText: (d) => deltas.push(d) });
    assert.equal(result.status, 'completed');
    assert.ok(deltas.every((d) => d.runId === result.runId));
    for (const e of await warden.events(result.runId)) {
      if (e.type !== 'model.called') continue;
      const text = deltas
        .filter((d) => d.step === e.data.step && d.attempt === e.data.attempt)
        .map((d) => d.delta)
        .join('');
      assert.equal(text, e.data.turn.text, `step ${e.data.step} attempt ${e.data.attempt}`);
    }
    assert.deepEqual([...new Set(deltas.map((d) => `${d.step}.${d.attempt}`))], ['1.2', '2.1'], 'the failed attempt streamed nothing; the retry did');
  });

  it('yields the text from warden.stream as it streams and resolves the result', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent(SCRIPT, supportTools(new SideEffects()));
    const run = warden.stream(agent, 'Where is order 1042?');
    let text = '';
    for await (const piece of run.textStream) text += piece;
    const result = await run.result;
    assert.equal(result.runId, run.runId);
    assert.equal(result.status, 'completed');
    assert.equal(text, SCRIPT[0].text + SCRIPT[1].text);
    assert.equal(run.droppedChars, 0);
  });

  it('detaches an onText that throws: the run completes with the same log as if nobody listened', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent(SCRIPT, supportTools(new SideEffects()));
    const generated = await warden.run(agent, 'Where is order 1042?');
    let calls = 0;
    const result = await warden.run(agent, 'Where is order 1042?', {
      onText: () => {
        calls++;
        throw new Error('the consumer broke');
      },
    });
    assert.equal(result.status, 'completed');
    assert.equal(calls, 1, 'called once, then detached');
    assert.deepEqual(shape(await warden.events(result.runId)), shape(await warden.events(generated.runId)));
  });

  it('never waits for a reader that does not read: deltas past maxBufferedChars are dropped and counted', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent(SCRIPT, supportTools(new SideEffects()));
    const run = warden.stream(agent, 'Where is order 1042?', { maxBufferedChars: 10 });
    const result = await run.result; // nothing has read textStream
    assert.equal(result.status, 'completed');
    const total = SCRIPT[0].text.length + SCRIPT[1].text.length;
    let read = '';
    for await (const piece of run.textStream) read += piece;
    assert.ok(read.length <= 10, `at most the buffer was kept, got ${read.length}`);
    assert.equal(read.length + run.droppedChars, total, 'every character was either delivered or counted as dropped');
    assert.ok(run.droppedChars > 0);
  });

  it('lets an honest answer stream past maxOutputTokens bytes once more is reserved, and completes it as a plain call would', async () => {
    const { warden, store } = testWarden();
    const long = 'Order 1042 left the warehouse on Monday morning and is on its way. '.repeat(12); // ~800 bytes, ~200 tokens
    const agent = scriptedAgent([{ text: long }], [], { limits: { maxOutputTokens: 256 } });
    const generated = await warden.run(agent, 'Where is order 1042?');
    let streamed = '';
    const result = await warden.run(agent, 'Where is order 1042?', { onText: ({ delta }) => (streamed += delta) });
    assert.equal(result.status, 'completed', result.stopDetail ?? '');
    assert.equal(result.output, generated.output);
    assert.equal(streamed, long);
    assert.equal(result.costUsd, generated.costUsd, 'charged what the provider reported, as the plain call');
    const events = await warden.events(result.runId);
    const topUp = events.find((e) => e.type === 'budget.reserved' && e.data.reservationId === 'm1.1+stream');
    assert.ok(topUp, 'the rest of four bytes a token was reserved before reading on');
    assert.ok(
      events.some((e) => e.type === 'budget.committed' && e.data.reservationId === 'm1.1+stream' && e.data.actualNano === 0),
      'and released',
    );
    assert.equal(events.filter((e) => e.type === 'budget.overrun').length, 0);
    assert.equal(foldRun(events).openReservations.size, 0);
    assert.equal((await store.getBudget(result.runId))!.reservedNano, 0);
  });

  for (const how of ['cancel', 'kill switch'] as const) {
    it(`ends the stream and the run on a ${how} mid-stream, with no reservation left open`, async () => {
      const { warden, store } = testWarden();
      const agent = defineAgent({
        name: 'hanger',
        instructions: 'Answer.',
        model: hangingStreamModel('Thinking about'),
        tools: [],
        limits: { maxCostUsd: 1 },
        pricing: { inputPerMTok: 1, outputPerMTok: 4 },
      });
      const run = warden.stream(agent, 'question');
      const iterator = run.textStream[Symbol.asyncIterator]();
      assert.deepEqual(await iterator.next(), { done: false, value: 'Thinking about' });
      if (how === 'cancel') await warden.cancel(run.runId, { by: 'ana', reason: 'enough' });
      else await warden.stop({ agent: 'hanger' }, { by: 'ana', reason: 'kill switch' });
      assert.equal((await iterator.next()).done, true, 'the text stream ended');
      const result = await run.result;
      assert.equal(result.status, 'cancelled');
      assert.equal(foldRun(await warden.events(run.runId)).openReservations.size, 0);
      assert.equal((await store.getBudget(run.runId))!.reservedNano, 0);
    });
  }
});
