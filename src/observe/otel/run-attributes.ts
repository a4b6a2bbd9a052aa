import type { Attributes } from '@opentelemetry/api';
import type { RunProjection } from '../../core/projection.ts';

/**
 * The run span's figures, read from the run's projection so a trace backend shows what
 * `warden runs show` shows: `warden.tool_calls` counts calls that started (the plan submission
 * and shadowed calls never start), `warden.tool_calls.proposed` every call but the plan.
 *
 * @example
 * span.setAttributes(projectionAttributes(projectState(state)));
 */
export function projectionAttributes(p: RunProjection): Attributes {
  return {
    'warden.steps': p.steps,
    'warden.tool_calls': p.toolCalls.ran,
    'warden.tool_calls.proposed': p.toolCalls.proposed,
    'warden.retries': p.retries.total,
    'warden.approvals.requested': p.approvals.requested,
    'warden.escalations': p.escalations.total,
    'warden.budget.spent_usd': p.costUsd,
    ...(p.plan.submitted > 0 ? { 'warden.plan.submitted': p.plan.submitted, 'warden.plan.rejected': p.plan.rejected } : {}),
    ...(p.shadowed > 0 ? { 'warden.shadowed': p.shadowed } : {}),
    ...(p.undo.phase !== 'none' ? { 'warden.undo': p.undo.phase } : {}),
  };
}
