/**
 * Moving an agent from the Vercel AI SDK's tool loop to Warden. The AI SDK version was:
 *
 *   const result = await generateText({
 *     model: openai('gpt-4o-mini'),
 *     system: 'You help customers with their orders.',
 *     prompt,
 *     tools: { lookupOrder: tool({ description, inputSchema: z.object({ orderId: z.string() }), execute }) },
 *     stopWhen: stepCountIs(8),
 *   });
 *
 * The same agent under Warden: tools keep their zod schema and execute; stopWhen becomes limits;
 * the runtime adds the tier, the ceiling and the trace. Runs offline on the simulated model:
 *   npx warden run examples/migrating/from-ai-sdk.ts --input "Where is order 1042?"
 */
import { z } from 'zod';
import { defineAgent, defineTool, simulated } from 'warden';

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Find an order by its id.',
  tier: 'read', // new: what the tool may do
  idempotent: true, // new: safe to retry after an unknown outcome
  input: z.object({ orderId: z.string() }), // was: inputSchema
  execute: async ({ orderId }) => ({ orderId, status: 'shipped' }), // unchanged
});

export default defineAgent({
  name: 'order-status',
  instructions: 'You help customers with their orders.', // was: system
  // was: openai('gpt-4o-mini') — any AI SDK model works here unchanged
  model: simulated.script([{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }] }, { text: 'Order 1042 has shipped.' }]),
  tools: [lookupOrder],
  limits: { maxSteps: 8, maxCostUsd: 0.02, maxToolCalls: 8, maxRetries: 3, maxWallMs: 60_000 }, // was: stopWhen: stepCountIs(8)
});
