import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { callOptions } from '../../src/model/bridge.ts';
import type { WardenModel } from '../../src/core/ports/model.ts';
import { resolvePricing } from '../../src/model/pricing.ts';
import type { ModelPricing } from '../../src/model/model-pricing.ts';
import { streamV3 } from '../../src/model/spec-versions.ts';
import type { AnyRunEvent, EventPayloads, EventType } from '../../src/core/events.ts';
import { testWarden } from '../helpers.ts';
import { startLoopbackLlm, type LoopbackLlm, type ScriptStep } from './loopback-llm.ts';

/**
 * Today's AI SDK providers (specification v4), unchanged, against a loopback server speaking
 * their wire format. Every figure below comes from the providers' own parsing of real HTTP.
 */

let llm: LoopbackLlm;
before(async () => {
  llm = await startLoopbackLlm();
});
after(() => llm.stop());

/** Published list prices, USD per million tokens, as the providers' pricing pages state them. */
const LIST_PRICE = {
  'gpt-4.1-mini': { input: 0.4, output: 1.6 }, // openai.com/api/pricing
  'claude-sonnet-4-5': { input: 3, output: 15 }, // anthropic.com/pricing
};
/** $1 per million tokens is 1,000 nano-USD per token. */
const nanoPerToken = (usdPerMTok: number) => Math.round(usdPerMTok * 1000);

interface Case {
  name: string;
  model: () => WardenModel;
  /** Usage in the provider's own field names, for aimock to put in the body. */
  usage: (input: number, output: number) => Record<string, number>;
  /** The list price the run must charge; `pricing` is set on the agent when the table has none. */
  price: { input: number; output: number };
  pricing?: ModelPricing;
}

const openai = () => createOpenAI({ baseURL: `${llm.url}/v1`, apiKey: 'test' });
const chatUsage = (input: number, output: number) => ({ prompt_tokens: input, completion_tokens: output });
const messagesUsage = (input: number, output: number) => ({ input_tokens: input, output_tokens: output });

const cases: Case[] = [
  { name: '@ai-sdk/openai chat', model: () => openai().chat('gpt-4.1-mini'), usage: chatUsage, price: LIST_PRICE['gpt-4.1-mini'] },
  { name: '@ai-sdk/openai responses', model: () => openai().responses('gpt-4.1-mini'), usage: messagesUsage, price: LIST_PRICE['gpt-4.1-mini'] },
  {
    name: '@ai-sdk/anthropic',
    model: () => createAnthropic({ baseURL: `${llm.url}/v1`, apiKey: 'test' })('claude-sonnet-4-5'),
    usage: messagesUsage,
    price: LIST_PRICE['claude-sonnet-4-5'],
  },
  {
    name: '@ai-sdk/openai-compatible',
    // includeUsage asks for usage in the stream (stream_options.include_usage); without it a
    // streamed answer has no usage and Warden would charge the whole reservation.
    model: () => createOpenAICompatible({ name: 'local', baseURL: `${llm.url}/v1`, apiKey: 'test', includeUsage: true })('llama-3'),
    usage: chatUsage,
    price: { input: 1, output: 2 },
    pricing: { inputPerMTok: 1, outputPerMTok: 2 },
  },
];

function agentFor(c: Case) {
  const lookup = defineTool({
    name: 'lookup_order',
    description: 'Find an order',
    tier: 'read',
    input: z.object({ orderId: z.string() }),
    execute: ({ orderId }) => ({ orderId, total: 250 }),
  });
  return defineAgent({
    name: 'support',
    instructions: 'Help.',
    model: c.model(),
    tools: [lookup],
    ...(c.pricing ? { pricing: c.pricing } : {}),
    limits: { maxSteps: 5, maxRetries: 8, maxCostUsd: 0.5, maxOutputTokens: 512 },
    backoff: { baseMs: 1, maxMs: 5 },
  });
}

function data<T extends EventType>(events: AnyRunEvent[], type: T): EventPayloads[T][] {
  return events.filter((e) => e.type === type).map((e) => e.data as EventPayloads[T]);
}

