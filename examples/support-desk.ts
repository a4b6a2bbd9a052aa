/**
 * A customer-support agent with one tool of each tier:
 * - lookup_order (read) runs freely;
 * - refund (write) runs on its own up to $100 and waits for a person above that;
 * - delete_account (delete) always waits for a person.
 *
 * It runs on the simulated model, so it needs no API key:
 *   npx warden run examples/support-desk.ts --input "Refund order 1042"
 * See what ten thousand requests would bring, and whether it is ready to sign off:
 *   npx warden rehearse examples/support-desk.ts
 *   npx warden audit examples/support-desk.ts
 */
import { z } from 'zod';
import { defineAgent, defineTool, simulated, type SimulatedTurn, type SimulatedView } from 'warden';

/** A stand-in for the shop's systems, in memory so the example runs anywhere. */
const orders = new Map([
  ['1042', { id: '1042', customer: 'c-77', total: 250, status: 'delivered' }],
  ['2001', { id: '2001', customer: 'c-12', total: 40, status: 'delivered' }],
]);
const refunds = new Map<string, { orderId: string; amount: number }>();

export const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Find an order by its id.',
  tier: 'read',
  idempotent: true,
  input: z.object({ orderId: z.string().min(1) }),
  output: z.object({ id: z.string(), customer: z.string(), total: z.number(), status: z.string() }),
  provides: ['order'],
  execute: ({ orderId }) => {
    const order = orders.get(orderId);
    if (!order) throw new Error(`No order ${orderId}`);
    return order;
  },
});

export const refund = defineTool({
  name: 'refund',
  description: 'Refund part or all of an order to the customer.',
  tier: 'write',
  // The payment provider deduplicates on the idempotency key, so a retry can never pay twice.
  idempotent: true,
  input: z.object({ orderId: z.string().min(1), amount: z.number().positive().max(10_000), reason: z.string().max(500) }),
  approval: ({ amount }) => amount > 100,
  requires: ['order'],
  lockKey: ({ orderId }) => `order:${orderId}`,
  costUsd: 0.002,
  execute: ({ orderId, amount }, ctx) => {
    const done = refunds.get(ctx.idempotencyKey) ?? { orderId, amount };
    refunds.set(ctx.idempotencyKey, done);
    return { refunded: done.amount, orderId, reference: ctx.idempotencyKey };
  },
  // Reversible: `warden undo` (or compensateOnFailure) charges the refund back, once per key.
  compensate: ({ orderId, amount }, result: { reference: string }) => {
    refunds.delete(result.reference);
    return { reversed: result.reference, orderId, amount };
  },
  shadowResult: ({ orderId, amount }) => ({ refunded: amount, orderId, reference: 'shadow' }),
});

export const deleteAccount = defineTool({
  name: 'delete_account',
  description: "Permanently delete a customer's account and personal data.",
  tier: 'delete',
  input: z.object({ customerId: z.string().min(1) }),
  execute: ({ customerId }) => ({ deleted: customerId }),
  // Restoring from the nightly backup; as the reverse of a delete, it waits for a person too.
  compensate: ({ customerId }) => ({ restored: customerId, from: 'nightly backup' }),
});

/**
 * The example's stand-in for a real model: plan, look the order up, refund its total, then say
 * what actually happened. `npx warden run … --input "Refund order 2001"` takes the small refund
 * that needs no person; order 1042 ($250) waits for one, and a denial is reported as a denial.
 * A follow-up in the same conversation (`--conversation ID`) is answered from the earlier turns.
 */
export function supportModel({ userMessages, answers, sinceMessage }: SimulatedView): SimulatedTurn {
  // In a conversation the prompt holds the earlier turns too: answer the latest message, from what
  // happened since it (and, for a follow-up, from what was already done).
  const input = userMessages.at(-1) ?? '';
  const last = sinceMessage.at(-1) ?? null;
  const orderId = /\b(\d{3,})\b/.exec(input)?.[1];
  if (!orderId) {
    const done = answers.map((a) => /I have refunded \$(\d+) for order (\d+)/.exec(a)).findLast((m) => m !== null);
    if (done) return { text: `The $${done[1]} refund for order ${done[2]} is on its way: it reaches your card in 3-5 days.`, confidence: 0.9 };
    return { text: 'Which order is it about? Please send me the order number.', confidence: 0.9 };
  }
  const reason = /broken|damaged/i.test(input) ? 'damaged on arrival' : 'customer request';
  if (last === null) {
    return {
      toolCalls: [
        {
          tool: 'submit_plan',
          args: {
            steps: [
              { id: 'find', tool: 'lookup_order', args: { orderId } },
              { id: 'pay', tool: 'refund', args: { orderId: { $ref: 'find.id' }, amount: { $ref: 'find.total' }, reason }, dependsOn: ['find'] },
            ],
          },
        },
      ],
      rationale: 'Look the order up, then refund its total.',
      confidence: 0.9,
    };
  }
  if (last.tool === 'submit_plan') {
    if (!last.ok) return { text: `I could not make a plan that passes the checks: ${String(last.output)}`, confidence: 0.9 };
    return { toolCalls: [{ tool: 'lookup_order', args: { orderId } }], rationale: 'The refund needs the order first.', confidence: 0.95 };
  }
  if (last.tool === 'lookup_order') {
    if (!last.ok) return { text: `I could not find order ${orderId}, so nothing was refunded.`, confidence: 0.9 };
    const { total } = last.output as { total: number };
    return { toolCalls: [{ tool: 'refund', args: { orderId, amount: total, reason } }], rationale: 'Order found; refund the full amount.', confidence: 0.85 };
  }
  if (last.tool === 'refund' && last.ok) {
    const { refunded } = last.output as { refunded: number };
    return { text: `I have refunded $${refunded} for order ${orderId}. It will reach your card in 3-5 days.`, confidence: 0.9 };
  }
  return { text: `I could not refund order ${orderId}: ${String(last.output)}. No money was moved; a colleague will follow up.`, confidence: 0.9 };
}

export default defineAgent({
  name: 'support-desk',
  description: 'Answers order questions and issues refunds; account deletion needs a person.',
  instructions: 'You help customers with their orders. Look the order up before refunding. Never delete an account unless the customer asks.',
  // The simulated model answers from what happened: the order in the request, what the lookup
  // found, and whether the refund ran or a person declined it.
  model: simulated.respond(supportModel, { inputPerMTok: 0.15, outputPerMTok: 0.6 }),
  tools: [lookupOrder, refund, deleteAccount],
  limits: { maxSteps: 8, maxToolCalls: 6, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: 0.05, maxOutputTokens: 1024 },
  policy: { onDeny: 'continue' },
  // Plan mode: the plan is checked against the tools' contracts (refund requires an order looked up).
  plan: { maxRejections: 2, onDeviation: 'reverify' },
  // Steps the model is less than 60% sure of wait for a person.
  escalation: { threshold: 0.6 },
});
