import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APICallError, type LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { z } from 'zod';
import { defineTool } from '../agent/tool.ts';
import { behaviourModel, type BehaviourRates } from './behaviour.ts';

const lookup = defineTool({
  name: 'lookup_order',
  description: 'Find an order',
  tier: 'read',
  provides: ['order'],
  input: z.object({ orderId: z.string().min(1) }),
  execute: () => ({}),
});
const refund = defineTool({
  name: 'refund',
  description: 'Refund an order',
  tier: 'write',
  requires: ['order'],
  input: z.object({ orderId: z.string().min(1), amount: z.number().positive().max(500), reason: z.enum(['damaged', 'late']) }),
  execute: () => ({}),
});
const tools = [lookup, refund];
const quiet: BehaviourRates = {
  rateLimited: 0,
  serverError: 0,
  slowResponse: 0,
  hallucinatedTool: 0,
  invalidArgs: 0,
  unsafeDestructive: 0,
  lowConfidence: 0,
  planError: 0,
  loop: 0,
  retryChain: 0,
  tokenTail: 3,
};
const noWait = async () => {};

function call(input: string): LanguageModelV3CallOptions {
  return { prompt: [{ role: 'user', content: [{ type: 'text', text: input }] }], maxOutputTokens: 1024 };
}

function firstCall(result: Awaited<ReturnType<ReturnType<typeof behaviourModel>['doGenerate']>>) {
  const part = result.content.find((p) => p.type === 'tool-call');
  return part?.type === 'tool-call' ? { tool: part.toolName, args: JSON.parse(part.input) } : null;
}

describe('behaviourModel', () => {
  it('answers the same prompt the same way, with arguments that pass the tool schema', async () => {
    const model = behaviourModel({ tools, rates: quiet, seed: 9, wait: noWait });
    for (let i = 0; i < 50; i++) {
      const a = await model.doGenerate(call(`request ${i}`));
      const b = await model.doGenerate(call(`request ${i}`));
      assert.deepEqual(a.content, b.content);
      const proposed = firstCall(a)!;
      const tool = tools.find((t) => t.name === proposed.tool)!;
      assert.ok(tool.input.safeParse(proposed.args).success, JSON.stringify(proposed));
    }
  });

  it('looks up what a tool requires before calling it', async () => {
    const model = behaviourModel({ tools, rates: quiet, seed: 1, wait: noWait });
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => model.doGenerate(call(`r${i}`)).then(firstCall)));
    assert.ok(first.every((c) => c!.tool === 'lookup_order'));
  });

  it('injects the failure modes at their rates', async () => {
    const hallucinating = behaviourModel({ tools, rates: { ...quiet, hallucinatedTool: 1 }, wait: noWait });
    const made = firstCall(await hallucinating.doGenerate(call('x')))!;
    assert.ok(!tools.some((t) => t.name === made.tool), made.tool);

    const limited = behaviourModel({ tools, rates: { ...quiet, rateLimited: 1 }, wait: noWait });
    await assert.rejects(
      limited.doGenerate(call('x')),
      (e) => APICallError.isInstance(e) && e.statusCode === 429 && Number(e.responseHeaders?.['retry-after-ms']) >= 1000,
    );

    const waits: number[] = [];
    const slow = behaviourModel({ tools, rates: { ...quiet, slowResponse: 1 }, wait: async (ms) => void waits.push(ms) });
    await slow.doGenerate(call('x'));
    assert.ok(waits[0]! >= 8000, `waited ${waits[0]}`);
  });

  it('proposes its whole plan first when the runtime offers plan mode, prerequisites first', async () => {
    const model = behaviourModel({ tools, rates: quiet, seed: 2, wait: noWait });
    const offered = [...tools.map((t) => t.name), 'submit_plan'].map((name) => ({ type: 'function' as const, name, inputSchema: { type: 'object' as const } }));
    for (let i = 0; i < 20; i++) {
      const proposed = firstCall(await model.doGenerate({ ...call(`p${i}`), tools: offered }))!;
      assert.equal(proposed.tool, 'submit_plan');
      assert.equal(proposed.args.steps[0].tool, 'lookup_order');
    }
  });

  it('refuses rates that are not probabilities', () => {
    assert.throws(() => behaviourModel({ tools, rates: { loop: 2 } }), /rate loop must be a probability/);
  });
});
