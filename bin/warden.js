#!/usr/bin/env node
// Installed from the registry or a tarball, the package ships compiled JavaScript in dist/ (Node
// does not strip types under node_modules). In Warden's own repository the source is run directly
// (Node 24 strips types), so the CLI never runs a stale build, and agent files there that import
// 'warden' get the same source modules as the CLI.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';

// Node 22 marks SQLite and type stripping as experimental and says so on every command; both are
// what Warden is tested on (see `engines`), so the CLI does not repeat it. Other warnings print.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const text = typeof warning === 'string' ? warning : warning?.message;
  if (/^(SQLite|Type Stripping) is an experimental feature/.test(String(text))) return;
  return emitWarning.call(process, warning, ...rest);
};

const source = new URL('../src/index.ts', import.meta.url);
const inRepository = existsSync(source);
if (inRepository) {
  registerHooks({
    resolve: (specifier, context, next) => next(specifier === 'warden' ? source.href : specifier, context),
  });
}
const { main } = await import(inRepository ? '../src/cli/main.ts' : '../dist/cli/main.js');

const code = await main(process.argv.slice(2));
process.exitCode = code;
