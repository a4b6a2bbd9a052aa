import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { testWarden } from '../helpers.ts';
import { startLoopbackLlm, type LoopbackLlm } from './loopback-llm.ts';

/** @ai-sdk/openai-compatible against aimock speaking OpenAI chat completions on loopback. */
let llm: LoopbackLlm;
before(async () => {
  llm = await startLoopbackLlm();
});
after(() => llm.stop());

const usage = (prompt_tokens: number, completion_tokens: number) => ({ prompt_tokens, completion_tokens });
const toolCall = (name: string, args: string) => ({ response: { toolCalls: [{ id: 'call_1', name, arguments: args }], usage: usage(120, 30) } });
const answer = (content: string, input = 120, output = 30) => ({ response: { content, usage: usage(input, output) } });

function agent() {
  const provider = createOpenAICompatible({ name: 'local', baseURL: `${llm.url}/v1`, apiKey: 'test' });
  const lookup = defineTool({
    name: 'lookup_order',
    description: 'Find an order',
    tier: 'read',
    input: z.object({ orderId: z.string() }),
    execute: ({ orderId }) => ({ orderId, total: 250 }),
  });
  return defineAgent({
    name: 'remote',
    instructions: 'Help.',
    model: provider('llama-3'),
    tools: [lookup],
    pricing: { inputPerMTok: 1, outputPerMTok: 2 },
    limits: { maxSteps: 5, maxRetries: 4, maxCostUsd: 0.01, maxOutputTokens: 512 },
    backoff: { baseMs: 1, maxMs: 5 },
  });
}

describe('an OpenAI-compatible endpoint through @ai-sdk/openai-compatible', () => {
  it('retries a 429 honouring retry-after and a 5xx, runs the proposed tool, and charges reported usage', async () => {
    llm.script([
      { response: { error: { message: 'slow down', type: 'rate_limit_error' }, status: 429, retryAfter: 2 } },
      toolCall('lookup_order', '{"orderId":"1042"}'),
      { response: { error: { message: 'overloaded', type: 'server_error' }, status: 503 } },
      answer('Order 1042 totals $250.', 200, 20),
    ]);
    const { warden } = testWarden();
    const result = await warden.run(agent(), 'What is order 1042?');
    assert.equal(result.status, 'completed', JSON.stringify(result));
    assert.equal(result.output, 'Order 1042 totals $250.');
    assert.deepEqual(
      result.toolCalls.map((c) => [c.tool, c.status]),
      [['lookup_order', 'executed']],
    );
    const events = await warden.events(result.runId);
    const failures = events.flatMap((e) => (e.type === 'model.failed' ? [[e.data.failure.kind, e.data.retryInMs] as const] : []));
    assert.equal(failures.length, 2);
    assert.equal(failures[0]?.[0], 'rate_limited');
    assert.ok((failures[0]?.[1] ?? 0) >= 2000, `retry-after honoured: ${JSON.stringify(failures)}`);
    assert.equal(failures[1]?.[0], 'server_error');
    // 120 in + 30 out, then 200 in + 20 out, at $1 / $2 per million tokens.
    assert.equal(Math.round(result.costUsd * 1e9), (120 + 200) * 1000 + (30 + 20) * 2000);
    assert.ok(
      llm.requests().every((r) => ((r.body.max_tokens as number | undefined) ?? 0) <= 512),
      "the reservation's output bound is sent as max_tokens",
    );
  });

  it('never runs a tool call whose arguments are not JSON, and tells the model', async () => {
    llm.script([toolCall('lookup_order', '{"orderId": '), answer('Sorry.')]);
    const { warden } = testWarden();
    const result = await warden.run(agent(), 'x');
    assert.equal(result.toolCalls[0]?.status, 'rejected');
    assert.equal(result.status, 'completed');
    assert.match(JSON.stringify(llm.requests()[1]?.body), /not valid JSON/, 'the next request tells the model why');
  });

  it('fails with a clear typed error when the endpoint answers with malformed JSON', async () => {
    llm.script(Array.from({ length: 6 }, () => ({ response: { content: 'unused' }, chaos: { malformedRate: 1 } })));
    const { warden } = testWarden();
    const result = await warden.run(agent(), 'x');
    assert.ok(result.status === 'failed' || result.status === 'stopped', result.status);
    const failed = (await warden.events(result.runId)).find((e) => e.type === 'model.failed');
    assert.ok(failed?.type === 'model.failed' && failed.data.failure.kind === 'malformed' && failed.data.failure.message.length > 0);
    assert.ok(result.error?.code === 'MODEL_CALL_FAILED' || result.stopReason === 'max_retries', JSON.stringify([result.error, result.stopReason]));
  });
});
