import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scriptedAgent, SideEffects, supportTools, testWarden } from '../../test/helpers.ts';
import { traceLines } from '../cli/output.ts';
import { explainEvent, traceEntries } from './explain.ts';
import type { AnyRunEvent } from '../core/events.ts';

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

  it('numbers the trace without a gap: every bookkeeping event it does not tell is named', async () => {
    const { warden } = testWarden();
    const agent = scriptedAgent([{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '1' } }] }, { text: 'done' }], supportTools(new SideEffects()));
    const events = await warden.events((await warden.run(agent, 'x')).runId);
    const entries = traceEntries(events);
    let next = 1;
    for (const entry of entries) {
      const [from, to = from] = entry.seq.split('–').map(Number);
      assert.equal(from, next, `line ${entry.seq} follows ${next - 1}`);
      next = to! + 1;
      if (entry.hidden) assert.match(entry.text, /^\(bookkeeping, not told here: .+\)$/);
    }
    assert.equal(next, events.length + 1, 'every event is on a line');
    assert.ok(entries.some((e) => e.hidden && e.text.includes('cost settled')));
  });

  it('never says a call goes ahead when it goes to a person, or the other way round', () => {
    const assessed = (verdict: 'proceed' | 'escalate', confidence: number | null, reason: string) =>
      explainEvent({
        runId: 'r',
        seq: 2,
        at: 0,
        v: 1,
        type: 'step.assessed',
        data: { callId: 'c1', planStep: 'pay', deviation: false, confidence, threshold: 0.6, factors: [], verdict, reason },
      } as AnyRunEvent)!;
    // Written by runs before the wording changed: the sentence must still not contradict itself.
    const old = assessed('proceed', null, 'the policy sends it to a person for approval');
    assert.doesNotMatch(old, /goes ahead/);
    assert.match(old, /not scored by the confidence gate — the policy sends it to a person/);
    assert.match(assessed('proceed', 0.9, 'confidence 0.9 ≥ threshold 0.6'), /passes the confidence gate/);
    assert.match(assessed('escalate', 0.2, 'confidence 0.2 is below the threshold 0.6'), /goes to a person — confidence 0.2 is below/);
  });
});
