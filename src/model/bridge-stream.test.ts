import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LanguageModelV3, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { callModel, ModelCallError } from './bridge.ts';
import { streamModel } from './bridge-stream.ts';
import type { ModelRequest } from '../core/ports/model.ts';
import { simulated } from './simulated.ts';

const REQUEST: ModelRequest = {
  system: 'Be brief.',
  messages: [{ role: 'user', text: 'Where is order 1042?' }],
  tools: [{ name: 'lookup_order', description: 'Find an order', inputSchema: { type: 'object' } }],
  maxOutputTokens: 1024,
};

function partsModel(parts: LanguageModelV3StreamPart[]): LanguageModelV3 {
  return {
    specificationVersion: 'v3',
    provider: 'parts',
    modelId: 'p-1',
    supportedUrls: {},
    doGenerate: async () => {
      throw new Error('streams only');
    },
    doStream: async () => ({
      stream: new ReadableStream({
        start(c) {
          for (const p of parts) c.enqueue(p);
          c.close();
        },
      }),
    }),
  };
}

describe('streamModel', () => {
  it('ends in the same turn callModel gives for the same response: text, tool calls, usage, finish reason, confidence', async () => {
    const model = simulated.script([
      {
        text: 'Let me check that order for you.',
        toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }],
        confidence: 0.8,
        rationale: 'need the order',
        usage: { inputTokens: 40, outputTokens: 12 },
      },
    ]);
    const deltas: string[] = [];
    const { turn, cut } = await streamModel(model, REQUEST, (d) => deltas.push(d));
    assert.deepEqual(turn, await callModel(model, REQUEST));
    assert.equal(cut, undefined);
    assert.ok(deltas.length > 1, 'word by word');
    assert.equal(deltas.join(''), turn.text);
  });

  it('ignores an onText that throws: the turn is whole', async () => {
    const model = simulated.script([{ text: 'All good here.' }]);
    const { turn } = await streamModel(model, REQUEST, () => {
      throw new Error('broken listener');
    });
    assert.equal(turn.text, 'All good here.');
  });

  it('throws a retryable ModelCallError for a stream that ends with no finish part, and the classified error for an error part', async () => {
    const unfinished = partsModel([
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'half' },
    ]);
    await assert.rejects(
      streamModel(unfinished, REQUEST, () => {}),
      (e: unknown) => e instanceof ModelCallError && e.failure.kind === 'malformed' && e.failure.retryable,
    );
    const failing = partsModel([
      { type: 'text-delta', id: 't', delta: 'x' },
      { type: 'error', error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) },
    ]);
    await assert.rejects(
      streamModel(failing, REQUEST, () => {}),
      (e: unknown) => e instanceof ModelCallError && e.failure.kind === 'network',
    );
  });

  it('cuts a stream once its output passes maxOutputTokens in bytes, with what arrived, no usage and finish reason length', async () => {
    const model = partsModel([
      { type: 'text-delta', id: 't', delta: 'é'.repeat(300) }, // 600 bytes
      { type: 'text-delta', id: 't', delta: 'more' },
      {
        type: 'finish',
        usage: { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } },
        finishReason: { unified: 'stop', raw: 'stop' },
      },
    ]);
    const { turn, cut } = await streamModel(model, { ...REQUEST, maxOutputTokens: 500 }, () => {});
    assert.deepEqual(cut, { outputBytes: 600 });
    assert.equal(turn.text, 'é'.repeat(300));
    assert.equal(turn.finishReason, 'length');
    assert.equal(turn.usageMissing, true);
  });

  it('reads on past maxOutputTokens bytes when extendOutput raises the cap, and cuts at the raised cap', async () => {
    const model = partsModel([
      { type: 'text-delta', id: 't', delta: 'a'.repeat(600) },
      { type: 'text-delta', id: 't', delta: 'b'.repeat(600) },
      { type: 'text-delta', id: 't', delta: 'c'.repeat(600) },
      {
        type: 'finish',
        usage: { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } },
        finishReason: { unified: 'stop', raw: 'stop' },
      },
    ]);
    const asked: number[] = [];
    const { turn, cut } = await streamModel(model, { ...REQUEST, maxOutputTokens: 500 }, () => {}, {
      extendOutput: async (bytes) => {
        asked.push(bytes);
        return asked.length === 1 ? 1500 : null;
      },
    });
    assert.deepEqual(asked, [600, 1800]);
    assert.deepEqual(cut, { outputBytes: 1800 });
    assert.equal(turn.text.length, 1800);
  });

  it('makes one plain call for a model with no doStream, handing its text out whole', async () => {
    const scripted = simulated.script([{ text: 'Plain answer.' }]);
    const { doStream: _unused, ...plain } = scripted;
    const deltas: string[] = [];
    const { turn } = await streamModel(plain as unknown as LanguageModelV3, REQUEST, (d) => deltas.push(d));
    assert.deepEqual(deltas, ['Plain answer.']);
    assert.equal(turn.text, 'Plain answer.');
  });
});
