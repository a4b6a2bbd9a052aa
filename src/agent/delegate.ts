import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { type AnyTool, defineTool } from './tool.ts';
import type { Tier } from '../core/tiers.ts';

/** What a delegation tool is made from: the agent it hands work to, as the model is told of it. */
export interface DelegateSpec {
  readonly name: string;
  readonly description?: string;
  readonly instructions: string;
}

/** The tool name under which the model delegates to `child`. */
export function delegateToolName(child: DelegateSpec): string {
  return `delegate_${child.name.replace(/[^a-zA-Z0-9_-]/g, '_')}`.slice(0, 64);
}

/** What a delegate may do to data, by the highest tier among its tools (and its own delegates'). */
const REACH_WORDS: Record<Tier, string> = { read: 'only reads data', write: 'may change data', delete: 'may delete data' };

/**
 * The tool through which a parent hands a task to a child agent. The runtime does not call its
 * `execute`: it starts a child run with its own log that shares the parent's ceiling, deadline and
 * cancellation, and returns the child's answer as the result. Its `tier` is the most the child may
 * do (`reachTier`): a delegate that can write or delete is vetted like a write or delete.
 */
export function delegateTool(child: DelegateSpec, tier: Tier): AnyTool {
  return defineTool({
    name: delegateToolName(child),
    description: `Hand a task to the "${child.name}" agent and get its answer; that agent ${REACH_WORDS[tier]}. ${child.description ?? child.instructions.slice(0, 300)}`,
    tier,
    input: z.object({ task: z.string().min(1).max(20_000) }),
    output: z.object({ output: z.string(), runId: z.string() }),
    idempotent: true,
    retries: 0,
    execute: () => {
      throw new WardenError('INTERNAL', `${child.name}: a delegation is run by the runtime, not called directly`);
    },
  });
}
