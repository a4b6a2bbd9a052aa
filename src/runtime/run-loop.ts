import { WardenError } from '../core/errors.ts';
import type { RunContext } from './run-context.ts';
import { nextAction, openCalls } from './decide/next-action.ts';
import { cancelRun, stopRun } from './decide/run-end.ts';
import { beginSession, settleInterruptedCalls } from './decide/session-start.ts';
import { decideHistory } from './conversation-history.ts';
import { modelStep } from './model-step.ts';
import { executeReady } from './tool-step.ts';
import { driveUndo, undoOrder } from './undo.ts';
import { vetProposed } from './vet.ts';

/**
 * Drives a run until it ends or parks (waiting for a person). Each turn of the loop folds, decides
 * (`nextAction`, from the log alone), and acts; the step commits what it decided before anything
 * leaves the process. A resumed run goes on exactly where the log says it stopped.
 */
export async function driveRun(ctx: RunContext): Promise<void> {
  beginSession(ctx, ctx.agent, { worker: ctx.worker, maxCrashedSessions: ctx.maxCrashedSessions });
  // A conversation's turn learns what was said before it once, before its first model call.
  if (ctx.state.status === 'running') await decideHistory(ctx);
  for (;;) {
    const next = nextAction(ctx.state, ctx.agent, ctx.signal.aborted);
    if (next.kind === 'done') break;
    const before = ctx.state.seq;
    switch (next.kind) {
      case 'abort':
        await ctx.flush();
        await ctx.pullExternal();
        if (!ctx.state.cancelRequested) cancelRun(ctx, 'runtime', `aborted: ${String(ctx.signal.reason ?? 'no reason')}`);
        continue;
      case 'cancel':
        cancelRun(ctx, next.by, next.reason);
        continue;
      case 'stop':
        stopRun(ctx, next.hit);
        continue;
      case 'ask_model':
        await modelStep(ctx);
        break;
      case 'vet':
        await vetProposed(ctx);
        break;
      case 'settle_interrupted':
        settleInterruptedCalls(ctx, ctx.agent);
        break;
      case 'execute':
        await executeReady(ctx);
        break;
    }
    if (ctx.state.seq === before && !ctx.budgetRefusal) {
      const open = openCalls(ctx.state);
      throw new WardenError('INTERNAL', `Run ${ctx.runId} made no progress (open calls: ${open.map((c) => `${c.callId} ${c.status}`).join(', ') || 'none'})`, {
        context: { runId: ctx.runId },
      });
    }
  }
  const s = ctx.state;
  if ((s.status === 'failed' || s.status === 'stopped') && ctx.agent.compensateOnFailure && !s.undo && undoOrder(s, ctx.agent).length > 0) {
    // Saga: a run that failed after writing takes back what it wrote, as steps in its own log.
    await driveUndo(ctx, 'runtime', `compensateOnFailure: the run ${s.status} (${s.stopReason ?? s.error?.code ?? 'error'}) after it had written`);
  }
  await ctx.flush();
}
