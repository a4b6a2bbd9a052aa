/**
 * Builds the published package: `src/` → `dist/` (ESM JavaScript, `.d.ts`, source maps).
 *
 * Plain `tsc` does the compiling: Warden's source is already ESM with explicit `.ts` imports, so a
 * bundler would add a tool and change no output that users see. Two steps `tsc` does not do:
 *   - declaration files keep the `.ts` import specifiers of the source; they are rewritten to `.js`,
 *     which every TypeScript `moduleResolution` maps to the `.d.ts` beside it;
 *   - the dashboard's static files (HTML, CSS, browser JS) are copied next to the server code that
 *     serves them.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

const RELATIVE_TS = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g;
for (const file of walk(dist)) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(RELATIVE_TS, '$1$2.js$3');
  if (rewritten !== text) writeFileSync(file, rewritten);
}

cpSync(join(root, 'src/server/dashboard'), join(dist, 'server/dashboard'), { recursive: true });

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
