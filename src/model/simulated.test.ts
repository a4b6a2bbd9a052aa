import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APICallError, type LanguageModelV3CallOptions, type LanguageModelV3Prompt } from '@ai-sdk/provider';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { isWardenError } from '../core/errors.ts';
import { inputTokenBound } from '../guard/budget.ts';
import { callModel, callOptions } from './bridge.ts';
import type { ModelRequest } from '../core/ports/model.ts';
import { PRICING_KEY, resolvePricing } from './pricing.ts';
import { latencyMs, simulated } from './simulated.ts';
import type { SimulatedTurn } from './simulated-types.ts';
import { promptUtf8Bytes } from './simulated-usage.ts';

const user = (text: string): LanguageModelV3Prompt[number] => ({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): LanguageModelV3Prompt[number] => ({ role: 'assistant', content: [{ type: 'text', text }] });

/** A prompt with `answered` assistant messages already in it, as after that many turns. */
function promptAfter(answered: number, input = 'hello'): LanguageModelV3Prompt {
  const prompt: LanguageModelV3Prompt = [user(input)];
  for (let i = 0; i < answered; i++) prompt.push(assistant(`answer ${i}`), user(`more ${i}`));
  return prompt;
}

function call(prompt: LanguageModelV3Prompt, extra: Partial<LanguageModelV3CallOptions> = {}): LanguageModelV3CallOptions {
  return { prompt, maxOutputTokens: 4096, ...extra };
}

function request(messages: ModelRequest['messages'], extra: Partial<ModelRequest> = {}): ModelRequest {
  return { system: 'You are a test.', messages, tools: [], maxOutputTokens: 4096, ...extra };
}

const threeTurns: SimulatedTurn[] = [
  { toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }] },
  {
    toolCalls: [
      { tool: 'refund', args: { orderId: '1042', amount: 25 } },
      { tool: 'notify', args: {} },
    ],
  },
  { text: 'done' },
];

