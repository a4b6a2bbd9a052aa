import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const CRUISER = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

function cruise(cwd: string) {
  return spawnSync(process.execPath, [CRUISER, 'src', '--config', CONFIG], { cwd, encoding: 'utf8' });
}

describe('the direction of imports in src/', () => {
  it('has no folder importing one beside or above it (dependency-cruiser, .dependency-cruiser.cjs)', () => {
    const out = cruise(ROOT);
    assert.equal(out.status, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /no dependency violations found/);
  });

  it('names the rule a wrong-way import breaks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-layers-'));
    try {
      const files: Record<string, string> = {
        'tsconfig.json': '{"compilerOptions":{"module":"nodenext","allowImportingTsExtensions":true,"noEmit":true}}',
        'src/index.ts': "import './core/fold.ts'; import './core/money.ts'; import './store/sqlite.ts'; import './guard/limits.ts'; import './cli/main.ts';",
        'src/core/fold.ts': "import { run } from '../runtime/loop.ts'; export const fold = run;",
        'src/runtime/loop.ts': 'export const run = 1;',
        'src/store/sqlite.ts': "import { run } from '../runtime/loop.ts'; export const s = run;",
        'src/guard/limits.ts': "import { main } from '../cli/main.ts'; export const l = main;",
        'src/cli/main.ts': 'export const main = 1;',
        'src/core/money.ts': "import type { Run } from './ids.ts'; export type Money = Run;",
        'src/core/ids.ts': "import type { Money } from './money.ts'; export type Run = Money;",
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const out = cruise(dir);
      assert.notEqual(out.status, 0);
      assert.match(out.stdout, /core-imports-only-core: src\/core\/fold\.ts → src\/runtime\/loop\.ts/);
      assert.match(out.stdout, /store-never-imports-runtime: src\/store\/sqlite\.ts → src\/runtime\/loop\.ts/);
      assert.match(out.stdout, /only-cli-imports-cli: src\/guard\/limits\.ts → src\/cli\/main\.ts/);
      assert.match(out.stdout, /layer-guard: src\/guard\/limits\.ts → src\/cli\/main\.ts/);
      assert.match(out.stdout, /no-circular: src\/core\/(money|ids)\.ts →/, 'a type-only cycle between two files is refused too');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the drawing in docs/architecture.md true to the code', () => {
    const out = spawnSync(process.execPath, [join(ROOT, 'scripts/deps-graph.ts'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
  });
});
