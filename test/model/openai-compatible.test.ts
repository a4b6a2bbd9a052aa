import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { defineTool } from '../../src/agent/tool.ts';
import { testWarden } from '../helpers.ts';

type Reply = { status?: number; headers?: Record<string, string>; body: unknown };

/** A loopback server speaking the OpenAI chat-completions protocol, answering from a script. */
let server: Server;
let port = 0;
let script: Reply[] = [];
const seen: { messages: unknown[]; max_tokens?: number }[] = [];

before(async () => {
  server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    seen.push(JSON.parse(raw));
    const reply = script.shift() ?? { status: 500, body: { error: { message: 'script ran out' } } };
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const completion = (message: Record<string, unknown>, finish: string, usage = { prompt_tokens: 120, completion_tokens: 30 }) => ({
  body: { id: 'c1', object: 'chat.completion', created: 0, model: 'llama-3', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } },
});
const toolCall = (name: string, args: string) => completion({ content: null, tool_calls: [{ id: `call_${seen.length}`, type: 'function', function: { name, arguments: args } }] }, 'tool_calls');

function agent() {
  const provider = createOpenAICompatible({ name: 'local', baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'test' });
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
    script = [
      { status: 429, headers: { 'retry-after': '2' }, body: { error: { message: 'slow down' } } },
      toolCall('lookup_order', '{"orderId":"1042"}'),
      { status: 503, body: { error: { message: 'overloaded' } } },
      completion({ content: 'Order 1042 totals $250.' }, 'stop', { prompt_tokens: 200, completion_tokens: 20 }),
    ];
    const { warden } = testWarden();
    const result = await warden.run(agent(), 'What is order 1042?');
    assert.equal(result.status, 'completed', JSON.stringify(result));
    assert.equal(result.output, 'Order 1042 totals $250.');
    assert.deepEqual(result.toolCalls.map((c) => [c.tool, c.status]), [['lookup_order', 'executed']]);
    const events = await warden.events(result.runId);
    const failures = events.filter((e) => e.type === 'model.failed').map((e) => e.type === 'model.failed' && [e.data.failure.kind, e.data.retryInMs]);
    assert.equal(failures.length, 2);
    assert.equal(failures[0] && failures[0][0], 'rate_limited');
    assert.ok(failures[0] && (failures[0][1] as number) >= 2000, `retry-after honoured: ${JSON.stringify(failures)}`);
    assert.equal(failures[1] && failures[1][0], 'server_error');
    // 120 in + 30 out, then 200 in + 20 out, at $1 / $2 per million tokens.
    assert.equal(Math.round(result.costUsd * 1e9), (120 + 200) * 1000 + (30 + 20) * 2000);
    assert.ok(seen.every((r) => (r.max_tokens ?? 0) <= 512), 'the reservation\'s output bound is sent as max_tokens');
  });

  it('never runs a tool call whose arguments are not JSON, and tells the model', async () => {
    script = [toolCall('lookup_order', '{"orderId": '), completion({ content: 'Sorry.' }, 'stop')];
    const { warden } = testWarden();
    const result = await warden.run(agent(), 'x');
    assert.equal(result.toolCalls[0].status, 'rejected');
    assert.equal(result.status, 'completed');
  });

  it('fails with a clear typed error when the endpoint answers with malformed JSON', async () => {
    script = Array.from({ length: 6 }, () => ({ body: '{"choices": [ not json' }));
    const { warden } = testWarden();
    const result = await warden.run(agent(), 'x');
    assert.ok(result.status === 'failed' || result.status === 'stopped', result.status);
    const failed = (await warden.events(result.runId)).find((e) => e.type === 'model.failed');
    assert.ok(failed?.type === 'model.failed' && failed.data.failure.message.length > 0);
    assert.ok(result.error?.code === 'MODEL_CALL_FAILED' || result.stopReason === 'max_retries', JSON.stringify([result.error, result.stopReason]));
  });
});
