import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../../test/helpers.ts';
import { traceLines } from '../cli/output.ts';

describe('the decision trace in plain words', () => {
  it('says what was proposed and why, how sure, which rule decided, the budget and the retries', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent(
      [
        {
          toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }],
          rationale: 'The refund needs the order first.',
          confidence: 0.82,
          error: { status: 429 },
        },
        { toolCalls: [{ tool: 'refund', args: { orderId: '1042', amount: 250 } }] },
      ],
      supportTools(new SideEffects()),
    );
    const result = await warden.run(agent, 'Refund order 1042');
    const trace = traceLines(await warden.events(result.runId)).join('\n');
    assert.match(
      trace,
      /Step 1: the model \(on try 2\) proposed to lookup_order \(orderId 1042\)\. Its reason: "The refund needs the order first\." It said it was 82% sure\./,
    );
    assert.match(trace, /The model did not answer step 1 \(try 1\): rate limited 429 .*; trying again in \d+ ms\./);
    assert.match(trace, /Allowed lookup_order: read-tier tools run unless a rule asks otherwise\. \(lookup_order only reads data; rule tier:read\.\)/);
    assert.match(
      trace,
      /refund needs a person's approval: the tool asks for approval of these arguments\. \(refund changes data; rule tool:refund\.approval\.\)/,
    );
    assert.match(trace, /Set aside up to \$[\d.]+ for the next model answer; \$[\d.]+ of the \$1\.00 limit spent so far\./);
    assert.match(trace, /Waiting for a person to approve refund \(orderId 1042, amount 250\)\. Nothing runs until someone decides/);
  });
});
