import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from '../core/errors.ts';
import { usdToNano } from '../core/money.ts';
import { budgetStatus, budgetStatusView } from './budget-status.ts';
import { effectiveBudgets, parseBudgetWindow, resolveFleetBudgets, resolveStoredBudgets, storedBudgetOf } from './fleet-budgets.ts';

const DAY = Date.UTC(2026, 11, 3);
const HOUR = 3_600_000;
const [acme] = resolveFleetBudgets([{ scope: 'tenant:acme', window: 'day', maxUsd: 30, alertAt: [0.25, 0.5] }]);

function row(spentUsd: number, reservedUsd = 0) {
  return { key: `tenant:acme|day|${DAY}`, limitNano: usdToNano(30), spentNano: usdToNano(spentUsd), reservedNano: usdToNano(reservedUsd) };
}

describe('budgetStatus', () => {
  it("projects the window's average rate so far to its end, and says when it reaches the limit", () => {
    // $10 in the first 6 hours of the day: $10/6 an hour, $40 by midnight, $30 at 18:00.
    const s = budgetStatus(acme!, row(10, 1), DAY + 6 * HOUR);
    assert.equal(s.windowStart, DAY);
    assert.equal(s.windowEnd, DAY + 24 * HOUR);
    assert.equal(s.spentNano, usdToNano(10));
    assert.equal(s.reservedNano, usdToNano(1));
    assert.equal(s.rateNanoPerHour, Math.round(usdToNano(10) / 6));
    assert.equal(s.projectedNano, usdToNano(40));
    assert.equal(s.exhaustsAt, DAY + 18 * HOUR);
    assert.deepEqual(s.alertsCrossed, [0.25]);
    assert.equal(budgetStatusView(s).exhaustsAt, '2026-12-03T18:00:00.000Z');
    assert.equal(budgetStatusView(s).projectedFraction, 1.333333);
  });

  it('gives no exhaustion time when the rate stays under the limit, and now when spend is at it', () => {
    const under = budgetStatus(acme!, row(6), DAY + 12 * HOUR);
    assert.equal(under.projectedNano, usdToNano(12));
    assert.equal(under.exhaustsAt, null);
    const spent = budgetStatus(acme!, row(30), DAY + 12 * HOUR);
    assert.equal(spent.exhaustsAt, DAY + 12 * HOUR);
    assert.deepEqual(spent.alertsCrossed, [0.25, 0.5]);
  });

  it('starts a window with no spend at a zero rate (no row yet, or at its first instant)', () => {
    for (const s of [budgetStatus(acme!, undefined, DAY + HOUR), budgetStatus(acme!, row(0), DAY)]) {
      assert.equal(s.rateNanoPerHour, 0);
      assert.equal(s.projectedNano, 0);
      assert.equal(s.exhaustsAt, null);
    }
  });
});

describe('stored budget input', () => {
  it('reads windows as day, month or <n>h', () => {
    assert.equal(parseBudgetWindow('day'), 'day');
    assert.equal(parseBudgetWindow('month'), 'month');
    assert.deepEqual(parseBudgetWindow('6h'), { hours: 6 });
  });

  it('refuses a bad scope, a negative or zero maximum, an unknown window and bad alert fractions with INVALID_BUDGET', () => {
    const good = { scope: 'tenant:acme', window: 'day', maxUsd: 50 };
    for (const bad of [
      { ...good, scope: 'acme' },
      { ...good, scope: 'tenant:' },
      { ...good, maxUsd: -5 },
      { ...good, maxUsd: 0 },
      { ...good, maxUsd: Number.NaN },
      { ...good, window: 'week' },
      { ...good, window: '0h' },
      { ...good, window: '1.5h' },
      { ...good, alertAt: [0, 0.5] },
      { ...good, alertAt: [1.2] },
    ]) {
      assert.throws(
        () => storedBudgetOf(bad, 1),
        (e) => isWardenError(e, 'INVALID_BUDGET'),
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(storedBudgetOf({ ...good, window: '6h', alertAt: [0.8, 0.5] }, 7), {
      scope: 'tenant:acme',
      window: '6h',
      limitNano: usdToNano(50),
      alertAt: [0.5, 0.8],
      updatedAt: 7,
    });
  });

  it('lets a stored budget override the config budget of the same scope and window, and no other', () => {
    const config = resolveFleetBudgets([
      { scope: 'tenant:acme', window: 'day', maxUsd: 100 },
      { scope: 'tenant:acme', window: 'month', maxUsd: 1_000 },
    ]);
    const { budgets: stored } = resolveStoredBudgets([storedBudgetOf({ scope: 'tenant:acme', window: 'day', maxUsd: 20 }, 1)]);
    const effective = effectiveBudgets(config, stored);
    assert.deepEqual(
      effective.map((b) => [b.window, b.source, b.limitNano]),
      [
        ['month', 'config', usdToNano(1_000)],
        ['day', 'stored', usdToNano(20)],
      ],
    );
  });
});
