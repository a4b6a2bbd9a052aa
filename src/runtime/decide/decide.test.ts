import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineAgent } from '../../agent/agent.ts';
import { defineTool } from '../../agent/tool.ts';
import { EVENT_SCHEMA_VERSION, type AnyRunEvent, type EventPayloads, type EventType } from '../../core/events.ts';
import { foldRun } from '../../core/fold.ts';
import type { RunState } from '../../core/run-state.ts';
import { DEFAULT_LIMITS } from '../../core/limits.ts';
import { simulated } from '../../model/simulated.ts';
import { recordDecisions } from './decisions.ts';
import { nextAction } from './next-action.ts';
import { cancelRun, stopRun } from './run-end.ts';
import { beginSession } from './session-start.ts';
import { gateFinalAnswer, reject } from './vetting.ts';

// The deciding half of the loop, tried on folded logs alone: no store, no clock, no network.

const lookup = defineTool({
  name: 'lookup',
  description: 'Reads an order.',
  tier: 'read',
  idempotent: true,
  input: z.object({ id: z.string() }),
  execute: () => ({}),
});
const refund = defineTool({ name: 'refund', description: 'Refunds an order.', tier: 'write', input: z.object({ id: z.string() }), execute: () => ({}) });
const agent = defineAgent({ name: 'desk', instructions: 'x', model: simulated.script([{ text: 'done' }]), tools: [lookup, refund] });
const stopOnDeny = defineAgent({
  name: 'strict',
  instructions: 'x',
  model: simulated.script([{ text: 'done' }]),
  tools: [lookup, refund],
  policy: { onDeny: 'stop' },
});

type Entry = { [T in EventType]: [T, EventPayloads[T]] }[EventType];

/** A log built by hand, one event per entry, with sequence numbers and times filled in. */
function log(...entries: Entry[]): RunState {
  const submitted: ['run.submitted', EventPayloads['run.submitted']] = [
    'run.submitted',
    {
      agent: 'desk',
      input: 'refund order 7',
      tenant: 't',
      limits: { ...DEFAULT_LIMITS },
      rootRunId: 'run_1',
      parentRunId: null,
      model: { provider: 'simulated', modelId: 'script', inputPerMTok: 0.15, outputPerMTok: 0.6 },
    },
  ];
  const events = [submitted, ...entries].map(
    ([type, data], i) => ({ runId: 'run_1', seq: i + 1, type, at: 1_000 + i, v: EVENT_SCHEMA_VERSION, data }) as AnyRunEvent,
  );
  return foldRun(events);
}

const usage = { inputTokens: 10, outputTokens: 5 };
const turn = (...calls: { callId: string; tool: string; args: unknown }[]): Entry => [
  'model.called',
  { step: 1, attempt: 1, maxOutputTokens: 100, turn: { text: '', toolCalls: calls, usage, finishReason: 'tool-calls' }, costNano: 10, latencyMs: 1 },
];
const allowed = (callId: string, tool: string): Entry => [
  'policy.decided',
  { callId, tool, tier: 'read', argsHash: '', decision: 'allow', rule: 'tier:read', reason: 'reads are allowed' },
];

