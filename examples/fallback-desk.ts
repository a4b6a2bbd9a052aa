/**
 * The support desk with a fallback model: `model: [primary, fallback]`. The primary stands in for
 * a provider in an outage (every call answers 503), so each step goes on to the fallback, which
 * answers at its own, higher price; the reservation is sized for the model actually called, so the
 * $0.05 ceiling holds across the fallback. See docs/models.md, "Fallbacks".
 *
 *   npx warden run examples/fallback-desk.ts --input "Refund order 2001"
 *   npx warden rehearse examples/fallback-desk.ts --faults outage --requests 2000
 */
import { defineAgent, simulated } from 'warden';
import { deleteAccount, lookupOrder, refund, supportModel } from './support-desk.ts';

export default defineAgent({
  name: 'fallback-desk',
  description: 'The support desk, with a second model to fall back on when the first is down.',
  instructions: 'You help customers with their orders. Look the order up before refunding. Never delete an account unless the customer asks.',
  model: [
    // The primary: cheap, and (in this example) down.
    simulated.respond((view) => ({ ...supportModel(view), error: { status: 503, times: 1_000_000 } }), {
      modelId: 'mini',
      inputPerMTok: 0.15,
      outputPerMTok: 0.6,
    }),
    // The fallback: another provider's model, 20 times dearer; its price is its own.
    simulated.respond(supportModel, { modelId: 'large', inputPerMTok: 3, outputPerMTok: 12 }),
  ],
  tools: [lookupOrder, refund, deleteAccount],
  limits: { maxSteps: 8, maxToolCalls: 6, maxRetries: 3, maxWallMs: 60_000, maxCostUsd: 0.05, maxOutputTokens: 1024 },
  plan: { maxRejections: 2, onDeviation: 'reverify' },
});
