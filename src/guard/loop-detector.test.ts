import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectLoop } from './loop-detector.ts';
import { runLog } from '../../test/run-log.ts';

const config = { repeats: 3, noProgressSteps: 4 };

/** Each step runs `lookup` with the given args and gets the given result. */
function steps(pairs: [args: unknown, result: unknown][]) {
  const log = runLog({ maxSteps: 50 }).started();
  for (const [i, [args, result]] of pairs.entries()) log.turn(i + 1, [{ callId: `c${i}`, tool: 'lookup', args }]).ran(`c${i}`, result);
  return log.fold();
}

describe('loop detector', () => {
  it('lets the same call with the same result run up to repeats − 1 times', () => {
    assert.equal(
      detectLoop(
        steps([
          [{ id: 1 }, 'same'],
          [{ id: 1 }, 'same'],
        ]),
        config,
      ),
      null,
    );
  });

  it('stops the same tool with the same arguments returning the same result `repeats` times, naming the steps', () => {
    const hit = detectLoop(
      steps([
        [{ id: 1 }, 'same'],
        [{ id: 1 }, 'same'],
        [{ id: 1 }, 'same'],
      ]),
      config,
    );
    assert.equal(hit?.limit, 'loop_detected');
    assert.equal(hit?.detail, 'lookup({"id":1}) returned the same result 3 times (steps 1, 2, 3).');
  });

  it('does not count a different result or different arguments as a repeat', () => {
    assert.equal(
      detectLoop(
        steps([
          [{ id: 1 }, 'a'],
          [{ id: 1 }, 'b'],
          [{ id: 1 }, 'c'],
        ]),
        config,
      ),
      null,
    );
    assert.equal(
      detectLoop(
        steps([
          [{ id: 1 }, 'a'],
          [{ id: 2 }, 'a'],
          [{ id: 3 }, 'a'],
        ]),
        config,
      ),
      null,
    );
  });

  it('judges the latest repeat only: an old repeat with a new call since does not stop the run', () => {
    const s = steps([
      [{ id: 1 }, 'a'],
      [{ id: 1 }, 'a'],
      [{ id: 1 }, 'a'],
      [{ id: 2 }, 'b'],
    ]);
    assert.equal(detectLoop(s, config), null);
  });

  it('shortens long arguments in the detail to 120 characters', () => {
    const args = { text: 'x'.repeat(500) };
    const hit = detectLoop(
      steps([
        [args, 1],
        [args, 1],
        [args, 1],
      ]),
      config,
    );
    assert.match(hit!.detail, /^lookup\(\{"text":"x+…\) returned/);
    assert.equal(hit!.detail.indexOf('…'), 'lookup('.length + 120);
  });

  it('stops after noProgressSteps steps in a row that produced nothing new, not one before', () => {
    // Alternating two calls with fixed results: no triple repeats 3 times in a row as the latest,
    // but after the first two steps nothing is new.
    const a: [unknown, unknown] = [{ id: 'a' }, 1];
    const b: [unknown, unknown] = [{ id: 'b' }, 2];
    const cycling = [a, b, a, b, a, b];
    const relaxed = { repeats: 10, noProgressSteps: 4 };
    assert.equal(detectLoop(steps(cycling.slice(0, 5)), relaxed), null, '3 steps without progress');
    const hit = detectLoop(steps(cycling), relaxed);
    assert.equal(hit?.limit, 'loop_detected');
    assert.equal(hit?.detail, '4 steps in a row produced nothing new (same calls, same results).');
  });

  it('finds nothing in a run that has made no calls', () => {
    assert.equal(detectLoop(runLog().started().fold(), config), null);
  });
});
