import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  APICallError,
  type LanguageModelV2,
  type LanguageModelV2CallOptions,
  type LanguageModelV3,
  type LanguageModelV3CallOptions,
  type LanguageModelV3GenerateResult,
} from '@ai-sdk/provider';
import { isWardenError } from '../core/errors.ts';
import { callModel, ModelCallError } from './bridge.ts';
import type { ModelRequest } from '../core/ports/model.ts';
import { simulated } from './simulated.ts';

/** A v3 model that records the options it was called with and answers with `result`. */
function fakeV3(result: Partial<LanguageModelV3GenerateResult> | (() => never)) {
  const calls: LanguageModelV3CallOptions[] = [];
  const model: LanguageModelV3 = {
    specificationVersion: 'v3',
    provider: 'fake.chat',
    modelId: 'fake-1',
    supportedUrls: {},
    doGenerate: async (options) => {
      calls.push(options);
      if (typeof result === 'function') result();
      return {
        content: [],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 5, text: 5, reasoning: 0 },
        },
        warnings: [],
        ...(result as Partial<LanguageModelV3GenerateResult>),
      };
    },
    doStream: () => {
      throw new Error('not used');
    },
  };
  return { model, calls };
}

/** A minimal model on the older v2 specification (ai@5 providers). */
function fakeV2(content: Awaited<ReturnType<LanguageModelV2['doGenerate']>>['content'], usage: { inputTokens?: number; outputTokens?: number }) {
  const calls: LanguageModelV2CallOptions[] = [];
  const model: LanguageModelV2 = {
    specificationVersion: 'v2',
    provider: 'legacy.chat',
    modelId: 'legacy-1',
    supportedUrls: {},
    doGenerate: async (options) => {
      calls.push(options);
      return {
        content,
        finishReason: content.some((p) => p.type === 'tool-call') ? 'tool-calls' : 'stop',
        usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, totalTokens: undefined },
        warnings: [],
      };
    },
    doStream: () => {
      throw new Error('not used');
    },
  };
  return { model, calls };
}

const conversation: ModelRequest['messages'] = [
  { role: 'user', text: 'Refund order 1042' },
  { role: 'assistant', text: 'Looking it up.', toolCalls: [{ callId: 'c1', tool: 'lookup_order', args: { orderId: '1042' } }] },
  { role: 'tool', results: [{ callId: 'c1', tool: 'lookup_order', output: { total: 250 }, isError: false }] },
  {
    role: 'assistant',
    text: '',
    toolCalls: [
      { callId: 'c2', tool: 'refund', args: { amount: 250 } },
      { callId: 'c3', tool: 'note', args: '{"bad', parseError: 'not JSON' },
    ],
  },
  {
    role: 'tool',
    results: [
      { callId: 'c2', tool: 'refund', output: 'awaiting approval', isError: false },
      { callId: 'c3', tool: 'note', output: { code: 'INVALID_TOOL_ARGS' }, isError: true },
    ],
  },
];

function request(extra: Partial<ModelRequest> = {}): ModelRequest {
  return {
    system: 'You help customers.',
    messages: conversation,
    tools: [{ name: 'refund', description: 'Refund an order', inputSchema: { type: 'object', properties: { amount: { type: 'number' } } } }],
    maxOutputTokens: 512,
    ...extra,
  };
}

