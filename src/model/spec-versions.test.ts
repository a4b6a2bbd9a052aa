import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type {
  LanguageModelV2,
  LanguageModelV2StreamPart,
  LanguageModelV3,
  LanguageModelV3StreamPart,
  LanguageModelV4,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
} from '@ai-sdk/provider';
import { isWardenError } from '../core/errors.ts';
import { callModel } from './bridge.ts';
import type { ModelRequest, TokenUsage } from '../core/ports/model.ts';
import { normalizeStream, streamV3, toV3FinishReason, toV3StreamPart, toV3Usage } from './spec-versions.ts';

const request: ModelRequest = { system: 'Help.', messages: [{ role: 'user', text: 'Where is order 1042?' }], tools: [], maxOutputTokens: 256 };

function streamOf<T>(parts: T[]): ReadableStream<T> {
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) out.push(next.value);
  return out;
}

/** A v4 model (what `npm install @ai-sdk/openai` gives today) answering with `result` and `parts`. */
function fakeV4(result: Partial<LanguageModelV4GenerateResult>, parts: LanguageModelV4StreamPart[] = []): LanguageModelV4 {
  return {
    specificationVersion: 'v4',
    provider: 'fake.responses',
    modelId: 'fake-4',
    supportedUrls: {},
    doGenerate: async () => ({
      content: [],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 5, text: 5, reasoning: 0 } },
      warnings: [],
      ...result,
    }),
    doStream: async () => ({ stream: streamOf(parts) }),
  };
}

const v4Usage = (noCache: number, cacheRead: number, cacheWrite: number, output: number) => ({
  inputTokens: { total: noCache + cacheRead + cacheWrite, noCache, cacheRead, cacheWrite },
  outputTokens: { total: output, text: output, reasoning: 0 },
});

