import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Coordinator } from '../../src/core/coordination.ts';

const breaker = { failures: 3, windowMs: 1_000, cooldownMs: 500 };

/** The behaviour every Coordinator must have; `make` gives a fresh one (fresh keys on a shared database). */
export function describeCoordinator(name: string, make: () => Promise<Coordinator>): void {
  describe(`coordinator: ${name}`, () => {
    it('refills a token bucket over time and says how long to wait', async () => {
      const c = await make();
      for (let i = 0; i < 3; i++) assert.equal(await c.takeTokens('rpm', 1, 3, 0.01, 0), 0);
      assert.equal(await c.takeTokens('rpm', 1, 3, 0.01, 0), 100);
      assert.equal(await c.takeTokens('rpm', 1, 3, 0.01, 100), 0);
    });

    it('sums counters over a sliding window only', async () => {
      const c = await make();
      await c.count('k', { calls: 5, retries: 1 }, 1_000, 0);
      assert.deepEqual(await c.count('k', { calls: 1, retries: 1 }, 1_000, 500), { calls: 6, retries: 2 });
      assert.deepEqual(await c.count('k', { calls: 0, retries: 0 }, 1_000, 1_450), { calls: 1, retries: 1 });
      assert.deepEqual(await c.count('k', { calls: 0, retries: 0 }, 1_000, 1_700), { calls: 0, retries: 0 });
    });

    it('opens after repeated failures, lets one probe through after the cooldown, and closes on success', async () => {
      const c = await make();
      for (let t = 0; t < 3; t++) await c.breakerRecord('tool:x', false, breaker, t);
      assert.equal((await c.breakerAllows('tool:x', breaker, 10)).allowed, false);
      const probe = await c.breakerAllows('tool:x', breaker, 600);
      assert.deepEqual([probe.allowed, probe.state], [true, 'half_open']);
      assert.equal((await c.breakerAllows('tool:x', breaker, 601)).allowed, false, 'one probe at a time');
      assert.equal(await c.breakerRecord('tool:x', true, breaker, 610), 'closed');
      assert.equal((await c.breakerAllows('tool:x', breaker, 611)).allowed, true);
    });

    it('opens again when the probe fails', async () => {
      const c = await make();
      for (let t = 0; t < 3; t++) await c.breakerRecord('m', false, breaker, t);
      await c.breakerAllows('m', breaker, 600);
      assert.equal(await c.breakerRecord('m', false, breaker, 605), 'open');
      assert.equal((await c.breakerAllows('m', breaker, 700)).allowed, false);
    });
  });
}
