import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childRunId, newRunId } from './ids.ts';

describe('run ids', () => {
  it('sort by the time they were made', async () => {
    const first = newRunId();
    await new Promise((r) => setTimeout(r, 3));
    const second = newRunId();
    assert.match(first, /^run_[0-9a-f]{32}$/);
    assert.ok(first < second, `${first} sorts before ${second}`);
    assert.notEqual(newRunId(), newRunId());
  });

  it('derive a child from its parent and call alone, next to its parent', () => {
    const parent = newRunId();
    const child = childRunId(parent, 'c1');
    assert.equal(child, childRunId(parent, 'c1'), 'the same parent and call give the same child after a crash');
    assert.notEqual(child, childRunId(parent, 'c2'));
    assert.match(child, /^run_[0-9a-f]{32}$/);
    assert.equal(child.slice(0, 16), parent.slice(0, 16), 'the child shares the time prefix of its parent');
  });

  it('keep the old derivation for a parent with an older or chosen id', () => {
    // A run started before the upgrade must find the children it already created.
    assert.equal(childRunId('run_0fad57896ee842c9', 'c1'), 'run_5addd88b56f2674d');
    assert.match(childRunId('my-run', 'c1'), /^run_[0-9a-f]{16}$/);
  });
});
