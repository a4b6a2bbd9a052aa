import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { otlpTracesUrl, tracingFromEnv } from '../../src/observe/otel.ts';
import { traceIdOf } from '../../src/observe/otel/trace-ids.ts';
import { runCli, scriptedAgent, SideEffects, supportTools, tempDir, testWarden } from '../helpers.ts';
import { OtlpReceiver } from './otlp-receiver.ts';

const refundTurns = [
  { toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }], usage: { inputTokens: 100, outputTokens: 20 }, confidence: 0.9 },
  { toolCalls: [{ tool: 'refund', args: { orderId: '1042', amount: 250 } }], usage: { inputTokens: 150, outputTokens: 30 } },
  { text: 'Refunded.', usage: { inputTokens: 200, outputTokens: 5 } },
];

describe('OpenTelemetry spans over OTLP/HTTP', () => {
  const receiver = new OtlpReceiver();
  let endpoint = '';
  before(async () => {
    endpoint = await receiver.start();
  });
  after(() => receiver.close());

  it('is off, with no exporter, when no OTLP endpoint is set', () => {
    assert.equal(tracingFromEnv({}), null);
    assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/', OTEL_SDK_DISABLED: 'true' }), null);
    assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }), 'http://c:4318/v1/traces');
    assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x' }), 'http://t/x');
  });

  it('sends invoke_agent, chat and execute_tool spans with GenAI and warden attributes, nested by run', async () => {
    const tracing = tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'support' })!;
    const { warden } = testWarden();
    tracing.attach(warden);
    const agent = scriptedAgent(refundTurns, supportTools(new SideEffects()));
    const parked = await warden.run(agent, 'refund 1042 please');
    await warden.approve(parked.pending!.id, { by: 'ana' });
    const done = await warden.execute(agent, parked.runId);
    assert.equal(done.status, 'completed');
    await tracing.shutdown();

    const spans = receiver.spans.filter((s) => s.attributes['warden.run.id'] === parked.runId || s.traceId === traceIdOf(parked.runId));
    const agents = spans.filter((s) => s.name === 'invoke_agent test-agent');
    assert.equal(agents.length, 2, 'one invoke_agent span per session: before and after the approval');
    assert.ok(
      spans.every((s) => s.traceId === traceIdOf(parked.runId)),
      'every span is in the run tree trace',
    );
    assert.equal(spans[0]?.resource['service.name'], 'support');
    const [first, second] = agents.sort((a, b) => Number(a.attributes['warden.session']) - Number(b.attributes['warden.session']));
    assert.ok(first && second);
    assert.equal(first.attributes['warden.run.status'], 'waiting_approval');
    assert.equal(first.attributes['warden.waiting_for'], 'approval');
    assert.equal(second.attributes['warden.run.status'], 'completed');
    assert.equal(first.attributes['gen_ai.operation.name'], 'invoke_agent');
    assert.equal(first.attributes['gen_ai.agent.name'], 'test-agent');
    assert.equal(first.parentSpanId, '');

    const chats = spans.filter((s) => s.name.startsWith('chat '));
    assert.equal(chats.length, 3);
    const step1 = chats.find((s) => s.attributes['warden.step'] === 1)!;
    assert.equal(step1.kind, 3, 'chat spans are CLIENT spans');
    assert.equal(step1.parentSpanId, first.spanId);
    assert.equal(step1.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(agent.model.provider, 'warden.simulated');
    assert.equal(step1.attributes['gen_ai.provider.name'], 'warden', "the AI SDK's id's first segment, not the id");
    assert.equal(step1.attributes['warden.model.provider_id'], 'warden.simulated');
    assert.equal(step1.attributes['gen_ai.request.model'], agent.model.modelId);
    assert.equal(step1.attributes['gen_ai.usage.input_tokens'], 100);
    assert.equal(step1.attributes['gen_ai.usage.output_tokens'], 20);
    assert.equal(step1.attributes['warden.confidence'], 0.9);
    assert.equal(step1.attributes['warden.proposal'], 'tool calls: lookup_order');
    assert.equal(typeof step1.attributes['warden.budget.left_usd'], 'number');
    assert.equal(chats.find((s) => s.attributes['warden.step'] === 3)!.parentSpanId, second.spanId);

    const refund = spans.find((s) => s.name === 'execute_tool refund')!;
    assert.equal(refund.parentSpanId, second.spanId);
    assert.equal(refund.attributes['gen_ai.tool.name'], 'refund');
    assert.equal(refund.attributes['gen_ai.tool.call.id'], done.toolCalls[1]?.callId);
    assert.equal(refund.attributes['warden.tool.tier'], 'write');
    assert.equal(refund.attributes['warden.policy.decision'], 'approve');
    assert.equal(refund.attributes['warden.policy.rule'], 'tool:refund.approval');
    assert.equal(refund.attributes['warden.approval.by'], 'ana');
    assert.equal(refund.attributes['warden.tool.outcome'], 'succeeded');
    assert.ok(!('gen_ai.tool.call.arguments' in refund.attributes), 'no contents unless opted in');
    const lookup = spans.find((s) => s.name === 'execute_tool lookup_order')!;
    assert.equal(lookup.attributes['warden.policy.decision'], 'allow');
    assert.ok(first.events.some((e) => e.name === 'warden.policy.decided' && e.attributes['warden.policy.decision'] === 'approve'));
  });

  it('records message contents only when opted in, and marks failed retried calls', async () => {
    const tracing = tracingFromEnv({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces`,
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
    })!;
    const { warden } = testWarden();
    tracing.attach(warden);
    const agent = scriptedAgent(
      [{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '77' } }], error: { status: 503, times: 1 } }, { text: 'Order 77 is on its way.' }],
      supportTools(new SideEffects()),
    );
    const result = await warden.run(agent, 'where is 77?');
    await tracing.shutdown();
    const spans = receiver.spans.filter((s) => s.traceId === traceIdOf(result.runId));
    const failed = spans.find((s) => s.name.startsWith('chat ') && s.attributes['error.type'] === 'server_error')!;
    assert.equal(failed.status.code, 2);
    assert.equal(failed.attributes['warden.retry.will_retry'], true);
    assert.equal(failed.attributes['warden.retry.cause'], 'server_error');
    const tool = spans.find((s) => s.name === 'execute_tool lookup_order')!;
    assert.equal(tool.attributes['gen_ai.tool.call.arguments'], '{"orderId":"77"}');
    assert.match(String(tool.attributes['gen_ai.tool.call.result']), /"total":250/);
    const run = spans.find((s) => s.name.startsWith('invoke_agent'))!;
    assert.match(String(run.attributes['gen_ai.input.messages']), /where is 77/);
  });

  it('exports from the CLI when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    const before = receiver.spans.length;
    const db = join(tempDir(), 'w.db');
    const out = await runCli(['run', 'examples/support-desk.ts', '--input', 'Refund order 1042', '--db', db, '--json'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    });
    assert.equal(out.code, 4, out.stderr);
    const runId = JSON.parse(out.stdout).runId as string;
    const spans = receiver.spans.slice(before).filter((s) => s.traceId === traceIdOf(runId));
    assert.deepEqual(
      spans.map((s) => s.name).sort(),
      ['chat respond', 'chat respond', 'chat respond', 'execute_tool lookup_order', 'invoke_agent support-desk'].sort(),
    );
  });
});