describe('simulated.script', () => {
  it('speaks the AI SDK v3 language model interface', () => {
    const model = simulated.script([{ text: 'hi' }], { modelId: 'support' });
    assert.equal(model.specificationVersion, 'v3');
    assert.equal(model.provider, 'warden.simulated');
    assert.equal(model.modelId, 'support');
    assert.deepEqual(model.supportedUrls, {});
  });

  it('answers with the turn numbered by the assistant messages already in the prompt', async () => {
    const model = simulated.script(threeTurns);
    const first = await model.doGenerate(call(promptAfter(0)));
    const second = await model.doGenerate(call(promptAfter(1)));
    const third = await model.doGenerate(call(promptAfter(2)));
    assert.deepEqual(first.content, [{ type: 'tool-call', toolCallId: 'call_0_0', toolName: 'lookup_order', input: '{"orderId":"1042"}' }]);
    assert.equal(first.finishReason.unified, 'tool-calls');
    assert.deepEqual(
      second.content.map((p) => (p.type === 'tool-call' ? [p.toolCallId, p.toolName, p.input] : p.type)),
      [
        ['call_1_0', 'refund', '{"orderId":"1042","amount":25}'],
        ['call_1_1', 'notify', '{}'],
      ],
    );
    assert.deepEqual(third.content, [{ type: 'text', text: 'done' }]);
    assert.equal(third.finishReason.unified, 'stop');
  });

  it('repeats its last turn once the script runs out, so a script can model a loop', async () => {
    const model = simulated.script([{ text: 'first' }, { toolCalls: [{ tool: 'again', args: { n: 1 } }] }]);
    for (const answered of [1, 2, 7, 50]) {
      const result = await model.doGenerate(call(promptAfter(answered)));
      assert.deepEqual(result.content, [{ type: 'tool-call', toolCallId: `call_${answered}_0`, toolName: 'again', input: '{"n":1}' }]);
    }
  });

  it('keeps no state between calls: interleaved conversations each get their own turns', async () => {
    const model = simulated.script(threeTurns);
    const a = [] as string[];
    const b = [] as string[];
    const name = (r: Awaited<ReturnType<typeof model.doGenerate>>) =>
      r.content.map((p) => (p.type === 'tool-call' ? p.toolName : p.type === 'text' ? p.text : '')).join('+');
    a.push(name(await model.doGenerate(call(promptAfter(0, 'conversation a')))));
    b.push(name(await model.doGenerate(call(promptAfter(0, 'conversation b')))));
    b.push(name(await model.doGenerate(call(promptAfter(1, 'conversation b')))));
    a.push(name(await model.doGenerate(call(promptAfter(1, 'conversation a')))));
    a.push(name(await model.doGenerate(call(promptAfter(2, 'conversation a')))));
    // A resumed run sends the same prompt again and gets the same turn again.
    a.push(name(await model.doGenerate(call(promptAfter(2, 'conversation a')))));
    b.push(name(await model.doGenerate(call(promptAfter(2, 'conversation b')))));
    assert.deepEqual(a, ['lookup_order', 'refund+notify', 'done', 'done']);
    assert.deepEqual(b, ['lookup_order', 'refund+notify', 'done']);
  });

  it('estimates usage at four bytes a token when the turn gives none', async () => {
    const model = simulated.script([{ text: 'x'.repeat(41) }]);
    const options = call([user('y'.repeat(400))]);
    const result = await model.doGenerate(options);
    assert.equal(result.usage.inputTokens.total, Math.ceil(promptUtf8Bytes(options) / 4));
    assert.equal(result.usage.outputTokens.total, 11);
  });

  it('reports the usage the turn scripts', async () => {
    const model = simulated.script([{ text: 'ok', usage: { inputTokens: 120, outputTokens: 30 } }]);
    const result = await model.doGenerate(call([user('z'.repeat(1000))]));
    assert.equal(result.usage.inputTokens.total, 120);
    assert.equal(result.usage.outputTokens.total, 30);
  });

  it('never reports more output tokens than the call allows, and says it stopped for length', async () => {
    const model = simulated.script([{ toolCalls: [{ tool: 't', args: {} }], usage: { inputTokens: 10, outputTokens: 50_000 } }]);
    const result = await model.doGenerate(call([user('q'.repeat(100))], { maxOutputTokens: 300 }));
    assert.equal(result.usage.outputTokens.total, 300);
    assert.equal(result.finishReason.unified, 'length');
  });

  it('never reports more input tokens than the prompt has UTF-8 bytes', async () => {
    const model = simulated.script([{ text: 'ok', usage: { inputTokens: 1_000_000, outputTokens: 1 } }]);
    const options = call([user('héllo wörld')], { tools: [{ type: 'function', name: 'f', description: 'd', inputSchema: { type: 'object' } }] });
    const result = await model.doGenerate(options);
    const bytes = promptUtf8Bytes(options);
    assert.equal(bytes, Buffer.byteLength('héllo wörld') + Buffer.byteLength('fd{"type":"object"}'));
    assert.equal(result.usage.inputTokens.total, bytes);
  });

  it('never reports more input tokens than Warden reserves for the same request', async () => {
    const model = simulated.script([{ text: 'ok', usage: { inputTokens: 10_000_000, outputTokens: 1 } }]);
    const requests: ModelRequest[] = [
      request([{ role: 'user', text: 'plain' }]),
      request([{ role: 'user', text: 'ünïcödé "quoted" \\ and\nnewlines 🎉' }], {
        tools: [{ name: 'f', description: 'ä tool', inputSchema: { type: 'object' } }],
      }),
      request([
        { role: 'user', text: 'go' },
        { role: 'assistant', text: '', toolCalls: [{ callId: 'c', tool: 't', args: '{"raw', parseError: 'bad' }] },
        { role: 'tool', results: [{ callId: 'c', tool: 't', output: 'a "string" result\n', isError: false }] },
        { role: 'assistant', text: 'again', toolCalls: [{ callId: 'd', tool: 't', args: { nested: ['é', 1, null] } }] },
        { role: 'tool', results: [{ callId: 'd', tool: 't', output: { error: 'ø' }, isError: true }] },
      ]),
    ];
    for (const r of requests) {
      const result = await model.doGenerate(callOptions(r));
      assert.ok(result.usage.inputTokens.total! <= inputTokenBound(r), `${result.usage.inputTokens.total} <= ${inputTokenBound(r)}`);
    }
  });

  it('fails an error turn like a provider, with status, retryability and retry-after headers', async () => {
    const model = simulated.script([{ text: 'recovered', error: { status: 429, retryAfterMs: 1500, times: 2 } }]);
    const options = call(promptAfter(0, 'rate limited'));
    for (let attempt = 1; attempt <= 2; attempt++) {
      const error = await model.doGenerate(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(APICallError.isInstance(error), `attempt ${attempt} throws an APICallError`);
      assert.equal(error.statusCode, 429);
      assert.equal(error.isRetryable, true);
      assert.equal(error.responseHeaders?.['retry-after'], '2');
      assert.equal(error.responseHeaders?.['retry-after-ms'], '1500');
    }
    const result = await model.doGenerate(options);
    assert.deepEqual(result.content, [{ type: 'text', text: 'recovered' }]);
  });

  it('fails afresh for a later run with the same prompt once a turn has got through', async () => {
    const model = simulated.script([{ text: 'ok', error: { status: 503 } }]);
    const options = call(promptAfter(0));
    await assert.rejects(model.doGenerate(options), (e: unknown) => APICallError.isInstance(e) && e.statusCode === 503);
    await model.doGenerate(options);
    await assert.rejects(model.doGenerate(options), (e: unknown) => APICallError.isInstance(e) && e.statusCode === 503);
  });

  it('decides error turns from the attempt Warden states, without keeping state', async () => {
    const model = simulated.script([{ text: 'ok', error: { status: 500, times: 2 } }]);
    const at = (attempt: number) => call(promptAfter(0), { providerOptions: { warden: { attempt } } });
    await assert.rejects(model.doGenerate(at(1)));
    await assert.rejects(model.doGenerate(at(2)));
    assert.equal((await model.doGenerate(at(3))).content.length, 1);
    // A replay or a resumed run asking for attempt 1 again fails again, whatever came before.
    await assert.rejects(model.doGenerate(at(1)));
    assert.equal((await model.doGenerate(at(3))).content.length, 1);
  });

  it('marks client errors as not retryable, as a provider does', async () => {
    const model = simulated.script([{ text: 'never', error: { status: 400, message: 'context too long' } }]);
    await assert.rejects(model.doGenerate(call(promptAfter(0))), (e: unknown) => {
      assert.ok(APICallError.isInstance(e));
      assert.equal(e.isRetryable, false);
      assert.match(e.message, /context too long/);
      return true;
    });
  });

  it('returns tool input that is not valid JSON for a malformed turn', async () => {
    const model = simulated.script([
      {
        toolCalls: [
          { tool: 'a', args: { x: 1 } },
          { tool: 'b', args: 7 },
          { tool: 'c', args: 'text' },
          { tool: 'd', args: null },
        ],
        malformed: true,
      },
    ]);
    const result = await model.doGenerate(call(promptAfter(0)));
    for (const part of result.content) {
      assert.equal(part.type, 'tool-call');
      if (part.type === 'tool-call') assert.throws(() => JSON.parse(part.input), SyntaxError, `${part.toolName}: ${part.input}`);
    }
  });

  it('reports confidence and rationale as warden provider metadata', async () => {
    const model = simulated.script([{ text: 'sure?', confidence: 0.35, rationale: 'the order id was ambiguous' }, { text: 'plain' }]);
    const first = await model.doGenerate(call(promptAfter(0)));
    assert.deepEqual(first.providerMetadata, { warden: { confidence: 0.35, rationale: 'the order id was ambiguous' } });
    const second = await model.doGenerate(call(promptAfter(1)));
    assert.equal(second.providerMetadata, undefined);
  });

  it('waits delayMs before answering, and an abort cuts the wait short with the signal reason', async () => {
    const model = simulated.script([
      { text: 'slow', delayMs: 30 },
      { text: 'very slow', delayMs: 60_000 },
    ]);
    const started = performance.now();
    await model.doGenerate(call(promptAfter(0)));
    assert.ok(performance.now() - started >= 25);

    const controller = new AbortController();
    const reason = new Error('run cancelled');
    setTimeout(() => controller.abort(reason), 10);
    const cut = performance.now();
    await assert.rejects(model.doGenerate(call(promptAfter(1), { abortSignal: controller.signal })), (e) => e === reason);
    assert.ok(performance.now() - cut < 5_000);
  });

  it('draws latency from a range, the same for the same seed and prompt', () => {
    const range = { min: 5, max: 2_000 };
    const draws = (seed: number) => ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => latencyMs(range, seed, () => key));
    assert.deepEqual(draws(3), draws(3));
    assert.notDeepEqual(draws(3), draws(4));
    for (const ms of [...draws(3), ...draws(4)]) assert.ok(ms >= range.min && ms <= range.max, `${ms} within the range`);
    assert.equal(
      latencyMs(250, 3, () => 'a'),
      250,
    );
  });

  it('carries its price where resolvePricing finds it', () => {
    const priced = simulated.script([{ text: 'x' }], { inputPerMTok: 2, outputPerMTok: 8 });
    assert.deepEqual(priced[PRICING_KEY], { inputPerMTok: 2, outputPerMTok: 8 });
    assert.deepEqual(resolvePricing(priced), { inputPerMTok: 2, outputPerMTok: 8 });
    assert.deepEqual(resolvePricing(simulated.script([{ text: 'x' }])), { inputPerMTok: 0.15, outputPerMTok: 0.6 });
  });

  it('rejects a script it cannot play, naming the turn', () => {
    const bad: [unknown, RegExp][] = [
      [[], /at least one turn/],
      [[{}], /turn 0: a turn needs text or at least one tool call/],
      [[{ text: 'a' }, { text: 'b', confidence: 1.5 }], /turn 1: confidence must be between 0 and 1/],
      [[{ text: 'a', error: { status: 200 } }], /error.status/],
      [[{ text: 'a', error: { status: 429, times: 0 } }], /error.times/],
      [[{ toolCalls: [{ tool: 't', args: undefined }] }], /JSON-serialisable/],
      [[{ text: 'a', usage: { inputTokens: -1 } }], /usage/],
    ];
    for (const [turns, message] of bad) {
      assert.throws(
        () => simulated.script(turns as SimulatedTurn[]),
        (e: unknown) => isWardenError(e, 'INVALID_CONFIG') && message.test((e as Error).message),
      );
    }
    assert.throws(() => simulated.script([{ text: 'a' }], { inputPerMTok: -1 }), /inputPerMTok/);
  });

  it('drives a whole tool loop under generateText from the ai package', async () => {
    const looked: string[] = [];
    const model = simulated.script([
      { toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }] },
      { text: 'Order 1042 was delivered.', usage: { inputTokens: 40, outputTokens: 7 } },
    ]);
    const result = await generateText({
      model,
      prompt: 'Where is order 1042?',
      tools: {
        lookup_order: tool({
          description: 'Find an order',
          inputSchema: z.object({ orderId: z.string() }),
          execute: async ({ orderId }) => {
            looked.push(orderId);
            return { orderId, status: 'delivered' };
          },
        }),
      },
      stopWhen: stepCountIs(5),
    });
    assert.deepEqual(looked, ['1042']);
    assert.equal(result.text, 'Order 1042 was delivered.');
    assert.equal(result.steps.length, 2);
    assert.equal(result.steps[0]?.toolCalls[0]?.toolCallId, 'call_0_0');
    assert.equal(result.usage.outputTokens! >= 7, true);
  });

  it('streams the same response under streamText', async () => {
    const model = simulated.script([{ text: 'streamed answer', confidence: 0.9 }]);
    const result = streamText({ model, prompt: 'hi' });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, 'streamed answer');
    assert.equal(await result.finishReason, 'stop');
    assert.deepEqual((await result.providerMetadata)?.warden, { confidence: 0.9 });
  });

  it('answers through callModel with the confidence and rationale it scripted', async () => {
    const model = simulated.script([{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '7' } }], confidence: 0.8, rationale: 'need the order' }]);
    const turn = await callModel(model, request([{ role: 'user', text: 'order 7?' }]));
    assert.deepEqual(turn.toolCalls, [{ callId: 'call_0_0', tool: 'lookup_order', args: { orderId: '7' } }]);
    assert.equal(turn.confidence, 0.8);
    assert.equal(turn.rationale, 'need the order');
    assert.equal(turn.usageMissing, undefined);
  });
});