for (const c of cases) {
  describe(c.name, () => {
    it('is a v4 model, streams text through the normalization, and reports usage', async () => {
      const model = c.model();
      assert.equal(model.specificationVersion, 'v4');
      llm.script([{ response: { content: 'Order 1042 ships today.', usage: c.usage(42, 7) } }]);
      const { stream } = await streamV3(
        model,
        callOptions({ system: 'Help.', messages: [{ role: 'user', text: 'Where is 1042?' }], tools: [], maxOutputTokens: 64 }),
      );
      const parts: LanguageModelV3StreamPart[] = [];
      const reader = stream.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(next.value);
      const text = parts.map((p) => (p.type === 'text-delta' ? p.delta : '')).join('');
      assert.equal(text, 'Order 1042 ships today.');
      const finish = parts.find((p) => p.type === 'finish');
      assert.ok(finish?.type === 'finish', JSON.stringify(parts.map((p) => p.type)));
      assert.equal(finish.usage.inputTokens.total, 42);
      assert.equal(finish.usage.outputTokens.total, 7);
      assert.equal(finish.finishReason.unified, 'stop');
      const v3Types = new Set([
        'stream-start',
        'response-metadata',
        'text-start',
        'text-delta',
        'text-end',
        'reasoning-start',
        'reasoning-delta',
        'reasoning-end',
        'finish',
        'raw',
      ]);
      assert.deepEqual(
        parts.filter((p) => !v3Types.has(p.type)),
        [],
        'only v3 parts come out (v4 custom and ping parts are dropped)',
      );
      assert.equal(llm.requests()[0]?.body.stream, true, 'the provider streamed over HTTP');
    });

    it('streams a run through warden.stream, text as it arrives, and charges the list price to the nano-dollar', async () => {
      llm.script([
        { response: { toolCalls: [{ id: 'call_1', name: 'lookup_order', arguments: '{"orderId":"1042"}' }], usage: c.usage(100, 10) } },
        { response: { content: 'Order 1042 totals $250 and ships today.', usage: c.usage(200, 20) } },
      ]);
      const { warden } = testWarden();
      const run = warden.stream(agentFor(c), 'What is order 1042?');
      const deltas: string[] = [];
      for await (const delta of run.textStream) deltas.push(delta);
      const result = await run.result;
      assert.equal(result.status, 'completed', JSON.stringify(result));
      assert.equal(deltas.join(''), 'Order 1042 totals $250 and ships today.');
      assert.ok(
        llm.requests().every((r) => r.body.stream === true),
        'every model call streamed over HTTP',
      );
      const tokenCost = (input: number, output: number) => input * nanoPerToken(c.price.input) + output * nanoPerToken(c.price.output);
      const events = await warden.events(result.runId);
      assert.deepEqual(
        data(events, 'model.called').map((m) => m.costNano),
        [tokenCost(100, 10), tokenCost(200, 20)],
      );
      assert.equal(Math.round(result.costUsd * 1e9), tokenCost(100, 10) + tokenCost(200, 20));
    });

    it('retries 429 (honouring Retry-After), 500, a malformed 200 and 503, round-trips a tool call, and charges the list price to the nano-dollar', async () => {
      const steps: ScriptStep[] = [
        { response: { error: { message: 'slow down', type: 'rate_limit_error' }, status: 429, retryAfter: 2 } },
        { response: { toolCalls: [{ id: 'call_1', name: 'lookup_order', arguments: '{"orderId":"1042"}' }], usage: c.usage(100, 10) } },
        { response: { error: { message: 'internal error', type: 'server_error' }, status: 500 } },
        { response: { content: 'unused' }, chaos: { malformedRate: 1 } },
        { response: { error: { message: 'overloaded', type: 'overloaded_error' }, status: 503 } },
        { response: { content: 'Order 1042 totals $250.', usage: c.usage(200, 20) } },
      ];
      llm.script(steps);
      const agent = agentFor(c);
      const { warden } = testWarden();
      const result = await warden.run(agent, 'What is order 1042?');
      assert.equal(result.status, 'completed', JSON.stringify(result));
      assert.equal(result.output, 'Order 1042 totals $250.');

      // The tool call round-trips: Warden ran it, and the next request carried its result.
      assert.deepEqual(
        result.toolCalls.map((t) => [t.tool, t.status]),
        [['lookup_order', 'executed']],
      );
      const bodies = llm.requests().map((r) => JSON.stringify(r.body));
      assert.equal(bodies.length, steps.length);
      assert.ok(!bodies[1]!.includes('250'), 'no tool result before the tool ran');
      for (const body of bodies.slice(2))
        assert.match(body, /call_1[\s\S]*\\"total\\":250|\\"total\\":250[\s\S]*call_1/, 'the requests after the tool call carry its result');

      // Each failure is classified and retried; Retry-After sets the wait (it is within the cap).
      const events = await warden.events(result.runId);
      const failures = data(events, 'model.failed').map((f) => [f.failure.kind, f.failure.status, f.willRetry]);
      assert.deepEqual(failures, [
        ['rate_limited', 429, true],
        ['server_error', 500, true],
        ['malformed', 200, true],
        ['server_error', 503, true],
      ]);
      assert.equal(data(events, 'model.failed')[0]!.retryInMs, 2000);

      // The price the ceiling uses is the published list price…
      const pricing = resolvePricing(agent.model, c.pricing);
      assert.equal(nanoPerToken(pricing.inputPerMTok), nanoPerToken(c.price.input));
      assert.equal(nanoPerToken(pricing.outputPerMTok), nanoPerToken(c.price.output));
      // …each answered call costs its tokens at that price, to the nano-dollar…
      const tokenCost = (input: number, output: number) => input * nanoPerToken(c.price.input) + output * nanoPerToken(c.price.output);
      assert.deepEqual(
        data(events, 'model.called').map((m) => m.costNano),
        [tokenCost(100, 10), tokenCost(200, 20)],
      );
      // …and failures are charged per docs/guarantees.md §1: 429 and 503 $0; 500 and a malformed 200 their reservation.
      const reserved = new Map(data(events, 'budget.reserved').map((r) => [r.reservationId, r.amountNano]));
      const commits = data(events, 'budget.committed').filter((b) => b.reservationId.startsWith('m'));
      assert.deepEqual(
        commits.map((b) => b.actualNano),
        [0, tokenCost(100, 10), reserved.get('m2.1'), reserved.get('m2.2'), 0, tokenCost(200, 20)],
      );
      const expectedNano = tokenCost(100, 10) + tokenCost(200, 20) + reserved.get('m2.1')! + reserved.get('m2.2')!;
      assert.equal(Math.round(result.costUsd * 1e9), expectedNano);
    });
  });
}
