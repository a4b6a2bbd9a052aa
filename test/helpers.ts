import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { defineAgent, type AgentConfig } from '../src/agent/agent.ts';
import { defineTool, type AnyTool } from '../src/agent/tool.ts';
import { simulated } from '../src/model/simulated.ts';
import { seededRandom } from '../src/model/seeded-random.ts';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { createWarden, type WardenOptions } from '../src/runtime/warden.ts';

/**
 * A parsed JSON body as tests read it: fields are picked straight off it and the assertion that
 * follows is the check, so a wrong guess fails there rather than in a type.
 */
// biome-ignore lint/suspicious/noExplicitAny: the one deliberate any of the tests, for parsed JSON bodies they read fields off
export type Json = any;

export function tempDir(prefix = 'warden-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A Warden on a fresh in-memory SQLite store, with backoff sleeps shortened to nothing and seeded jitter. */
export function testWarden(path = ':memory:', options: Omit<WardenOptions, 'store'> = {}) {
  const store = createSqliteStore({ path });
  const warden = createWarden({ store, sleep: async () => {}, random: seededRandom(1), ...options });
  return { store, warden };
}

/** Records every execution so tests can check what really ran (side effects, not the log). */
export class SideEffects {
  readonly calls: { tool: string; args: unknown; key: string; attempt: number }[] = [];
  count(tool: string): number {
    return this.calls.filter((c) => c.tool === tool).length;
  }
}

export function supportTools(effects: SideEffects): AnyTool[] {
  return [
    defineTool({
      name: 'lookup_order',
      description: 'Find an order',
      tier: 'read',
      idempotent: true,
      input: z.object({ orderId: z.string() }),
      execute: (args, ctx) => {
        effects.calls.push({ tool: 'lookup_order', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return { id: args.orderId, total: 250 };
      },
    }),
    defineTool({
      name: 'refund',
      description: 'Refund an order',
      tier: 'write',
      input: z.object({ orderId: z.string(), amount: z.number().positive() }),
      approval: (args) => args.amount > 100,
      execute: (args, ctx) => {
        effects.calls.push({ tool: 'refund', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return { refunded: args.amount };
      },
    }),
    defineTool({
      name: 'delete_account',
      description: 'Delete an account',
      tier: 'delete',
      input: z.object({ customerId: z.string() }),
      execute: (args, ctx) => {
        effects.calls.push({ tool: 'delete_account', args, key: ctx.idempotencyKey, attempt: ctx.attempt });
        return { deleted: args.customerId };
      },
    }),
  ];
}

type Turns = Parameters<typeof simulated.script>[0];

export function scriptedAgent(turns: Turns, tools: AnyTool[], overrides: Partial<AgentConfig> = {}) {
  return defineAgent({
    name: 'test-agent',
    instructions: 'Test agent.',
    model: simulated.script(turns),
    tools,
    limits: { maxSteps: 10, maxToolCalls: 10, maxRetries: 4, maxWallMs: 60_000, maxCostUsd: 1, ...overrides.limits },
    backoff: { baseMs: 0, maxMs: 0 },
    ...overrides,
    ...(overrides.limits ? { limits: { maxSteps: 10, maxToolCalls: 10, maxRetries: 4, maxWallMs: 60_000, maxCostUsd: 1, ...overrides.limits } } : {}),
  });
}

export const CLI = resolve('bin/warden.js');

/** Runs the real `warden` CLI in a child process and collects what it printed. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs that must not affect each other: no shared breakers or retry budget between them. */
export const INDEPENDENT_RUNS = { scheduler: { breaker: false, retryBudget: false } } as const;

/**
 * Waits until `predicate` holds, polling every few ms, and fails with `message` after `timeoutMs`.
 * Use it instead of a sleep that waits "long enough": the test goes on as soon as the condition
 * holds, and a condition that never comes fails by name instead of passing or failing by luck.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, message = 'a condition', intervalMs = 5 }: { timeoutMs?: number; message?: string; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
