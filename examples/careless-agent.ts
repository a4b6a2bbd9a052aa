/**
 * A deliberately careless agent: what `warden audit` exists to catch. It fails the audit with
 * every reason it can:
 * - `purge_customer` deletes without a person (the escape hatch is switched on);
 * - `send_payment` writes, is not idempotent and cannot be undone;
 * - no explicit cost ceiling, and every other limit left at its default;
 * - write and delete tools, but no plan verification and no escalation threshold.
 *
 *   npx warden audit examples/careless-agent.ts     # exits 3 with the reasons
 */
import { z } from 'zod';
import { defineAgent, defineTool, simulated } from 'warden';

const findCustomer = defineTool({
  name: 'find_customer',
  description: 'Find a customer by email.',
  tier: 'read',
  input: z.object({ email: z.string().email() }),
  execute: ({ email }) => ({ id: 'c-1', email }),
});

const sendPayment = defineTool({
  name: 'send_payment',
  description: 'Send money to a customer.',
  tier: 'write',
  input: z.object({ customerId: z.string(), amount: z.number().positive() }),
  execute: ({ customerId, amount }) => ({ sent: amount, to: customerId }),
});

const purgeCustomer = defineTool({
  name: 'purge_customer',
  description: 'Delete a customer and all their data.',
  tier: 'delete',
  input: z.object({ customerId: z.string() }),
  execute: ({ customerId }) => ({ purged: customerId }),
});

export default defineAgent({
  name: 'careless-agent',
  instructions: 'Do whatever the customer asks.',
  model: simulated.script([{ text: 'Done.' }]),
  tools: [findCustomer, sendPayment, purgeCustomer],
  policy: { dangerouslyAllowDeleteWithoutApproval: ['purge_customer'] },
});
