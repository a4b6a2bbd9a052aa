import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { isWardenError } from '../core/errors.ts';
import { FAULT_PROFILES, parseFaultProfile, resolveFaultProfile } from './fault-profile.ts';
import { outageWindow } from './outage.ts';

const dir = mkdtempSync(join(tmpdir(), 'warden-faults-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e) => isWardenError(e) && e.code === code && message.test(e.message));
}

describe('fault profiles', () => {
  it('orders the built-in profiles from calm to storm', () => {
    for (const key of Object.keys(FAULT_PROFILES.realistic.rates) as (keyof typeof FAULT_PROFILES.realistic.rates)[]) {
      if (key === 'tokenTail') continue;
      assert.ok(FAULT_PROFILES.calm.rates[key] <= FAULT_PROFILES.realistic.rates[key], key);
      assert.ok(FAULT_PROFILES.realistic.rates[key] <= FAULT_PROFILES.storm.rates[key], key);
    }
    assert.equal(resolveFaultProfile().name, 'realistic');
  });

  it('reads a JSON file that sets some rates on top of a base profile', () => {
    const profile = resolveFaultProfile(file('p.json', JSON.stringify({ extends: 'storm', rates: { loop: 0.5, toolTimeout: 0 }, reviewer: { decides: 0 } })));
    assert.equal(profile.rates.loop, 0.5);
    assert.equal(profile.rates.toolTimeout, 0);
    assert.equal(profile.rates.rateLimited, FAULT_PROFILES.storm.rates.rateLimited);
    assert.deepEqual(profile.reviewer, { decides: 0, approves: FAULT_PROFILES.storm.reviewer.approves });
  });

  it('takes a primary outage as a share of the requests: the built-in outage profile, or a file on top of any base', () => {
    assert.equal(resolveFaultProfile('outage').outage, 0.3);
    assert.deepEqual(resolveFaultProfile('outage').rates, FAULT_PROFILES.realistic.rates);
    assert.equal(resolveFaultProfile('storm').outage, 0);
    assert.equal(resolveFaultProfile(file('o.json', JSON.stringify({ extends: 'calm', outage: 0.05 }))).outage, 0.05);
    rejects(() => parseFaultProfile({ outage: 1.5 }, 'o.json'), 'INVALID_CONFIG', /outage: .*; .*outage \(share of requests\)/);
    assert.deepEqual(outageWindow(0.3, 1000), { first: 250, last: 549 });
    assert.deepEqual(outageWindow(0.9, 10), { first: 1, last: 9 }, 'moved earlier to fit');
    assert.equal(outageWindow(0, 1000), null);
  });

  it('names the profiles it knows when given an unknown one', () => {
    rejects(() => resolveFaultProfile('chaos'), 'INVALID_ARGUMENT', /Unknown fault profile "chaos": use none, calm, realistic, storm/);
  });

  it('says which file is not JSON', () => {
    rejects(() => resolveFaultProfile(file('bad.json', '{ rates: ')), 'INVALID_CONFIG', /bad\.json is not valid JSON/);
    rejects(() => resolveFaultProfile(join(dir, 'missing.json')), 'INVALID_ARGUMENT', /Cannot read the fault profile file/);
  });

  it('rejects unknown rates and rates outside [0, 1], listing the known ones', () => {
    rejects(() => parseFaultProfile({ rates: { loops: 0.1 } }), 'INVALID_CONFIG', /rates: Unrecognized key.*Known rates: rateLimited/s);
    rejects(() => parseFaultProfile({ rates: { loop: 1.5 } }), 'INVALID_CONFIG', /rates\.loop/);
    rejects(() => parseFaultProfile({ rates: { tokenTail: 1 } }), 'INVALID_CONFIG', /rates\.tokenTail/);
    rejects(() => parseFaultProfile({ extends: 'hurricane' }), 'INVALID_CONFIG', /extends/);
    rejects(() => parseFaultProfile([]), 'INVALID_CONFIG', /\(root\)/);
  });
});
