import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCachedCoordinator } from '../store/postgres/cached-coordinator.ts';
import { createLocalCoordinator } from './coordination.ts';
import { describeCoordinator } from '../../test/scheduler/coordinator-conformance.ts';

describeCoordinator('in-process', async () => createLocalCoordinator());

describeCoordinator('cached, in front of in-process', async () => createCachedCoordinator(createLocalCoordinator(), { refreshMs: 0 }));

describe('cached coordinator', () => {
  it('answers a closed breaker and a quiet window locally, and writes failures through at once', async () => {
    const shared = createLocalCoordinator();
    let reads = 0;
    const counting = {
      ...shared,
      breakerAllows: (...a: Parameters<typeof shared.breakerAllows>) => {
        reads++;
        return shared.breakerAllows(...a);
      },
    };
    const cached = createCachedCoordinator(counting, { refreshMs: 1_000 });
    const cfg = { failures: 2, windowMs: 10_000, cooldownMs: 10_000 };
    for (let t = 0; t < 50; t++) await cached.breakerAllows('k', cfg, t);
    assert.equal(reads, 1, 'one shared read per refresh period');
    await cached.breakerRecord('k', false, cfg, 60);
    await shared.breakerRecord('k', false, cfg, 61); // another worker's failure opens it
    assert.equal((await cached.breakerAllows('k', cfg, 1_100)).allowed, false, 'seen within one refresh period');
  });
});