describe('nextAction: the one decision of each turn of the loop', () => {
  it('asks the model when nothing is open', () => {
    assert.deepEqual(nextAction(log(), agent, false), { kind: 'ask_model' });
  });

  it('vets proposed calls before anything runs', () => {
    assert.deepEqual(nextAction(log(turn({ callId: 'c1', tool: 'lookup', args: { id: '7' } })), agent, false), { kind: 'vet' });
  });

  it('settles calls a dead process left running, then runs what is ready', () => {
    const running = log(turn({ callId: 'c1', tool: 'lookup', args: { id: '7' } }), allowed('c1', 'lookup'), [
      'tool.started',
      { callId: 'c1', tool: 'lookup', attempt: 1, idempotencyKey: 'run_1:c1' },
    ]);
    assert.deepEqual(nextAction(running, agent, false), { kind: 'settle_interrupted' });
    const ready = log(turn({ callId: 'c1', tool: 'lookup', args: { id: '7' } }), allowed('c1', 'lookup'));
    assert.deepEqual(nextAction(ready, agent, false), { kind: 'execute' });
  });

  it('cancels on request, and on an aborted session reads the log first', () => {
    const requested = log(['cancel.requested', { by: 'ops', reason: 'wrong customer' }]);
    assert.deepEqual(nextAction(requested, agent, false), { kind: 'cancel', by: 'ops', reason: 'wrong customer' });
    assert.deepEqual(nextAction(requested, agent, true), { kind: 'cancel', by: 'ops', reason: 'wrong customer' });
    assert.deepEqual(nextAction(log(), agent, true), { kind: 'abort' });
  });

  it('stops after a denial only when the policy says so', () => {
    const denied = log(turn({ callId: 'c1', tool: 'refund', args: { id: '7' } }), [
      'tool.denied',
      { callId: 'c1', tool: 'refund', by: 'policy', reason: 'refunds are off' },
    ]);
    assert.deepEqual(nextAction(denied, agent, false), { kind: 'ask_model' });
    assert.deepEqual(nextAction(denied, stopOnDeny, false), {
      kind: 'stop',
      hit: { limit: 'denied', detail: 'refund was denied: Not allowed (policy): refunds are off' },
    });
  });

  it('does nothing for a run that ended or waits for a person', () => {
    const s = log();
    const d = recordDecisions(s, () => 2_000);
    stopRun(d, { limit: 'max_steps', detail: '20 steps' });
    assert.deepEqual(nextAction(s, agent, false), { kind: 'done' });
    assert.deepEqual(
      d.events.map((e) => [e.seq, e.type]),
      [
        [2, 'limit.hit'],
        [3, 'run.stopped'],
      ],
    );
    assert.equal(s.status, 'stopped');
  });
});

describe('beginSession: what a new session settles from the log', () => {
  it('charges a reservation left open by a crash in full, in the same commit as its event', () => {
    const s = log([
      'budget.reserved',
      { reservationId: 'r1', purpose: 'model', amountNano: 5_000, before: { spentNano: 0, reservedNano: 0, ceilingNano: 1_000_000_000 } },
    ]);
    const d = recordDecisions(s, () => 2_000);
    beginSession(d, agent, { worker: 'w1', maxCrashedSessions: 3 });
    assert.deepEqual(d.budgetOps, [{ kind: 'settle', rootRunId: 'run_1', reservedNano: 5_000, actualNano: 5_000 }]);
    const committed = d.events.find((e) => e.type === 'budget.committed');
    assert.deepEqual(committed?.data, {
      reservationId: 'r1',
      actualNano: 5_000,
      releasedNano: 0,
      assumed: true,
      after: { spentNano: 5_000, reservedNano: 0, ceilingNano: 1_000_000_000 },
    });
    assert.equal(s.spentNano, 5_000);
  });

  it('retries an interrupted idempotent call with the same key, and asks a person about one that is not', () => {
    const s = log(
      turn({ callId: 'c1', tool: 'lookup', args: { id: '7' } }, { callId: 'c2', tool: 'refund', args: { id: '7' } }),
      allowed('c1', 'lookup'),
      allowed('c2', 'refund'),
      ['tool.started', { callId: 'c1', tool: 'lookup', attempt: 1, idempotencyKey: 'run_1:c1' }],
      ['tool.started', { callId: 'c2', tool: 'refund', attempt: 1, idempotencyKey: 'run_1:c2' }],
    );
    const d = recordDecisions(s, () => 2_000);
    beginSession(d, agent, { worker: 'w1', maxCrashedSessions: 3 });
    assert.deepEqual(
      d.events.map((e) => e.type),
      ['run.started', 'tool.failed', 'escalated'],
    );
    const failed = d.events[1]?.data as EventPayloads['tool.failed'];
    assert.equal(failed.willRetry, true);
    assert.equal(failed.unknownOutcome, true);
    assert.equal(d.interventions.length, 1);
    assert.equal(d.interventions[0]?.id, 'esc_1_c2_1');
    assert.equal(d.interventions[0]?.tool, 'refund');
  });

  it('stops a poison run and tells a person instead of driving it a fourth time', () => {
    const s = log(
      ['run.started', { worker: 'a', session: 1, resumedFrom: 1 }],
      ['run.started', { worker: 'b', session: 2, resumedFrom: 2 }],
      ['run.started', { worker: 'c', session: 3, resumedFrom: 3 }],
    );
    assert.equal(s.crashedSessions, 2, 'a session that started another one died without an outcome');
    const d = recordDecisions(s, () => 2_000);
    beginSession(d, agent, { worker: 'd', maxCrashedSessions: 3 });
    assert.deepEqual(
      d.events.map((e) => e.type),
      ['run.started', 'limit.hit', 'run.stopped'],
    );
    assert.equal(s.stopReason, 'crashed');
    assert.equal(d.interventions[0]?.id, 'esc_1_crashed4');
  });

  it('decides the same events from the same log, every time', () => {
    const build = () =>
      log(turn({ callId: 'c1', tool: 'refund', args: { id: '7' } }), allowed('c1', 'lookup'), [
        'tool.started',
        { callId: 'c1', tool: 'refund', attempt: 1, idempotencyKey: 'run_1:c1' },
      ]);
    const a = recordDecisions(build(), () => 5);
    const b = recordDecisions(build(), () => 5);
    beginSession(a, agent, { worker: 'w', maxCrashedSessions: 3 });
    beginSession(b, agent, { worker: 'w', maxCrashedSessions: 3 });
    cancelRun(a, 'ops', 'x');
    cancelRun(b, 'ops', 'x');
    assert.deepEqual(a.events, b.events);
    assert.deepEqual(a.interventions, b.interventions);
  });
});