describe('AI SDK specification versions', () => {
  it('calls a v4 model and reads its text, tool calls, finish reason and cached usage', async () => {
    const model = fakeV4({
      content: [
        { type: 'custom', kind: 'anthropic.container' },
        { type: 'text', text: 'Looking it up.', citations: [] },
        { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup_order', input: '{"orderId":"1042"}' },
      ],
      finishReason: { unified: 'tool-calls', raw: 'tool_use' },
      usage: v4Usage(100, 600, 300, 40),
    });
    const turn = await callModel(model, request);
    assert.equal(turn.text, 'Looking it up.');
    assert.deepEqual(turn.toolCalls, [{ callId: 'c1', tool: 'lookup_order', args: { orderId: '1042' } }]);
    assert.equal(turn.finishReason, 'tool-calls');
    assert.deepEqual(turn.usage, { inputTokens: 1000, outputTokens: 40, cachedInputTokens: 600, cacheWriteInputTokens: 300 });
  });

  it('refuses a model of a version after v4, naming the versions it accepts', async () => {
    const future = { specificationVersion: 'v5', provider: 'future', modelId: 'm' } as unknown as LanguageModelV3;
    await assert.rejects(
      callModel(future, request),
      (e: unknown) => isWardenError(e, 'INVALID_CONFIG') && /v5/.test((e as Error).message) && /v2, v3, v4/.test((e as Error).message),
    );
  });

  it('turns v4 stream parts into v3 ones, dropping the parts v3 has no word for', () => {
    assert.equal(toV3StreamPart({ type: 'ping' }), undefined);
    assert.equal(toV3StreamPart({ type: 'custom', kind: 'anthropic.container' }), undefined);
    assert.equal(toV3StreamPart({ type: 'reasoning-file', mediaType: 'image/png', data: { type: 'data', data: 'AA==' } }), undefined);
    assert.equal(toV3StreamPart({ type: 'file', mediaType: 'image/png', data: { type: 'url', url: new URL('https://x/y.png') } }), undefined);
    assert.deepEqual(toV3StreamPart({ type: 'file', mediaType: 'image/png', data: { type: 'data', data: 'AA==' } }), {
      type: 'file',
      mediaType: 'image/png',
      data: 'AA==',
    });
    assert.deepEqual(toV3StreamPart({ type: 'text-end', id: 't', citations: [] }), { type: 'text-end', id: 't' });
    assert.deepEqual(toV3StreamPart({ type: 'tool-input-start', id: 'c', toolName: 'x', inputEncoding: 'text' }), {
      type: 'tool-input-start',
      id: 'c',
      toolName: 'x',
    });
    assert.deepEqual(toV3StreamPart({ type: 'text-delta', id: 't', delta: 'Hi' }), { type: 'text-delta', id: 't', delta: 'Hi' });
    assert.deepEqual(toV3StreamPart({ type: 'stream-start', warnings: [{ type: 'deprecated', setting: 'topK', message: 'use reasoning' }] }), {
      type: 'stream-start',
      warnings: [{ type: 'other', message: 'topK is deprecated: use reasoning' }],
    });
    const finish = toV3StreamPart({ type: 'finish', finishReason: { unified: 'interrupted', raw: undefined }, usage: v4Usage(1, 2, 3, 4) });
    assert.deepEqual(finish, { type: 'finish', finishReason: { unified: 'other', raw: undefined }, usage: v4Usage(1, 2, 3, 4) });
  });

  it('turns v2 stream parts into v3 ones: plain-number usage, Anthropic cache writes, string finish reasons, old warnings', () => {
    const finish: LanguageModelV2StreamPart = {
      type: 'finish',
      finishReason: 'tool-calls',
      usage: { inputTokens: 100, outputTokens: 20, totalTokens: 120, cachedInputTokens: 600 },
      providerMetadata: { anthropic: { cacheCreationInputTokens: 300 } },
    };
    assert.deepEqual(toV3StreamPart(finish), {
      type: 'finish',
      finishReason: { unified: 'tool-calls', raw: 'tool-calls' },
      usage: {
        inputTokens: { total: 1000, noCache: 100, cacheRead: 600, cacheWrite: 300 },
        outputTokens: { total: 20, text: undefined, reasoning: undefined },
      },
      providerMetadata: { anthropic: { cacheCreationInputTokens: 300 } },
    });
    assert.deepEqual(toV3StreamPart({ type: 'stream-start', warnings: [{ type: 'unsupported-setting', setting: 'seed' }] }), {
      type: 'stream-start',
      warnings: [{ type: 'unsupported', feature: 'seed' }],
    });
    assert.deepEqual(toV3StreamPart({ type: 'tool-result', toolCallId: 'c', toolName: 'web', result: undefined, providerExecuted: true }), {
      type: 'tool-result',
      toolCallId: 'c',
      toolName: 'web',
      result: {},
    });
    assert.deepEqual(toV3FinishReason('unknown'), { unified: 'other', raw: 'unknown' });
  });

  it('streams a v4 and a v2 model as v3 parts through streamV3', async () => {
    const v4 = fakeV4({}, [
      { type: 'stream-start', warnings: [] },
      { type: 'ping' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hello' },
      { type: 'text-end', id: 't' },
      { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: v4Usage(10, 0, 0, 2) },
    ]);
    const v2: LanguageModelV2 = {
      specificationVersion: 'v2',
      provider: 'legacy.chat',
      modelId: 'legacy-1',
      supportedUrls: {},
      doGenerate: () => {
        throw new Error('not used');
      },
      doStream: async () => ({
        stream: streamOf<LanguageModelV2StreamPart>([
          { type: 'text-delta', id: 't', delta: 'Hello' },
          { type: 'finish', finishReason: 'stop', usage: { inputTokens: 10, outputTokens: 2, totalTokens: 12 } },
        ]),
      }),
    };
    for (const model of [v4, v2]) {
      const parts: LanguageModelV3StreamPart[] = await collect((await streamV3(model, { prompt: [] })).stream);
      assert.deepEqual(
        parts.filter((p) => p.type === 'text-delta').map((p) => p.type === 'text-delta' && p.delta),
        ['Hello'],
        model.specificationVersion,
      );
      const finish = parts.find((p) => p.type === 'finish');
      assert.ok(finish?.type === 'finish');
      assert.equal(finish.usage.inputTokens.total, 10);
      assert.equal(finish.usage.outputTokens.total, 2);
      assert.deepEqual(finish.finishReason, { unified: 'stop', raw: 'stop' });
      assert.ok(!parts.some((p) => (p.type as string) === 'ping'));
    }
    assert.equal((await collect(normalizeStream(streamOf<LanguageModelV4StreamPart>([{ type: 'ping' }])))).length, 0);
  });

  it('charges the same tokens whichever version reports them (property, fixed seed)', async () => {
    const counts = fc.record({ noCache: fc.nat(50_000), cacheRead: fc.nat(50_000), cacheWrite: fc.nat(50_000), output: fc.nat(8_000) });
    await fc.assert(
      fc.asyncProperty(counts, async ({ noCache, cacheRead, cacheWrite, output }) => {
        const expected: TokenUsage = {
          inputTokens: noCache + cacheRead + cacheWrite,
          outputTokens: output,
          ...(cacheRead ? { cachedInputTokens: cacheRead } : {}),
          ...(cacheWrite ? { cacheWriteInputTokens: cacheWrite } : {}),
        };
        const v4 = fakeV4({ content: [{ type: 'text', text: 'ok' }], usage: v4Usage(noCache, cacheRead, cacheWrite, output) });
        const v3: LanguageModelV3 = { ...(v4 as unknown as LanguageModelV3), specificationVersion: 'v3' };
        // An ai@5 Anthropic provider: inputTokens leaves out cache reads and writes.
        const v2: LanguageModelV2 = {
          specificationVersion: 'v2',
          provider: 'anthropic.messages',
          modelId: 'claude',
          supportedUrls: {},
          doGenerate: async () => ({
            content: [{ type: 'text', text: 'ok' }],
            finishReason: 'stop',
            usage: { inputTokens: noCache, outputTokens: output, totalTokens: undefined, cachedInputTokens: cacheRead },
            providerMetadata: { anthropic: { cacheCreationInputTokens: cacheWrite } },
            warnings: [],
          }),
          doStream: () => {
            throw new Error('not used');
          },
        };
        for (const model of [v4, v3, v2]) assert.deepEqual((await callModel(model, request)).usage, expected, model.specificationVersion);
      }),
      { seed: 1414, numRuns: 200 },
    );
  });

  it('reads v2 usage without an Anthropic cache as total input, cached reads included', () => {
    assert.deepEqual(toV3Usage({ inputTokens: 100, outputTokens: 20, totalTokens: 120, cachedInputTokens: 60 }).inputTokens, {
      total: 100,
      noCache: 40,
      cacheRead: 60,
      cacheWrite: undefined,
    });
    assert.deepEqual(toV3Usage(undefined).inputTokens.total, undefined);
  });
});
