import type { RunState } from '../../src/core/run-state.ts';

/**
 * The fields of a folded `RunState` that the event-log fixtures pin, as plain JSON (Maps become
 * objects keyed by id, absent optional fields are left out). The fixture test compares only the
 * keys an `*.expected.json` holds, so adding a field here never strands an older fixture; changing
 * what a field means does, on purpose.
 */
export function summarizeRunState(s: RunState): Record<string, unknown> {
  const summary = {
    runId: s.runId,
    agent: s.agent,
    rootRunId: s.rootRunId,
    parentRunId: s.parentRunId,
    mode: s.mode,
    lineage: s.lineage,
    ...(s.conversation ? { conversation: s.conversation, history: s.history } : {}),
    seq: s.seq,
    status: s.status,
    stopReason: s.stopReason,
    stopDetail: s.stopDetail,
    output: s.output,
    error: s.error,
    limits: s.limits,
    ceilingNano: s.ceilingNano,
    spentNano: s.spentNano,
    openReservations: Object.fromEntries(s.openReservations),
    steps: s.steps,
    stepAttempts: s.stepAttempts,
    toolCalls: s.toolCalls,
    retries: s.retries,
    sessions: s.sessions,
    crashedSessions: s.crashedSessions,
    sessionOpen: s.sessionOpen,
    activeMs: s.activeMs,
    pending: s.pending,
    cancelRequested: s.cancelRequested,
    stepsWithoutProgress: s.stepsWithoutProgress,
    turns: s.turns.map((t) => ({ step: t.step, text: t.turn.text, callIds: t.callIds })),
    calls: Object.fromEntries(
      [...s.calls].map(([id, c]) => [
        id,
        {
          tool: c.tool,
          args: c.args,
          argsHash: c.argsHash,
          step: c.step,
          tier: c.tier,
          status: c.status,
          decision: c.decision,
          approvedBy: c.approvedBy,
          attempts: c.attempts,
          result: c.result,
          error: c.error,
          note: c.note,
          planStep: c.planStep,
          amended: c.amended,
          cleared: c.cleared,
          shadowed: c.shadowed,
        },
      ]),
    ),
    executedOrder: s.executedOrder,
    proposedPlan: s.proposedPlan,
    plan: s.plan && {
      planId: s.plan.planId,
      callId: s.plan.callId,
      order: s.plan.order,
      accepted: s.plan.accepted,
      approvedBy: s.plan.approvedBy,
      steps: Object.fromEntries([...s.plan.steps].map(([id, p]) => [id, { status: p.status, callId: p.callId }])),
    },
    planRejections: s.planRejections,
    children: Object.fromEntries(s.children),
    undo: s.undo && {
      status: s.undo.status,
      by: s.undo.by,
      order: s.undo.order,
      waiting: s.undo.waiting,
      compensations: Object.fromEntries(
        [...s.undo.compensations].map(([id, c]) => [id, { tool: c.tool, status: c.status, attempts: c.attempts, result: c.result }]),
      ),
    },
  };
  return JSON.parse(JSON.stringify(summary)) as Record<string, unknown>;
}
