import { tokensToNano, type ModelPricing } from '../model/pricing.ts';
import { usd } from '../guard/budget.ts';
import type { RunContext } from './run-context.ts';
import { stopRun } from './run-end.ts';

/** The reservation of the call that was cut (see `planModelReservation`). */
interface CutReservation {
  reservationId: string;
  amountNano: number;
  inputTokens: number;
  maxOutputTokens: number;
}

/**
 * What a streamed call that was cut for running past `maxOutputTokens` is charged: its input as
 * reserved, and its output at the byte count streamed (an upper bound on tokens), which is more
 * than the reservation covered. The provider reported nothing, so nothing lower can be proven.
 */
export function cutCostNano(plan: Omit<CutReservation, 'reservationId'>, outputBytes: number, pricing: ModelPricing): number {
  return plan.amountNano - tokensToNano(plan.maxOutputTokens, pricing.outputPerMTok) + tokensToNano(outputBytes, pricing.outputPerMTok);
}

/**
 * Ends the run after its stream was cut: an overrun is recorded when the upper bound passes the
 * reservation (`estimated`: the provider never said), and the run stops with `cost_ceiling`, as it
 * does when a provider reports more output than it was asked for.
 */
export function stopAfterCut(ctx: RunContext, plan: CutReservation, costNano: number, outputBytes: number): void {
  if (costNano > plan.amountNano) {
    ctx.emit('budget.overrun', {
      reservationId: plan.reservationId,
      reservedNano: plan.amountNano,
      actualNano: costNano,
      reservedTokens: { input: plan.inputTokens, output: plan.maxOutputTokens },
      actualTokens: { input: plan.inputTokens, output: outputBytes },
      estimated: true,
    });
  }
  stopRun(ctx, {
    limit: 'cost_ceiling',
    detail:
      `The provider streamed ${outputBytes} bytes of output, more than the ${plan.maxOutputTokens} output tokens reserved for the call could hold ` +
      `(${usd(plan.amountNano)}); the stream was cut there and the call charged ${usd(costNano)}, its upper bound.`,
  });
}
