import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { type AnyTool, defineTool } from './tool.ts';

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

/**
 * The tool through which a parent hands a task to a child agent. The runtime does not call its
 * `execute`: it starts a child run with its own log that shares the parent's ceiling, deadline and
 * cancellation, and returns the child's answer as the result.
 */
export function delegateTool(child: DelegateSpec): AnyTool {
  return defineTool({
    name: delegateToolName(child),
    description: `Hand a task to the "${child.name}" agent and get its answer. ${child.description ?? child.instructions.slice(0, 300)}`,
    tier: 'read',
    input: z.object({ task: z.string().min(1).max(20_000) }),
    output: z.object({ output: z.string(), runId: z.string() }),
    idempotent: true,
    retries: 0,
    execute: () => {
      throw new WardenError('INTERNAL', `${child.name}: a delegation is run by the runtime, not called directly`);
    },
  });
}
