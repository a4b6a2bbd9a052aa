import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isWardenError } from '../../src/core/errors.ts';
import { parseDecisionTime, parseHours, reviewerReport, simulateQueue, type QueueRun } from '../../src/rehearse/reviewers.ts';

/** Erlang C: the mean wait in queue of an M/M/c queue with arrival rate λ and service rate μ per server. */
function erlangCWait(lambda: number, mu: number, c: number): number {
  const a = lambda / mu;
  const rho = a / c;
  let term = 1;
  let sum = 0;
  for (let k = 0; k < c; k++) {
    sum += term;
    term *= a / (k + 1);
  }
  const tail = term / (1 - rho); // a^c / c! / (1 - ρ)
  const waitProbability = tail / (sum + tail);
  return waitProbability / (c * mu - lambda);
}

const single = (n: number, timeoutMs = Number.POSITIVE_INFINITY): QueueRun[] => Array.from({ length: n }, () => ({ items: [{ gapMs: 0, timeoutMs }] }));

describe('the reviewer queue', () => {
  it('matches the Erlang C mean wait on an M/M/c case (Poisson arrivals, exponential decisions, around the clock) within 5%', () => {
    const c = 3;
    const meanMs = 5 * 60_000;
    const lambdaPerMs = (0.8 * c) / meanMs; // ρ = 0.8
    const volumePerDay = lambdaPerMs * 86_400_000;
    const outcomes = simulateQueue(single(200_000), {
      reviewers: c,
      decisionTime: { kind: 'exp', meanMs },
      hours: { from: 0, to: 24 },
      approvalTimeoutMs: Number.POSITIVE_INFINITY,
      volumePerDay,
      seed: 7,
    });
    const simulated = outcomes.reduce((a, o) => a + (o.start - o.arrival), 0) / outcomes.length;
    const closedForm = erlangCWait(lambdaPerMs, 1 / meanMs, c);
    assert.ok(Math.abs(simulated - closedForm) / closedForm < 0.05, `simulated ${simulated} ms, Erlang C ${closedForm} ms`);
  });

  it('needs more reviewers for a tighter target, counts timeouts, and holds off-hours arrivals until the morning', () => {
    const base = {
      reviewers: 1,
      decisionTime: parseDecisionTime('exp:5m'),
      hours: parseHours('9-17'),
      approvalTimeoutMs: 4 * 3_600_000,
      volumePerDay: 400,
      seed: 1,
    };
    const loose = reviewerReport(single(2000, base.approvalTimeoutMs), { ...base, targetMs: 2 * 3_600_000 });
    const tight = reviewerReport(single(2000, base.approvalTimeoutMs), { ...base, targetMs: 30 * 60_000 });
    // exp:5m alone has a p99 of 23 minutes: no headcount gets under 15.
    assert.equal(reviewerReport(single(2000, base.approvalTimeoutMs), { ...base, targetMs: 15 * 60_000 }).needed.reviewers, null);
    assert.ok(loose.needed.reviewers !== null && tight.needed.reviewers !== null);
    assert.ok(tight.needed.reviewers > loose.needed.reviewers, JSON.stringify([loose.needed, tight.needed]));
    // Two thirds of the day is outside the hours: items arriving after 17:00 wait past a 4 h timeout.
    assert.ok(loose.timedOutShare > 0.2, String(loose.timedOutShare));
    const allDay = reviewerReport(single(2000, base.approvalTimeoutMs), { ...base, hours: parseHours('0-24'), reviewers: 4, targetMs: 60 * 60_000 });
    assert.equal(allDay.timedOutShare, 0);
  });

  it('refuses a decision time or hours it cannot read, with a typed error', () => {
    for (const bad of ['exp', 'gamma:3m', 'lognormal:3m,9', 'fixed:soon']) {
      assert.throws(
        () => parseDecisionTime(bad),
        (e) => isWardenError(e) && e.code === 'INVALID_ARGUMENT',
      );
    }
    assert.throws(
      () => parseHours('17-9'),
      (e) => isWardenError(e) && e.code === 'INVALID_ARGUMENT',
    );
    assert.deepEqual(parseDecisionTime('lognormal:3m,2'), { kind: 'lognormal', medianMs: 180_000, sigma: 2 });
  });
});
