/**
 * Moving an agent from the OpenAI Agents SDK to Warden. The Agents SDK version was:
 *
 *   const refund = tool({ name: 'refund', parameters: z.object({…}), needsApproval: true, execute });
 *   const billing = new Agent({ name: 'billing', instructions: '…', tools: [refund] });
 *   const triage = new Agent({ name: 'triage', instructions: '…', handoffs: [billing] });
 *   let result = await run(triage, input);            // needsApproval → result.interruptions
 *   result.state.approve(result.interruptions[0]);    // held in memory, resumed with run(agent, state)
 *
 * Under Warden, needsApproval becomes a tier or an approval rule whose decision is durable (it
 * survives restarts and binds to the exact arguments), and a handoff becomes a delegate: a child
 * run with its own log that shares the parent's ceiling. Runs offline on the simulated model:
 *   npx warden run examples/migrating/from-openai-agents.ts --input "Refund order 7, it never came"
 */
import { z } from 'zod';
import { defineAgent, defineTool, simulated } from 'warden';

const refund = defineTool({
  name: 'refund',
  description: 'Refund an order.',
  tier: 'write',
  approval: true, // was: needsApproval: true
  idempotent: true,
  input: z.object({ orderId: z.string(), amount: z.number().positive() }), // was: parameters
  execute: async ({ orderId, amount }, ctx) => ({ refunded: amount, orderId, reference: ctx.idempotencyKey }),
});

const billing = defineAgent({
  name: 'billing',
  description: 'Handles refunds.',
  instructions: 'Refund orders that never arrived.',
  model: simulated.script([{ toolCalls: [{ tool: 'refund', args: { orderId: '7', amount: 30 } }] }, { text: 'Refunded $30 for order 7.' }]),
  tools: [refund],
  limits: { maxSteps: 4, maxCostUsd: 0.01 },
});

export default defineAgent({
  name: 'triage',
  instructions: 'Send billing questions to billing.',
  model: simulated.script([{ toolCalls: [{ tool: 'delegate_billing', args: { task: 'Refund order 7, it never came.' } }] }, { text: 'Billing refunded order 7.' }]),
  tools: [],
  delegates: [billing], // was: handoffs: [billing]
  limits: { maxSteps: 4, maxCostUsd: 0.02, maxToolCalls: 4, maxRetries: 2, maxWallMs: 60_000 },
});
