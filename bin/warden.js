#!/usr/bin/env node
// Runs on Node 24 (pinned in devDependencies), which strips TypeScript types natively.
import { main } from '../src/cli/main.ts';

const code = await main(process.argv.slice(2));
process.exitCode = code;
