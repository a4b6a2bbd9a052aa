import type { ModelPricing } from '../model/model-pricing.ts';
import { formatUsd, tokensToNano } from '../core/money.ts';
import { remainingNano } from '../guard/budget.ts';
import type { RunContext } from './run-context.ts';
import { stopRun } from './decide/run-end.ts';
import { reserve } from './decide/ledger.ts';
import type { Decisions } from './decide/decisions.ts';

/**
 * How far a streamed call may go, in bytes per reserved output token, once more is reserved:
 * prose runs about four bytes a token, so an honest answer within `maxOutputTokens` fits.
 */
export const STREAM_BYTES_PER_TOKEN = 4;

/** A reservation added while a call streams, so its byte count stays covered. */
export interface StreamTopUp {
  reservationId: string;
  amountNano: number;
  /** Output tokens it covers on top of the call's `maxOutputTokens`. */
  outputTokens: number;
}

/**
 * Called when a streamed call's output passes `maxOutputTokens` bytes. Bytes bound tokens from
 * above, so to go on without trusting the provider, the rest of `STREAM_BYTES_PER_TOKEN ×
 * maxOutputTokens` bytes is reserved as output tokens, once, in the store, before another byte is
 * read: granted, the stream goes on to that many bytes; refused by the ceiling (here or in the
 * shared ledger), it is cut. Null when refused.
 */
export async function reserveStreamTopUp(ctx: RunContext, reservationId: string, maxOutputTokens: number, pricing: ModelPricing): Promise<StreamTopUp | null> {
  const outputTokens = (STREAM_BYTES_PER_TOKEN - 1) * maxOutputTokens;
  const amountNano = tokensToNano(outputTokens, pricing.outputPerMTok);
  if (amountNano > remainingNano(ctx.state) || ctx.budgetRefusal) return null;
  const topUp = { reservationId: `${reservationId}+stream`, amountNano, outputTokens };
  await ctx.beforeReservation();
  reserve(ctx, topUp.reservationId, 'model', amountNano);
  await ctx.flush();
  return ctx.budgetRefusal ? null : topUp;
}

/** The reservation of the call that was cut (see `planModelReservation`), and its top-up if any. */
interface CutReservation {
  reservationId: string;
  amountNano: number;
  inputTokens: number;
  maxOutputTokens: number;
  topUp?: StreamTopUp | null;
}

/**
 * What a streamed call that was cut for running past `maxOutputTokens` is charged: its input as
 * reserved, and its output at the byte count streamed (an upper bound on tokens), which is more
 * than the reservation covered. The provider reported nothing, so nothing lower can be proven.
 */
export function cutCostNano(plan: Omit<CutReservation, 'reservationId' | 'topUp'>, outputBytes: number, pricing: ModelPricing): number {
  return plan.amountNano - tokensToNano(plan.maxOutputTokens, pricing.outputPerMTok) + tokensToNano(outputBytes, pricing.outputPerMTok);
}

/**
 * Ends the run after its stream was cut: an overrun is recorded when the upper bound passes the
 * reservation (`estimated`: the provider never said), and the run stops with `cost_ceiling`, as it
 * does when a provider reports more output than it was asked for.
 */
export function stopAfterCut(d: Decisions, plan: CutReservation, costNano: number, outputBytes: number): void {
  const reservedTokens = plan.maxOutputTokens + (plan.topUp?.outputTokens ?? 0);
  const overrun = overrunOf(plan, costNano);
  if (overrun) {
    d.emit('budget.overrun', {
      ...overrun,
      reservedTokens: { input: plan.inputTokens, output: reservedTokens },
      actualTokens: { input: plan.inputTokens, output: outputBytes },
      estimated: true,
    });
  }
  stopRun(d, {
    limit: 'cost_ceiling',
    detail:
      `The provider streamed ${outputBytes} bytes of output, more than the ${reservedTokens} output tokens reserved for the call could hold ` +
      `(${formatUsd(plan.amountNano + (plan.topUp?.amountNano ?? 0))}); the stream was cut there and the call charged ${formatUsd(costNano)}, its upper bound.`,
  });
}

/**
 * How a call's cost splits over its reservation and top-up: the reservation first, the rest on
 * the top-up (which then carries any overrun). Without a top-up, the reservation carries it all.
 */
export function splitCost(
  plan: Pick<CutReservation, 'reservationId' | 'amountNano' | 'topUp'>,
  costNano: number,
): { reservationId: string; reservedNano: number; actualNano: number }[] {
  if (!plan.topUp) return [{ reservationId: plan.reservationId, reservedNano: plan.amountNano, actualNano: costNano }];
  const first = Math.min(costNano, plan.amountNano);
  return [
    { reservationId: plan.reservationId, reservedNano: plan.amountNano, actualNano: first },
    { reservationId: plan.topUp.reservationId, reservedNano: plan.topUp.amountNano, actualNano: costNano - first },
  ];
}

/** The part of the split that cost more than it reserved, if any. */
export function overrunOf(
  plan: Pick<CutReservation, 'reservationId' | 'amountNano' | 'topUp'>,
  costNano: number,
): { reservationId: string; reservedNano: number; actualNano: number } | undefined {
  return splitCost(plan, costNano).find((p) => p.actualNano > p.reservedNano);
}