describe('callModel', () => {
  it('sends the conversation as an AI SDK prompt with function tools and the call limits', async () => {
    const { model, calls } = fakeV3({ content: [{ type: 'text', text: 'ok' }] });
    const controller = new AbortController();
    await callModel(model, request({ signal: controller.signal, seed: 7, attempt: 2 }));
    const options = calls[0];
    assert.ok(options);
    assert.deepEqual(options.prompt, [
      { role: 'system', content: 'You help customers.' },
      { role: 'user', content: [{ type: 'text', text: 'Refund order 1042' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Looking it up.' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup_order', input: { orderId: '1042' } },
        ],
      },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'lookup_order', output: { type: 'json', value: { total: 250 } } }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool-call', toolCallId: 'c2', toolName: 'refund', input: { amount: 250 } },
          { type: 'tool-call', toolCallId: 'c3', toolName: 'note', input: '{"bad' },
        ],
      },
      {
        role: 'tool',
        content: [
          { type: 'tool-result', toolCallId: 'c2', toolName: 'refund', output: { type: 'text', value: 'awaiting approval' } },
          { type: 'tool-result', toolCallId: 'c3', toolName: 'note', output: { type: 'error-text', value: '{"code":"INVALID_TOOL_ARGS"}' } },
        ],
      },
    ]);
    assert.deepEqual(options.tools, [
      { type: 'function', name: 'refund', description: 'Refund an order', inputSchema: { type: 'object', properties: { amount: { type: 'number' } } } },
    ]);
    assert.deepEqual(options.toolChoice, { type: 'auto' });
    assert.equal(options.maxOutputTokens, 512);
    assert.equal(options.abortSignal, controller.signal);
    assert.equal(options.seed, 7);
    assert.deepEqual(options.providerOptions, { warden: { attempt: 2 } });
  });

  it('sends no tools and no tool choice when the agent has no tools', async () => {
    const { model, calls } = fakeV3({ content: [{ type: 'text', text: 'ok' }] });
    await callModel(model, request({ tools: [], system: '' }));
    const [options] = calls;
    assert.ok(options);
    assert.equal(options.tools, undefined);
    assert.equal(options.toolChoice, undefined);
    assert.equal(calls[0]?.prompt[0]?.role, 'user');
  });

  it('joins text parts and parses tool arguments, keeping unparseable ones as a raw string with parseError', async () => {
    const { model } = fakeV3({
      content: [
        { type: 'text', text: 'Refunding ' },
        { type: 'text', text: 'now.' },
        { type: 'tool-call', toolCallId: 'a', toolName: 'refund', input: '{"amount":250}' },
        { type: 'tool-call', toolCallId: 'b', toolName: 'refund', input: '{"amount":' },
        { type: 'tool-call', toolCallId: 'c', toolName: 'ping', input: '' },
        { type: 'tool-call', toolCallId: 'd', toolName: 'web_search', input: '{}', providerExecuted: true },
      ],
      finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    });
    const turn = await callModel(model, request());
    assert.equal(turn.text, 'Refunding now.');
    assert.equal(turn.finishReason, 'tool-calls');
    assert.deepEqual(turn.toolCalls[0], { callId: 'a', tool: 'refund', args: { amount: 250 } });
    assert.equal(turn.toolCalls[1]?.args, '{"amount":');
    assert.match(turn.toolCalls[1]?.parseError ?? '', /not valid JSON/);
    assert.deepEqual(turn.toolCalls[2], { callId: 'c', tool: 'ping', args: {} });
    assert.equal(turn.toolCalls.length, 3, 'a provider-executed call is not proposed to the runtime');
  });

  it('surfaces a simulated malformed turn as parseError, never as a throw', async () => {
    const model = simulated.script([{ toolCalls: [{ tool: 'refund', args: { amount: 5 } }], malformed: true }]);
    const turn = await callModel(model, request({ messages: [{ role: 'user', text: 'refund' }] }));
    assert.equal(typeof turn.toolCalls[0]?.args, 'string');
    assert.ok(turn.toolCalls[0]?.parseError);
  });

  it('reports the usage the provider gave', async () => {
    const { model } = fakeV3({ content: [{ type: 'text', text: 'x' }] });
    const turn = await callModel(model, request());
    assert.deepEqual(turn.usage, { inputTokens: 10, outputTokens: 5 });
    assert.equal(turn.usageMissing, undefined);
  });

  it('flags missing usage so the runtime charges the whole reservation', async () => {
    const { model } = fakeV3({
      content: [{ type: 'text', text: 'x' }],
      usage: {
        inputTokens: { total: 12, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
        outputTokens: { total: undefined, text: undefined, reasoning: undefined },
      },
    });
    const turn = await callModel(model, request());
    assert.equal(turn.usageMissing, true);
    assert.deepEqual(turn.usage, { inputTokens: 12, outputTokens: 0 });
  });

  it('reads confidence and rationale from warden metadata, ignoring a confidence outside [0, 1]', async () => {
    const good = fakeV3({ content: [{ type: 'text', text: 'x' }], providerMetadata: { warden: { confidence: 0.4, rationale: 'unsure' } } });
    const turn = await callModel(good.model, request());
    assert.equal(turn.confidence, 0.4);
    assert.equal(turn.rationale, 'unsure');
    const bad = fakeV3({ content: [{ type: 'text', text: 'x' }], providerMetadata: { warden: { confidence: 7 } } });
    assert.equal((await callModel(bad.model, request())).confidence, undefined);
  });

  it('averages the token log-probabilities a provider returns', async () => {
    const { model } = fakeV3({
      content: [{ type: 'text', text: 'x' }],
      providerMetadata: {
        openai: {
          logprobs: [
            { token: 'a', logprob: -0.5, top_logprobs: [{ token: 'b', logprob: -9 }] },
            { token: 'c', logprob: -1.5 },
          ],
        },
      },
    });
    assert.equal((await callModel(model, request())).avgLogprob, -1);
    const none = fakeV3({ content: [{ type: 'text', text: 'x' }] });
    assert.equal((await callModel(none.model, request())).avgLogprob, undefined);
  });

  it('bridges a v2 model, with its plain-number usage and string finish reason', async () => {
    const { model, calls } = fakeV2(
      [
        { type: 'text', text: 'Calling.' },
        { type: 'tool-call', toolCallId: 't1', toolName: 'refund', input: '{"amount":3}' },
      ],
      { inputTokens: 33, outputTokens: 4 },
    );
    const turn = await callModel(model, request());
    assert.equal(calls[0]?.prompt.length, 6);
    assert.equal(turn.text, 'Calling.');
    assert.deepEqual(turn.toolCalls, [{ callId: 't1', tool: 'refund', args: { amount: 3 } }]);
    assert.deepEqual(turn.usage, { inputTokens: 33, outputTokens: 4 });
    assert.equal(turn.finishReason, 'tool-calls');
    const missing = fakeV2([{ type: 'text', text: 'x' }], { inputTokens: 3 });
    assert.equal((await callModel(missing.model, request())).usageMissing, true);
  });

  it('refuses a model on a specification it does not speak, as a configuration error', async () => {
    const old = { specificationVersion: 'v1', provider: 'old', modelId: 'm' } as unknown as LanguageModelV3;
    await assert.rejects(callModel(old, request()), (e: unknown) => isWardenError(e, 'INVALID_CONFIG') && /v1/.test((e as Error).message));
  });

  it('throws ModelCallError carrying the classified failure', async () => {
    const { model } = fakeV3(() => {
      throw new APICallError({ message: 'slow down', url: 'https://x', requestBodyValues: {}, statusCode: 429, responseHeaders: { 'retry-after': '3' } });
    });
    await assert.rejects(callModel(model, request()), (e: unknown) => {
      assert.ok(e instanceof ModelCallError);
      assert.ok(isWardenError(e, 'MODEL_CALL_FAILED'));
      assert.deepEqual(e.failure, { kind: 'rate_limited', retryable: true, status: 429, retryAfterMs: 3000, message: 'slow down' });
      return true;
    });
  });

  it('reports a call cut by the run signal as aborted, or as a timeout when the signal timed out', async () => {
    const model = simulated.script([{ text: 'slow', delayMs: 60_000 }]);
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('stopped by operator')), 5);
    await assert.rejects(callModel(model, request({ messages: [{ role: 'user', text: 'a' }], signal: cancel.signal })), (e: unknown) => {
      assert.ok(e instanceof ModelCallError);
      assert.equal(e.failure.kind, 'aborted');
      assert.equal(e.failure.retryable, false);
      return true;
    });
    await assert.rejects(callModel(model, request({ messages: [{ role: 'user', text: 'b' }], signal: AbortSignal.timeout(5) })), (e: unknown) => {
      assert.ok(e instanceof ModelCallError);
      assert.equal(e.failure.kind, 'timeout');
      assert.equal(e.failure.retryable, true);
      return true;
    });
  });

  it('lets a scripted error turn fail its attempts and then recover, attempt by attempt', async () => {
    const model = simulated.script([{ text: 'finally', error: { status: 503, retryAfterMs: 250, times: 2 } }]);
    const failures = [];
    for (let attempt = 1; attempt <= 2; attempt++) {
      const e = await callModel(model, request({ attempt })).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(e instanceof ModelCallError);
      failures.push(e.failure);
    }
    assert.deepEqual(
      failures.map((f) => [f.kind, f.status, f.retryable, f.retryAfterMs]),
      [
        ['server_error', 503, true, 250],
        ['server_error', 503, true, 250],
      ],
    );
    assert.equal((await callModel(model, request({ attempt: 3 }))).text, 'finally');
  });
});

