import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LanguageModelV3, LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { z } from 'zod';
import { defineAgent } from '../../src/agent/agent.ts';
import { isWardenError } from '../../src/core/errors.ts';
import { conversation, foldRun } from '../../src/core/fold.ts';
import { simulated } from '../../src/model/simulated.ts';
import { replayRun } from '../../src/observe/replay/replay-run.ts';
import { testWarden } from '../helpers.ts';

const Verdict = z.object({ refund: z.boolean(), amountUsd: z.number().nonnegative(), reason: z.string() });

function judge(turns: Parameters<typeof simulated.script>[0], limits: { maxOutputRepairs?: number; maxCostUsd?: number } = {}) {
  return defineAgent({
    name: 'judge',
    instructions: 'Decide refunds. Answer in JSON.',
    model: simulated.script(turns),
    tools: [],
    output: Verdict,
    limits: { maxSteps: 6, maxCostUsd: 0.05, ...limits },
  });
}

const good = '{"refund": true, "amountUsd": 40, "reason": "damaged"}';

describe('structured answers', () => {
  it('gives the parsed value as output, typed from the schema, and keeps the text beside it', async () => {
    const { warden } = testWarden();
    const result = await warden.run(judge([{ text: good }]), 'order 7 arrived broken');
    assert.equal(result.status, 'completed');
    // Typed: these lines do not compile unless output is z.infer<typeof Verdict> | null.
    const amount: number | undefined = result.output?.amountUsd;
    const refund: boolean | undefined = result.output?.refund;
    assert.equal(amount, 40);
    assert.equal(refund, true);
    assert.equal(result.outputText, good);
  });

  it('reads a JSON answer inside one fenced block', async () => {
    const { warden } = testWarden();
    const result = await warden.run(judge([{ text: `\`\`\`json\n${good}\n\`\`\`` }]), 'x');
    assert.deepEqual(result.output, { refund: true, amountUsd: 40, reason: 'damaged' });
  });

  it('sends an answer that does not validate back to the model with the errors, and accepts the repaired one', async () => {
    const { warden } = testWarden();
    const agent = judge([{ text: '{"refund": "yes", "amountUsd": -5}' }, { text: good }]);
    const result = await warden.run(agent, 'order 7');
    assert.equal(result.status, 'completed');
    assert.equal(result.output?.reason, 'damaged');
    assert.equal(result.steps, 2, 'the repair is a model step like any other');
    const events = await warden.events(result.runId);
    const rejected = events.find((e) => e.type === 'output.rejected');
    assert.ok(rejected && rejected.type === 'output.rejected');
    assert.equal(rejected.data.repair, 1);
    assert.ok(rejected.data.errors.some((e) => e.startsWith('refund:')));
    assert.ok(rejected.data.errors.some((e) => e.startsWith('amountUsd:')));
    assert.ok(rejected.data.errors.some((e) => e.startsWith('reason:')));
    // What the model saw before its second answer: its own answer, then the errors.
    const beforeRepair = foldRun(events.slice(0, events.indexOf(rejected) + 1));
    const told = conversation(beforeRepair).at(-1);
    assert.equal(told?.role, 'user');
    assert.match(told?.role === 'user' ? told.text : '', /does not match the required output format: .*refund/);
    // Each answer was paid for from the one ceiling.
    const charged = events.filter((e) => e.type === 'budget.committed');
    assert.equal(charged.length, 2);
  });

  it('stops with invalid_output once maxOutputRepairs are used up, naming the errors', async () => {
    const { warden } = testWarden();
    const agent = judge([{ text: 'I think yes.' }, { text: '{"refund": true}' }, { text: good }], { maxOutputRepairs: 1 });
    const result = await warden.run(agent, 'order 7');
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'invalid_output');
    assert.match(result.stopDetail ?? '', /after 1 repair: amountUsd: .*reason: /);
    assert.equal(result.output, null);
    assert.equal(result.steps, 2);
  });

  it('stops at once with maxOutputRepairs 0, and refuses a negative or fractional one at definition', async () => {
    const { warden } = testWarden();
    const result = await warden.run(judge([{ text: 'nope' }, { text: good }], { maxOutputRepairs: 0 }), 'x');
    assert.equal(result.stopReason, 'invalid_output');
    assert.equal(result.steps, 1);
    for (const bad of [-1, 1.5]) {
      assert.throws(
        () => judge([{ text: good }], { maxOutputRepairs: bad }),
        (e) => isWardenError(e, 'INVALID_CONFIG') && /maxOutputRepairs/.test(e.message),
      );
    }
    assert.throws(
      () => defineAgent({ name: 'x', instructions: '', model: simulated.script([{ text: 'x' }]), tools: [], output: { parse: () => 1 } as never }),
      (e) => isWardenError(e, 'INVALID_CONFIG') && /output must be a zod schema/.test(e.message),
    );
  });

  it('never repairs past the ceiling: a repair that cannot be reserved stops the run at cost_ceiling', async () => {
    const { warden } = testWarden();
    const agent = judge(
      Array.from({ length: 6 }, () => ({ text: 'not json' })),
      { maxOutputRepairs: 5, maxCostUsd: 0.0004 },
    );
    const result = await warden.run(agent, 'x');
    assert.equal(result.status, 'stopped');
    assert.equal(result.stopReason, 'cost_ceiling');
    assert.ok(result.costUsd <= 0.0004);
  });

  it("hands the output's JSON Schema to a provider as its response format, and counts it in the input reserved", async () => {
    const seen: LanguageModelV3CallOptions[] = [];
    const model: LanguageModelV3 = {
      specificationVersion: 'v3',
      provider: 'test.json',
      modelId: 'json-1',
      supportedUrls: {},
      async doGenerate(options) {
        seen.push(options);
        return {
          content: [{ type: 'text', text: good }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: { inputTokens: { total: 80, noCache: 80, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 12, text: 12, reasoning: 0 } },
          warnings: [],
        };
      },
      async doStream() {
        throw new Error('not streamed');
      },
    };
    const agent = defineAgent({
      name: 'judge',
      instructions: 'Decide.',
      model,
      tools: [],
      output: Verdict,
      pricing: { inputPerMTok: 1, outputPerMTok: 2 },
      limits: { maxCostUsd: 0.05 },
    });
    const { warden } = testWarden();
    const result = await warden.run(agent, 'x');
    assert.equal(result.status, 'completed');
    const format = seen[0]?.responseFormat;
    assert.equal(format?.type, 'json');
    assert.deepEqual(format?.type === 'json' ? Object.keys((format.schema as { properties: object }).properties) : [], ['refund', 'amountUsd', 'reason']);
    const plain = await warden.run(defineAgent({ ...agentConfigWithoutOutput(), model }), 'x');
    const reserved = async (runId: string) => (await warden.events(runId)).find((e) => e.type === 'budget.reserved');
    const withSchema = await reserved(result.runId);
    const without = await reserved(plain.runId);
    assert.ok(withSchema?.type === 'budget.reserved' && without?.type === 'budget.reserved');
    assert.ok(withSchema.data.amountNano > without.data.amountNano, 'the schema sent is input the reservation covers');
  });

  it("holds a person's answer to the schema too: an escalated answer approved, or a takeover, becomes the value; a takeover that does not fit is refused", async () => {
    const { warden } = testWarden();
    const unsure = () =>
      defineAgent({
        name: 'judge',
        instructions: 'Decide refunds.',
        model: simulated.script([{ text: good, confidence: 0.1 }]),
        tools: [],
        output: Verdict,
        escalation: { threshold: 0.6 },
        limits: { maxCostUsd: 0.05 },
      });
    const agent = unsure();
    const parked = await warden.run(agent, 'x');
    assert.equal(parked.status, 'escalated');
    await assert.rejects(
      warden.decideEscalation(parked.pending!.id, { decision: 'takeover', output: '{"refund": "maybe"}', by: 'ana' }, agent),
      (e) => isWardenError(e, 'INVALID_ARGUMENT') && /does not match the agent's output schema: refund/.test(e.message),
    );
    await warden.decideEscalation(
      parked.pending!.id,
      { decision: 'takeover', output: '{"refund": false, "amountUsd": 0, "reason": "no photo"}', by: 'ana' },
      agent,
    );
    const taken = await warden.inspect<z.infer<typeof Verdict>>(parked.runId);
    assert.deepEqual(taken.output, { refund: false, amountUsd: 0, reason: 'no photo' });

    const again = await warden.run(agent, 'y');
    await warden.decideEscalation(again.pending!.id, { decision: 'approve', by: 'ana' }, agent);
    assert.deepEqual((await warden.inspect(again.runId)).output, { refund: true, amountUsd: 40, reason: 'damaged' });
  });

  it('replays a repaired run to the same decisions and the same value', async () => {
    const { warden } = testWarden();
    const agent = judge([{ text: '{"refund": 1}' }, { text: good }]);
    const result = await warden.run(agent, 'order 7');
    const report = await replayRun(await warden.events(result.runId), { agent });
    assert.equal(report.identical, true);
    assert.equal(report.replayed.status, 'completed');
  });
});

function agentConfigWithoutOutput() {
  return { name: 'plain', instructions: 'Decide.', tools: [], pricing: { inputPerMTok: 1, outputPerMTok: 2 }, limits: { maxCostUsd: 0.05 } };
}
