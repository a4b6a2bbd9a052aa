import type { ConversationMessage, ModelRequest } from '../core/ports/model.ts';
import { ratesUpTo, reservedInputPerMTok } from '../model/pricing.ts';
import type { ModelPricing } from '../model/model-pricing.ts';
import { formatUsd, tokensToNano } from '../core/money.ts';
import type { RunState } from '../core/run-state.ts';
import type { BudgetSnapshot } from '../core/events.ts';

/** Tokens of framing a provider may add per message (role markers and the like). */
const PER_MESSAGE_OVERHEAD = 8;

/** Below this many affordable output tokens a call is not worth making: the run stops instead. */
export const MIN_OUTPUT_TOKENS = 256;

/**
 * An upper bound on the input tokens of a request. A byte-level tokenizer never makes more tokens
 * than the text has bytes, so reserving against the byte count can never under-reserve.
 */
export function inputTokenBound(request: Pick<ModelRequest, 'system' | 'messages' | 'tools' | 'responseFormat'>): number {
  const sent: unknown[] = [request.system, request.messages, request.tools];
  if (request.responseFormat) sent.push(request.responseFormat); // the schema is input the provider bills
  const text = JSON.stringify(sent);
  return Buffer.byteLength(text, 'utf8') + PER_MESSAGE_OVERHEAD * (request.messages.length + 1);
}

/** An upper bound on the tokens `messages` add to a request (the measure `inputTokenBound` uses). */
export function messagesTokenBound(messages: readonly ConversationMessage[]): number {
  if (messages.length === 0) return 0;
  return Buffer.byteLength(JSON.stringify(messages), 'utf8') + PER_MESSAGE_OVERHEAD * messages.length;
}

/** What the run may still spend: ceiling − spent − open reservations, in nano-USD. */
export function remainingNano(state: RunState): number {
  let reserved = 0;
  for (const amount of state.openReservations.values()) reserved += amount;
  return state.ceilingNano - state.spentNano - reserved;
}

export type ModelReservation = { ok: true; amountNano: number; maxOutputTokens: number; inputTokens: number } | { ok: false; detail: string };

/**
 * Sizes the reservation for the next model call: worst-case input (`inputTokens`, which includes
 * the provider's own added input) at the dearest input rate (a cache write may cost more than
 * plain input) plus the largest completion the run can still pay for, capped by `maxOutputTokens`.
 * When not even `MIN_OUTPUT_TOKENS` fit, the call is not made.
 */
export function planModelReservation(state: RunState, tiered: ModelPricing, inputTokens: number, remaining = remainingNano(state)): ModelReservation {
  // A price tiered by context length is reserved at the dearest tier the input bound can reach.
  const pricing = ratesUpTo(tiered, inputTokens);
  const inputNano = tokensToNano(inputTokens, reservedInputPerMTok(pricing));
  const wanted = state.limits.maxOutputTokens;
  const perOutput = pricing.outputPerMTok * 1000;
  let maxOutputTokens = wanted;
  if (perOutput > 0 && inputNano + tokensToNano(wanted, pricing.outputPerMTok) > remaining) {
    maxOutputTokens = Math.floor((remaining - inputNano) / perOutput);
    while (maxOutputTokens > 0 && inputNano + tokensToNano(maxOutputTokens, pricing.outputPerMTok) > remaining) maxOutputTokens--;
  }
  const floor = Math.min(MIN_OUTPUT_TOKENS, wanted);
  if (inputNano > remaining || maxOutputTokens < floor) {
    return {
      ok: false,
      detail:
        `The next model call could cost up to ${formatUsd(inputNano + tokensToNano(floor, pricing.outputPerMTok))} ` +
        `(${inputTokens} input tokens at most, ${floor} output tokens at least), ` +
        `but only ${formatUsd(Math.max(0, remaining))} of the ${formatUsd(state.ceilingNano)} ceiling is left.`,
    };
  }
  return { ok: true, amountNano: inputNano + tokensToNano(maxOutputTokens, pricing.outputPerMTok), maxOutputTokens, inputTokens };
}

/** The run's ledger as events record it: spent, reserved and the ceiling, in nano-USD. */
export function budgetSnapshot(state: RunState): BudgetSnapshot {
  return { spentNano: state.spentNano, reservedNano: state.ceilingNano - state.spentNano - remainingNano(state), ceilingNano: state.ceilingNano };
}
