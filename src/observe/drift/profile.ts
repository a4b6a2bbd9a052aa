import type { AnyRunEvent } from '../../core/events.ts';
import type { RunRecord } from '../../core/ports/store.ts';

/** One run's behaviour, as drift sees it. */
export interface RunProfile {
  runId: string;
  createdAt: number;
  /** Tools the model proposed, by name, with how often. */
  tools: Record<string, number>;
  steps: number;
  costNano: number;
  /** `completed`, `failed`, `cancelled`, `stopped:<reason>`, or a parked status. */
  outcome: string;
  askedApproval: boolean;
  escalated: boolean;
}

/** Reads a run's profile off its row and log. */
export function profileRun(run: RunRecord, events: readonly AnyRunEvent[]): RunProfile {
  const tools: Record<string, number> = {};
  let askedApproval = false;
  let escalated = false;
  for (const e of events) {
    if (e.type === 'model.called') for (const c of e.data.turn.toolCalls) tools[c.tool] = (tools[c.tool] ?? 0) + 1;
    else if (e.type === 'approval.requested') askedApproval = true;
    else if (e.type === 'escalated') escalated = true;
  }
  return {
    runId: run.runId,
    createdAt: run.createdAt,
    tools,
    steps: run.steps,
    costNano: run.costNano,
    outcome: run.status === 'stopped' ? `stopped:${run.stopReason ?? 'unknown'}` : run.status,
    askedApproval,
    escalated,
  };
}
