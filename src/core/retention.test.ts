import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from './errors.ts';
import { expiryCutoffs, keepsEverything, RETENTION_FLOOR_DAYS, resolveRetention } from './retention.ts';

const DAY = 86_400_000;

describe('retention policy', () => {
  it('keeps everything without a policy, or with every rule set to keep for ever', () => {
    assert.ok(keepsEverything(resolveRetention(undefined)));
    assert.ok(keepsEverything(resolveRetention({ default: { keep: 'forever' }, tenants: { acme: { keep: 'forever' } } })));
    assert.deepEqual(expiryCutoffs(resolveRetention(undefined), 1_000), { default: null, tenants: {} });
  });

  it('turns days into cutoffs, a tenant rule overriding the default', () => {
    const policy = resolveRetention({ default: { keepDays: 365 }, tenants: { acme: { keepDays: 730 }, audit: { keep: 'forever' } } });
    const now = 1_000 * DAY;
    assert.deepEqual(expiryCutoffs(policy, now), { default: now - 365 * DAY, tenants: { acme: now - 730 * DAY, audit: null } });
    assert.equal(keepsEverything(policy), false);
  });

  it('refuses a rule below six months unless allowBelowFloor says so, naming the rule', () => {
    assert.equal(RETENTION_FLOOR_DAYS, 183);
    for (const policy of [{ default: { keepDays: 30 } }, { tenants: { acme: { keepDays: 182 } } }]) {
      assert.throws(
        () => resolveRetention(policy),
        (e) => isWardenError(e, 'INVALID_CONFIG') && /below the floor of 183/.test(e.message) && /retention\.(default|tenants\.acme)/.test(e.message),
      );
    }
    assert.equal(resolveRetention({ default: { keepDays: 183 } }).defaultKeepMs, 183 * DAY);
    assert.equal(resolveRetention({ default: { keepDays: 0 }, allowBelowFloor: true }).defaultKeepMs, 0);
  });

  it('refuses malformed rules, an unknown mode, and archive without a directory', () => {
    const bad: unknown[] = [
      { default: { keepDays: -1 } },
      { default: { keepDays: '365' } },
      { default: 'forever' },
      { tenants: [] },
      { mode: 'shred' },
      { mode: 'archive' },
      { archiveDir: '' },
    ];
    for (const policy of bad)
      assert.throws(
        () => resolveRetention(policy as never),
        (e) => isWardenError(e, 'INVALID_CONFIG'),
        JSON.stringify(policy),
      );
    assert.equal(resolveRetention({ mode: 'archive', archiveDir: '/tmp/a' }).mode, 'archive');
  });
});
