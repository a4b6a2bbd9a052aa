import { defineTool, isReversible, type AnyTool, type ToolConfig, type ToolContext } from '../../agent/tool.ts';
import { ERROR_CODES, WardenError, type ErrorCode } from '../../core/errors.ts';
import { hashValue } from '../../core/canonical.ts';
import type { Recording, RecordedToolOutcome } from './recording.ts';
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
 * The declaration fields a replay keeps: what the policy, the plan verifier, the ceiling and the
 * locks read. `execute`, `compensate` and `shadowResult` are not among them, so a replayed tool
 * holds no reference to anything that could reach the real world.
 */
const DECLARATION_FIELDS = [
  'name',
  'description',
  'tier',
  'input',
  'output',
  'idempotent',
  'approval',
  // The approval's deadline goes with it (defineTool reads a built tool's deadline back): a replay
  // expires what the recording let expire.
  'approvalDeadline',
  'retries',
  'timeoutMs',
  'costUsd',
  'lockKey',
  'provides',
  'requires',
  'origin',
] as const satisfies readonly (keyof AnyTool)[];

function declarationOf(tool: AnyTool): Omit<ToolConfig, 'execute'> {
  const declaration: Record<string, unknown> = {};
  for (const key of DECLARATION_FIELDS) if (tool[key] !== undefined) declaration[key] = tool[key];
  return declaration as unknown as Omit<ToolConfig, 'execute'>;
}

/** Gives back what the recording says one attempt did: its result, its failure, or its timeout. */
async function replayOutcome(outcome: RecordedToolOutcome, clock: VirtualClock, signal: AbortSignal): Promise<unknown> {
  clock.advanceTo(outcome.at);
  if (outcome.ok) return outcome.result;
  if (outcome.error.code === 'TOOL_TIMEOUT') {
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
  }
  if (outcome.error.code in ERROR_CODES) throw new WardenError(outcome.error.code as ErrorCode, outcome.error.message);
  throw new Error(outcome.error.message);
}

/**
 * The replay's tool port: the agent's tools with their declarations intact (tier, schemas,
 * approval, cost, retries) and every action answered from the recording — `execute` from the
 * recorded tool outcomes, `compensate` from the recorded compensation outcomes, `shadowResult`
 * from the recorded stand-ins. The real functions are never copied, so replay cannot call them.
 * A recorded failure is thrown again with its code and message; a recorded timeout is waited out
 * (briefly). A call with no recorded outcome calls `onGap`, which ends the replay there.
 */
export function recordedTools(tools: readonly AnyTool[], recording: Recording, clock: VirtualClock, onGap: (gap: ToolGap) => Promise<void>): AnyTool[] {
  return tools.map((tool) => {
    const gap = async (args: unknown, ctx: ToolContext, what: string): Promise<never> => {
      await onGap({ callId: ctx.callId, tool: tool.name, args, attempt: ctx.attempt });
      throw new WardenError('TOOL_FAILED', `the recording has no ${what} for ${tool.name} (call ${ctx.callId}, attempt ${ctx.attempt})`);
    };
    return defineTool({
      ...declarationOf(tool),
      ...(recording.timedOutTools.has(tool.name) ? { timeoutMs: REPLAY_TIMEOUT_MS } : {}),
      execute: async (args: unknown, ctx: ToolContext) => {
        const outcome = recording.toolOutcome(ctx.callId, ctx.attempt);
        return outcome ? replayOutcome(outcome, clock, ctx.signal) : gap(args, ctx, 'result');
      },
      ...(isReversible(tool)
        ? {
            compensate: async (args: unknown, _result: unknown, ctx: ToolContext) => {
              const outcome = recording.compensationOutcome(ctx.callId, ctx.attempt);
              return outcome ? replayOutcome(outcome, clock, ctx.signal) : gap(args, ctx, 'compensation');
            },
          }
        : {}),
      ...(tool.shadowResult ? { shadowResult: (args: unknown) => recording.standIn(tool.name, hashValue(args)) } : {}),
    });
  });
}
