/**
 * The support desk with a stricter policy, to try before shipping it:
 *   npx warden replay --all --since 24h --agent examples/what-if/support-desk-strict.ts
 * Refunds above $200 are denied outright and the ceiling is halved.
 */
import { defineAgent } from 'warden';
import desk, { deleteAccount, lookupOrder, refund } from '../support-desk.ts';

export default defineAgent({
  name: desk.name,
  description: 'Support desk with refunds above $200 denied.',
  instructions: desk.instructions,
  model: desk.model,
  tools: [lookupOrder, refund, deleteAccount],
  limits: { ...desk.limits, maxCostUsd: 0.025 },
  ...(desk.plan ? { plan: desk.plan } : {}),
  ...(desk.escalation ? { escalation: desk.escalation } : {}),
  policy: {
    onDeny: 'continue',
    rules: [
      {
        name: 'no-large-refunds',
        tools: ['refund'],
        when: ({ amount }: { amount: number }) => amount > 200,
        decision: 'deny',
        reason: 'refunds above $200 go through finance',
      },
    ],
  },
});
