import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from '../core/errors.ts';
import { usdToNano } from '../core/money.ts';
import { resolveFleetBudgets } from '../guard/fleet-budgets.ts';
import { forecastBudgets, parseBudgetFlag, resolveFleetBudgetsAs } from './budget-forecast.ts';

const run = { agent: 'desk', tenant: 'acme' };

describe('forecastBudgets', () => {
  it('finds the request that no longer fits and when it arrives, with arrivals spread evenly over the window', () => {
    // 24 requests a day at $1 each: one an hour. A $10 day budget holds ten; the 11th, at 10:00, does not fit.
    const [f] = forecastBudgets(resolveFleetBudgets([{ scope: 'tenant:acme', window: 'day', maxUsd: 10 }]), [usdToNano(1)], 24, run);
    assert.deepEqual(f, {
      scope: 'tenant:acme',
      window: 'day',
      maxUsd: 10,
      covers: true,
      requestsPerWindow: 24,
      projectedUsd: 24,
      projectedFraction: 2.4,
      exhausts: true,
      exhaustsAfterMs: 10 * 3_600_000,
      exhaustsAtRequest: 11,
      refusedRequests: 14,
    });
  });

  it('repeats the rehearsed costs in order when the window holds more requests than were rehearsed, and scales the window', () => {
    // Costs $1, $3 repeating; a 6 h window at 48 a day holds 12 requests, $24; a $30 budget holds.
    const costs = [usdToNano(1), usdToNano(3)];
    const [held, gone] = forecastBudgets(
      resolveFleetBudgets([
        { scope: 'all', window: { hours: 6 }, maxUsd: 30 },
        { scope: 'agent:desk', window: { hours: 6 }, maxUsd: 5 },
      ]),
      costs,
      48,
      run,
    );
    assert.deepEqual([held?.requestsPerWindow, held?.projectedUsd, held?.exhausts, held?.exhaustsAfterMs], [12, 24, false, null]);
    // $1 + $3 = $4 fits, the third ($1) fits ($5), the fourth ($3) does not: request 4, 1.5 h in.
    assert.deepEqual([gone?.exhaustsAtRequest, gone?.exhaustsAfterMs, gone?.refusedRequests], [4, 3 * 1_800_000, 9]);
  });

  it('says when a budget does not cover the rehearsed runs, and counts a 30-day month', () => {
    const [other, month] = forecastBudgets(
      resolveFleetBudgets([
        { scope: 'tenant:globex', window: 'day', maxUsd: 1 },
        { scope: 'all', window: 'month', maxUsd: 1_000 },
      ]),
      [usdToNano(0.5)],
      100,
      run,
    );
    assert.equal(other?.covers, false);
    assert.equal(other?.exhausts, false);
    assert.deepEqual([month?.requestsPerWindow, month?.projectedUsd, month?.exhausts], [3_000, 1_500, true]);
    assert.equal(month?.exhaustsAtRequest, 2_001);
  });
});

describe('--budget', () => {
  it('reads SCOPE:WINDOW:MAX_USD, the scope holding a colon of its own', () => {
    assert.deepEqual(parseBudgetFlag('tenant:acme:day:50'), { scope: 'tenant:acme', window: 'day', maxUsd: 50 });
    assert.deepEqual(parseBudgetFlag('all:6h:5.5'), { scope: 'all', window: { hours: 6 }, maxUsd: 5.5 });
  });

  it('refuses a malformed flag or budget with INVALID_BUDGET', () => {
    for (const bad of ['50', 'all:day', 'all:day:lots', 'all:week:5', ':day:5'])
      assert.throws(
        () => parseBudgetFlag(bad),
        (e) => isWardenError(e, 'INVALID_BUDGET'),
        bad,
      );
    assert.throws(
      () => resolveFleetBudgetsAs([parseBudgetFlag('acme:day:5')]),
      (e) => isWardenError(e, 'INVALID_BUDGET'),
    );
    assert.throws(
      () => resolveFleetBudgetsAs([parseBudgetFlag('all:day:-5')]),
      (e) => isWardenError(e, 'INVALID_BUDGET'),
    );
  });
});