describe('vetting decisions', () => {
  it('refuses a call and tells the model why; past the retry limit the run stops', () => {
    const s = log(turn({ callId: 'c1', tool: 'lookup', args: {} }));
    s.limits.maxRetries = 0;
    const d = recordDecisions(s, () => 2_000);
    const call = s.calls.get('c1');
    assert.ok(call);
    reject(d, call, 'INVALID_TOOL_ARGS', 'id is required');
    assert.deepEqual(
      d.events.map((e) => e.type),
      ['tool.rejected', 'limit.hit', 'run.stopped'],
    );
    assert.equal(s.stopReason, 'max_retries');
  });

  it('holds a final answer below the confidence threshold for a person, and lets a confident one through', () => {
    const gated = defineAgent({
      name: 'careful',
      instructions: 'x',
      model: simulated.script([{ text: 'done' }]),
      tools: [lookup],
      escalation: { threshold: 0.8 },
    });
    const answered = (confidence: number): Entry => [
      'model.called',
      {
        step: 1,
        attempt: 1,
        maxOutputTokens: 100,
        turn: { text: 'refunded', toolCalls: [], usage, finishReason: 'stop', confidence },
        costNano: 10,
        latencyMs: 1,
      },
    ];
    const unsure = recordDecisions(log(answered(0.5)), () => 2_000);
    assert.equal(gateFinalAnswer(unsure, gated, 'refunded'), true);
    assert.deepEqual(
      unsure.events.map((e) => e.type),
      ['step.assessed', 'escalated'],
    );
    assert.equal(unsure.interventions[0]?.id, 'esc_1_answer1_lc');
    const sure = recordDecisions(log(answered(0.95)), () => 2_000);
    assert.equal(gateFinalAnswer(sure, gated, 'refunded'), false);
    assert.deepEqual(
      sure.events.map((e) => e.type),
      ['step.assessed'],
    );
    assert.equal(gateFinalAnswer(recordDecisions(log(answered(0.1))), agent, 'refunded'), false, 'no escalation configured, no gate');
  });
});
