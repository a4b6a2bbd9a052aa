import { defineTool, type AnyTool, type ToolContext } from '../../agent/tool.ts';
import { ERROR_CODES, WardenError, type ErrorCode } from '../../errors.ts';
import type { Recording } from './recording.ts';
import type { VirtualClock } from './virtual-clock.ts';

/** Replay waits this long for a call that timed out live, instead of the tool's real timeout. */
export const REPLAY_TIMEOUT_MS = 25;

/** A call the replay would run but the recording never ran, so has no result for. */
export interface ToolGap {
  callId: string;
  tool: string;
  args: unknown;
  attempt: number;
}

/**
 * The agent's tools with their declarations intact (tier, schemas, approval, cost, retries) and
 * `execute` answered from the recording. A recorded failure is thrown again with its code and
 * message; a recorded timeout is waited out (briefly) so the runtime sees a timeout as it did.
 * A call with no recorded result calls `onGap`, which ends the replay there.
 */
export function recordedTools(tools: readonly AnyTool[], recording: Recording, clock: VirtualClock, onGap: (gap: ToolGap) => Promise<void>): AnyTool[] {
  return tools.map((tool) =>
    defineTool({
      ...tool,
      ...(recording.timedOutTools.has(tool.name) ? { timeoutMs: REPLAY_TIMEOUT_MS } : {}),
      execute: async (args: unknown, ctx: ToolContext) => {
        const outcome = recording.toolOutcome(ctx.callId, ctx.attempt);
        if (!outcome) {
          await onGap({ callId: ctx.callId, tool: tool.name, args, attempt: ctx.attempt });
          throw new WardenError('TOOL_FAILED', `the recording has no result for ${tool.name} (call ${ctx.callId}, attempt ${ctx.attempt})`);
        }
        clock.advanceTo(outcome.at);
        if (outcome.ok) return outcome.result;
        if (outcome.error.code === 'TOOL_TIMEOUT') {
          return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null), { once: true }));
        }
        if (outcome.error.code in ERROR_CODES) throw new WardenError(outcome.error.code as ErrorCode, outcome.error.message);
        throw new Error(outcome.error.message);
      },
    }),
  );
}
