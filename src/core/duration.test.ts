import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from './duration.ts';

describe('formatDuration', () => {
  it('shows the two largest units a person reads', () => {
    assert.deepEqual([450, 45_000, 192_000, 3_600_000, 7_500_000, 100_800_000].map(formatDuration), ['450ms', '45s', '3m 12s', '1h 0m', '2h 5m', '1d 4h']);
  });
});
