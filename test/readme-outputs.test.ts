import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

describe('the README', () => {
  it('shows what its commands print today (scripts/readme-outputs.ts --check)', { timeout: 300_000 }, () => {
    const marked = readFileSync('README.md', 'utf8').match(/<!-- readme-output: /g) ?? [];
    assert.ok(marked.length >= 7, `only ${marked.length} output blocks are marked`);
    const check = spawnSync(process.execPath, ['--conditions=warden-source', 'scripts/readme-outputs.ts', '--check'], { encoding: 'utf8', timeout: 280_000 });
    assert.equal(check.status, 0, `${check.stdout}\n${check.stderr}`);
  });
});
