import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import { defineAgent } from '../../src/agent/agent.ts';
import { modelServer } from '../../src/model/model-identity.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { createTracing } from '../../src/observe/otel.ts';
import * as genai from '../../src/observe/otel/genai.ts';
import { tempDir, testWarden } from '../helpers.ts';

type Reply = { status?: number; body: unknown };

/** A loopback server speaking the OpenAI chat-completions protocol, answering from a script. */
let server: Server;
let port = 0;
let script: Reply[] = [];
before(async () => {
  server = createServer(async (req, res) => {
    for await (const _ of req);
    const reply = script.shift() ?? { status: 500, body: { error: { message: 'script ran out' } } };
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const answer = {
  body: {
    id: 'chatcmpl-42',
    object: 'chat.completion',
    created: 0,
    model: 'llama-3-served-2026',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Order 7 ships today.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
  },
};

function remoteAgent() {
  const provider = createOpenAICompatible({ name: 'vllm', baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'test' });
  return defineAgent({
    name: 'remote',
    instructions: 'Help.',
    model: provider('llama-3'),
    tools: [],
    pricing: { inputPerMTok: 1, outputPerMTok: 2 },
    limits: { maxSteps: 3, maxRetries: 2, maxCostUsd: 0.01, maxOutputTokens: 256 },
    backoff: { baseMs: 1, maxMs: 2 },
  });
}

describe('OpenTelemetry GenAI names and provider values', () => {
  it('uses the names of @opentelemetry/semantic-conventions (incubating) for every attribute and metric it names', () => {
    const ours = Object.entries(genai).filter(([name]) => name.startsWith('ATTR_') || name.startsWith('METRIC_'));
    assert.ok(ours.length >= 20);
    for (const [name, value] of ours) assert.equal(value, (semconv as Record<string, unknown>)[name], name);
  });

  it("maps the AI SDK's provider ids to the convention's well-known gen_ai.provider.name values", () => {
    const cases: Record<string, string> = {
      'openai.chat': 'openai',
      'openai.responses': 'openai',
      'anthropic.messages': 'anthropic',
      'amazon-bedrock': 'aws.bedrock',
      'azure.chat': 'azure.ai.openai',
      'azure-openai.responses': 'azure.ai.openai',
      'google.vertex.chat': 'gcp.vertex_ai',
      'vertex.anthropic.messages': 'gcp.vertex_ai',
      'google.generative-ai': 'gcp.gemini',
      'mistral.chat': 'mistral_ai',
      'xai.chat': 'x_ai',
      'groq.chat': 'groq',
      'deepseek.chat': 'deepseek',
      'cohere.chat': 'cohere',
      perplexity: 'perplexity',
      'vllm.chat': 'vllm',
      'openai-compatible.chat': 'openai-compatible',
    };
    const wellKnown = new Set<unknown>(
      Object.entries(semconv)
        .filter(([k]) => k.startsWith('GEN_AI_PROVIDER_NAME_VALUE_'))
        .map(([, v]) => v),
    );
    for (const [id, name] of Object.entries(cases)) {
      assert.equal(genai.genAiProviderName(id), name, id);
      if (!['vllm', 'openai-compatible'].includes(name)) assert.ok(wellKnown.has(name), `${name} is a well-known value`);
    }
  });

  it("uses the convention's recommended bucket boundaries", () => {
    assert.deepEqual(genai.OPERATION_DURATION_BUCKETS, [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]);
    assert.equal(genai.TOKEN_USAGE_BUCKETS.at(-1), 67108864);
  });

  it("reads server.address and server.port from the model's base URL, and leaves them out when there is none", () => {
    assert.deepEqual(modelServer(createOpenAICompatible({ name: 'x', baseURL: 'https://api.example.com/v1' }).chatModel('m')), {
      address: 'api.example.com',
      port: 443,
    });
    assert.deepEqual(modelServer(createOpenAICompatible({ name: 'x', baseURL: 'http://[::1]:8000/v1' }).chatModel('m')), { address: '::1', port: 8000 });
    assert.deepEqual(modelServer({ config: { baseURL: 'http://gpu-1:11434' } }), { address: 'gpu-1', port: 11434 });
    assert.equal(modelServer({ config: { baseURL: 'not a url' } }), undefined);
    assert.equal(modelServer({ provider: 'warden.simulated' }), undefined);
    assert.equal(
      modelServer({
        config: {
          url: () => {
            throw new Error('boom');
          },
        },
      }),
      undefined,
    );
  });
});

describe('chat spans and GenAI client metrics from a real AI SDK provider', () => {
  it('carries the provider name, response id and model, server address and port, and records gen_ai.client.operation.duration', async () => {
    script = [{ status: 503, body: { error: { message: 'busy' } } }, answer];
    const spans = new InMemorySpanExporter();
    const exported = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter: exported, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const tracing = createTracing({ exporter: spans, immediate: true, meterProvider });
    const prometheus = createMetrics();
    const { warden } = testWarden();
    tracing.attach(warden);
    prometheus.attach(warden);

    const result = await warden.run(remoteAgent(), 'where is order 7?');
    assert.equal(result.status, 'completed');
    await tracing.forceFlush();
    await meterProvider.forceFlush();

    const chats = spans.getFinishedSpans().filter((s) => s.name === 'chat llama-3');
    assert.equal(chats.length, 2, 'the failed attempt and the answer');
    const [failed, ok] = chats.sort((a, b) => Number(a.attributes['warden.retry.attempt']) - Number(b.attributes['warden.retry.attempt']));
    assert.ok(failed && ok);
    assert.equal(ok.attributes['gen_ai.provider.name'], 'vllm');
    assert.equal(ok.attributes['gen_ai.request.model'], 'llama-3');
    assert.equal(ok.attributes['gen_ai.response.model'], 'llama-3-served-2026');
    assert.equal(ok.attributes['gen_ai.response.id'], 'chatcmpl-42');
    assert.equal(ok.attributes['server.address'], '127.0.0.1');
    assert.equal(ok.attributes['server.port'], port);
    assert.equal(failed.attributes['error.type'], 'server_error');
    assert.equal(failed.attributes['server.address'], '127.0.0.1');
    const agentSpan = spans.getFinishedSpans().find((s) => s.name === 'invoke_agent remote')!;
    assert.equal(agentSpan.attributes['gen_ai.provider.name'], 'vllm');

    const metrics = exported.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const duration = metrics.find((m) => m.descriptor.name === 'gen_ai.client.operation.duration')!;
    assert.equal(duration.descriptor.unit, 's');
    const points = duration.dataPoints as { attributes: Record<string, unknown>; value: { count: number; buckets: { boundaries: number[] } } }[];
    assert.equal(points.length, 2, 'one series for the success, one for the failure');
    const success = points.find((p) => p.attributes['error.type'] === undefined)!;
    assert.deepEqual(success.attributes, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'vllm',
      'gen_ai.request.model': 'llama-3',
      'gen_ai.response.model': 'llama-3-served-2026',
      'server.address': '127.0.0.1',
      'server.port': port,
    });
    assert.equal(success.value.count, 1);
    assert.deepEqual(success.value.buckets.boundaries, genai.OPERATION_DURATION_BUCKETS);
    assert.equal(points.find((p) => p.attributes['error.type'] === 'server_error')!.value.count, 1);
    const tokens = metrics.find((m) => m.descriptor.name === 'gen_ai.client.token.usage')!;
    assert.deepEqual(tokens.dataPoints.map((p) => p.attributes['gen_ai.token.type']).sort(), ['input', 'output']);

    const text = await prometheus.text();
    assert.match(text, /# TYPE gen_ai_client_operation_duration_seconds histogram/);
    assert.match(
      text,
      new RegExp(
        `gen_ai_client_operation_duration_seconds_count\\{gen_ai_operation_name="chat",gen_ai_provider_name="vllm",gen_ai_request_model="llama-3",gen_ai_response_model="llama-3-served-2026",server_address="127.0.0.1",server_port="${port}",error_type=""\\} 1`,
      ),
    );
    assert.match(text, /gen_ai_client_operation_duration_seconds_count\{[^}]*error_type="server_error"\} 1/);
    assert.match(text, /gen_ai_client_operation_duration_seconds_bucket\{[^}]*le="81.92"/);
    await tracing.shutdown();
    await meterProvider.shutdown();
  });

  it('loads neither the OpenTelemetry SDK nor the semantic-conventions module when Warden is imported', () => {
    const hook = join(tempDir(), 'hook.mjs');
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
registerHooks({ load(url, context, next) {
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url);
  if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
  return next(url, context);
} });
`,
    );
    const out = spawnSync(
      process.execPath,
      [
        '--conditions=warden-source',
        '--import',
        hook,
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(resolve('src/index.ts'))}); console.log('ok');`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(out.stdout.trim(), 'ok', out.stderr);
    const loaded = new Set(
      out.stderr
        .split('\n')
        .filter((l) => l.startsWith('LOADED '))
        .map((l) => l.slice(7)),
    );
    assert.ok(loaded.has('@opentelemetry/api'), 'the hook saw the packages Warden does load');
    for (const name of [
      '@opentelemetry/sdk-trace',
      '@opentelemetry/sdk-metrics',
      '@opentelemetry/semantic-conventions',
      '@opentelemetry/exporter-trace-otlp-http',
    ]) {
      assert.ok(!loaded.has(name), `importing Warden loaded ${name}`);
    }
  });
});