describe('cached input pricing', () => {
  it('prices cached input tokens at the cached rate, and the rest at full price', async () => {
    const { usageCostNano } = await import('./pricing.ts');
    const pricing = { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5 };
    assert.equal(usageCostNano({ inputTokens: 1000, outputTokens: 100 }, pricing), 1000 * 2000 + 100 * 8000);
    assert.equal(usageCostNano({ inputTokens: 1000, outputTokens: 100, cachedInputTokens: 800 }, pricing), 200 * 2000 + 800 * 500 + 100 * 8000);
    assert.equal(usageCostNano({ inputTokens: 10, outputTokens: 0, cachedInputTokens: 99 }, pricing), 10 * 500, 'never more cached than input');
  });
});

describe('cache writes', () => {
  it('prices cache writes at the cache-write rate and cache reads at the cached rate', async () => {
    const { usageCostNano } = await import('./pricing.ts');
    const pricing = { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3, cacheWriteInputPerMTok: 3.75 };
    assert.equal(
      usageCostNano({ inputTokens: 1000, outputTokens: 10, cachedInputTokens: 200, cacheWriteInputTokens: 500 }, pricing),
      300 * 3000 + 200 * 300 + 500 * 3750 + 10 * 15000,
    );
    assert.equal(usageCostNano({ inputTokens: 100, outputTokens: 0, cacheWriteInputTokens: 500 }, pricing), 100 * 3750, 'never more written than input');
  });

  it('reads v3 cache writes from usage.inputTokens.cacheWrite', async () => {
    const { model } = fakeV3({
      content: [{ type: 'text', text: 'hi' }],
      usage: { inputTokens: { total: 1000, noCache: 300, cacheRead: 200, cacheWrite: 500 }, outputTokens: { total: 7, text: 7, reasoning: 0 } },
    });
    const turn = await callModel(model, request());
    assert.deepEqual(turn.usage, { inputTokens: 1000, outputTokens: 7, cachedInputTokens: 200, cacheWriteInputTokens: 500 });
  });

  it('reads v2 Anthropic cache writes from providerMetadata and counts them (and cache reads) as input', async () => {
    const model: LanguageModelV2 = {
      specificationVersion: 'v2',
      provider: 'anthropic.messages',
      modelId: 'claude-sonnet-4-20250514',
      supportedUrls: {},
      doGenerate: async () => ({
        content: [{ type: 'text', text: 'hi' }],
        finishReason: 'stop',
        // Anthropic's input_tokens leaves out what was read from and written to the cache.
        usage: { inputTokens: 300, outputTokens: 7, totalTokens: 307, cachedInputTokens: 200 },
        providerMetadata: { anthropic: { cacheCreationInputTokens: 500 } },
        warnings: [],
      }),
      doStream: () => {
        throw new Error('not used');
      },
    };
    const turn = await callModel(model, request());
    assert.deepEqual(turn.usage, { inputTokens: 1000, outputTokens: 7, cachedInputTokens: 200, cacheWriteInputTokens: 500 });
  });

  it('reserves input at the cache-write rate when it is dearer than plain input', async () => {
    const { reservedInputPerMTok } = await import('./pricing.ts');
    assert.equal(reservedInputPerMTok({ inputPerMTok: 3, outputPerMTok: 15, cacheWriteInputPerMTok: 3.75 }), 3.75);
    assert.equal(reservedInputPerMTok({ inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 }), 3);
  });
});
