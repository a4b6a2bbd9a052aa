/**
 * Moving an agent from the OpenAI Agents SDK to Warden. The Agents SDK version was:
 *
 *   const refund = tool({ name: 'refund', parameters: z.object({…}), needsApproval: true, execute });
 *   const billing = new Agent({ name: 'billing', instructions: '…', tools: [refund] });
 *   const triage = new Agent({ name: 'triage', instructions: '…', handoffs: [billing] });
 *   let result = await run(triage, input);            // needsApproval → result.interruptions
 *   result.state.approve(result.interruptions[0]);    // held in memory, resumed with run(agent, state)
 *
 * Under Warden the tool is kept as it is and wrapped by fromOpenAIAgentsTools, which asks for its
 * tier; its needsApproval becomes a durable approval (it survives restarts and binds to the exact
 * arguments), and a handoff becomes a delegate: a child run with its own log that shares the
 * parent's ceiling. Runs offline on the simulated model:
 *   npx warden run examples/migrating/from-openai-agents.ts --input "Refund order 7, it never came"
 */
import { tool } from '@openai/agents-core'; // the same tool() that '@openai/agents' exports
import { z } from 'zod';
import { defineAgent, fromOpenAIAgentsTools, simulated } from 'warden';

// Unchanged from the Agents SDK version.
const refund = tool({
  name: 'refund',
  description: 'Refund an order.',
  parameters: z.object({ orderId: z.string(), amount: z.number().positive() }),
  needsApproval: true,
  execute: async ({ orderId, amount }) => ({ refunded: amount, orderId }),
});

const billing = defineAgent({
  name: 'billing',
  description: 'Handles refunds.',
  instructions: 'Refund orders that never arrived.',
  model: simulated.script([{ toolCalls: [{ tool: 'refund', args: { orderId: '7', amount: 30 } }] }, { text: 'Refunded $30 for order 7.' }]),
  tools: fromOpenAIAgentsTools([refund], { tiers: { refund: 'write' } }), // new: what the tool may do
  limits: { maxSteps: 4, maxCostUsd: 0.01 },
});

export default defineAgent({
  name: 'triage',
  instructions: 'Send billing questions to billing.',
  model: simulated.script([
    { toolCalls: [{ tool: 'delegate_billing', args: { task: 'Refund order 7, it never came.' } }] },
    { text: 'Billing refunded order 7.' },
  ]),
  tools: [],
  delegates: [billing], // was: handoffs: [billing]
  limits: { maxSteps: 4, maxCostUsd: 0.02, maxToolCalls: 4, maxRetries: 2, maxWallMs: 60_000 },
});
