/** The throughput bench's workload as an agent file, for worker processes: five steps, four read calls. */
import { z } from 'zod';
import { defineAgent, defineTool, simulated } from '../../src/index.ts';

const latency = Number(process.env.WARDEN_BENCH_LATENCY_MS ?? 0);

const lookup = defineTool({
  name: 'lookup',
  description: 'Look a record up',
  tier: 'read',
  idempotent: true,
  input: z.object({ id: z.string() }),
  execute: ({ id }) => ({ id, status: 'ok' }),
});

export default defineAgent({
  name: 'bench',
  instructions: 'Check the records.',
  model: simulated.script([
    ...Array.from({ length: 4 }, (_, i) => ({ toolCalls: [{ tool: 'lookup', args: { id: `r${i}` } }], delayMs: latency })),
    { text: 'All records are fine.', delayMs: latency },
  ]),
  tools: [lookup],
  limits: { maxSteps: 10, maxToolCalls: 10, maxRetries: 3, maxWallMs: 120_000, maxCostUsd: 1 },
});
