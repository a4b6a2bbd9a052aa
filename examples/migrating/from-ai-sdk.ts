/**
 * Moving an agent from the Vercel AI SDK's tool loop to Warden. The AI SDK version was:
 *
 *   const result = await generateText({
 *     model: openai('gpt-4o-mini'),
 *     system: 'You help customers with their orders.',
 *     prompt,
 *     tools: aiTools,
 *     stopWhen: stepCountIs(8),
 *   });
 *
 * The same agent under Warden: the tool set is kept as it is and wrapped by fromAiSdkTools, which
 * only asks what each tool may do (its tier); stopWhen becomes limits; the runtime adds the
 * ceiling, approvals and the trace. Runs offline on the simulated model:
 *   npx warden run examples/migrating/from-ai-sdk.ts --input "Where is order 1042?"
 */
import { tool } from 'ai';
import { z } from 'zod';
import { defineAgent, fromAiSdkTools, simulated } from 'warden';

// Unchanged from the AI SDK version.
const aiTools = {
  lookup_order: tool({
    description: 'Find an order by its id.',
    inputSchema: z.object({ orderId: z.string() }),
    execute: async ({ orderId }) => ({ orderId, status: 'shipped' }),
  }),
};

export default defineAgent({
  name: 'order-status',
  instructions: 'You help customers with their orders.', // was: system
  // was: openai('gpt-4o-mini') — any AI SDK model works here unchanged
  model: simulated.script([{ toolCalls: [{ tool: 'lookup_order', args: { orderId: '1042' } }] }, { text: 'Order 1042 has shipped.' }]),
  tools: fromAiSdkTools(aiTools, { tiers: { lookup_order: 'read' } }), // new: what each tool may do
  limits: { maxSteps: 8, maxCostUsd: 0.02, maxToolCalls: 8, maxRetries: 3, maxWallMs: 60_000 }, // was: stopWhen: stepCountIs(8)
});
