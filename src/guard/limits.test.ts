import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { activeMs, canRetry, limitBeforeModelCall, limitBeforeToolCall, retriesHit, retriesOverdrawn, wallTimeHit } from './limits.ts';
import { runLog } from '../../test/run-log.ts';

const lookup = (callId: string) => ({ callId, tool: 'lookup', args: { id: callId } });

/** A running run that has taken `steps` steps, each running one distinct tool call. */
function after(steps: number, limits = {}) {
  const log = runLog({ maxSteps: 3, maxToolCalls: 2, maxRetries: 2, maxWallMs: 1_000, ...limits }).started();
  for (let i = 1; i <= steps; i++) log.turn(i, [lookup(`c${i}`)]).ran(`c${i}`, { n: i });
  return log;
}

describe('limits', () => {
  it('lets a model call go ahead below maxSteps and stops it at maxSteps, naming the limit', () => {
    const log = after(2);
    const now = log.events.at(-1)!.at;
    assert.equal(limitBeforeModelCall(log.fold(), now), null);
    log.turn(3);
    const hit = limitBeforeModelCall(log.fold(), now);
    assert.equal(hit?.limit, 'max_steps');
    assert.match(hit!.detail, /Took 3 steps; the limit is 3 \(maxSteps\)/);
  });

  it('lets a first tool attempt go ahead below maxToolCalls and stops it at maxToolCalls', () => {
    const one = after(1);
    assert.equal(limitBeforeToolCall(one.fold(), one.events.at(-1)!.at), null);
    const two = after(2);
    const hit = limitBeforeToolCall(two.fold(), two.events.at(-1)!.at);
    assert.equal(hit?.limit, 'max_tool_calls');
    assert.match(hit!.detail, /Ran 2 tool calls; the limit is 2 \(maxToolCalls\)/);
  });

  it('counts active time up to now, and stops at maxWallMs, not one ms before', () => {
    const log = runLog({ maxWallMs: 1_000 }).started();
    const s = log.fold();
    const last = s.lastEventAt;
    const before = 1_000 - s.activeMs - 1;
    assert.equal(activeMs(s, last + before), 999);
    assert.equal(wallTimeHit(s, last + before), null);
    const hit = wallTimeHit(s, last + before + 1);
    assert.equal(hit?.limit, 'wall_time');
    assert.match(hit!.detail, /Active for 1000 ms; the limit is 1000 ms/);
    assert.equal(limitBeforeModelCall(s, last + before + 1)?.limit, 'wall_time');
    assert.equal(limitBeforeToolCall(s, last + before + 1)?.limit, 'wall_time');
  });

  it('does not count the time a parked run waits for a person against the wall clock', () => {
    const log = runLog({ maxWallMs: 1_000 })
      .started()
      .turn(1, [{ callId: 'c1', tool: 'wipe', args: {} }]);
    log.add('approval.requested', { approvalId: 'a1', callId: 'c1', tool: 'wipe', tier: 'delete', args: {}, argsHash: 'h', reason: 'delete' });
    const s = log.fold();
    assert.equal(activeMs(s, s.lastEventAt + 3_600_000), s.activeMs);
    assert.equal(wallTimeHit(s, s.lastEventAt + 3_600_000), null);
  });

  it('never counts negative time when the clock reads earlier than the last event', () => {
    const s = runLog().started().fold();
    assert.equal(activeMs(s, s.lastEventAt - 5_000), s.activeMs);
  });

  it('allows retries below maxRetries and refuses the one at maxRetries', () => {
    const failure = { kind: 'server_error' as const, retryable: true, message: '500' };
    const log = runLog({ maxRetries: 2 }).started().add('model.failed', { step: 1, attempt: 1, failure, willRetry: true });
    assert.equal(canRetry(log.fold()), true);
    log.add('model.failed', { step: 1, attempt: 2, failure, willRetry: true });
    assert.equal(canRetry(log.fold()), false);
    assert.match(retriesHit(log.fold(), 'The model kept failing').detail, /The model kept failing; the run has used 2 of 2 retries \(maxRetries\)/);
  });

  it('stops a model that keeps proposing bad calls only once rejections go past maxRetries', () => {
    const log = runLog({ maxRetries: 1 }).started();
    const reject = (i: number) =>
      log
        .turn(i, [{ callId: `r${i}`, tool: 'nope', args: {} }])
        .add('tool.rejected', { callId: `r${i}`, tool: 'nope', error: { code: 'UNKNOWN_TOOL', message: 'no' } });
    reject(1);
    assert.equal(retriesOverdrawn(log.fold()), null, 'at the limit: one more proposal is allowed');
    reject(2);
    const hit = retriesOverdrawn(log.fold());
    assert.equal(hit?.limit, 'max_retries');
    assert.match(hit!.detail, /used 2 of 1 retries/);
  });
});
