/**
 * Streaming: the model's text as it is written, with the run governed as usual.
 *
 *   node --conditions=warden-source examples/services/streaming.ts   # in this repository
 *
 * Runs offline on the simulated model (swap in `openai('gpt-4.1-mini')` for a real one).
 */
import { z } from 'zod';
import { createSqliteStore, createWarden, defineAgent, defineTool, simulated } from 'warden';

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Find an order by id',
  tier: 'read',
  idempotent: true,
  input: z.object({ orderId: z.string() }),
  execute: ({ orderId }) => ({ id: orderId, shipped: 'Monday', eta: 'Thursday' }),
});

const agent = defineAgent({
  name: 'order-desk',
  instructions: 'Answer questions about orders.',
  model: simulated.script([
    { text: 'Let me look up order 1042. ', toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }] },
    { text: 'Order 1042 shipped on Monday and should reach you by Thursday.' },
  ]),
  tools: [lookupOrder],
  limits: { maxCostUsd: 0.05 },
});

const warden = createWarden({ store: createSqliteStore({ path: ':memory:' }) });

// AI SDK style: an async iterable of text, and the run's result.
const { textStream, result } = warden.stream(agent, 'Where is order 1042?');
for await (const text of textStream) process.stdout.write(text);
const done = await result;
process.stdout.write(`\n[${done.status}, ${done.steps} steps, $${done.costUsd.toFixed(6)}]\n`);

// Or a callback on run/execute, which also says which step and attempt the text belongs to.
await warden.run(agent, 'And order 1042 again?', { onText: ({ step, delta }) => process.stdout.write(step === 1 ? delta.toUpperCase() : delta) });
process.stdout.write('\n');
