import { defineAgent, type Agent } from '../../agent/agent.ts';
import { WardenError } from '../../core/errors.ts';
import { projectState, type RunProjection } from '../../core/projection.ts';
import type { AnyRunEvent, RunStatus, StopReason } from '../../core/events.ts';
import { foldRun } from '../../core/fold.ts';
import type { RunState } from '../../core/run-state.ts';
import { createWarden, type Warden } from '../../runtime/warden.ts';
import { newEvent } from '../../core/events.ts';
import { summaryMessages } from '../../core/fold.ts';
import { createSqliteStore } from '../../store/sqlite/sqlite-store.ts';
import { decisionsOf, firstDivergence, type Decision } from './decisions.ts';
import { recordedModel, type ModelGap } from './recorded-model.ts';
import { recordedTools, type ToolGap } from './recorded-tools.ts';
import { Recording } from './recording.ts';
import { VirtualClock } from './virtual-clock.ts';

/** What changed at the first point a replay went another way than the recording. */
export type DivergenceKind =
  | 'now_denied' // policy now refuses a call that was allowed or approved
  | 'would_wait_for_approval' // policy now asks a person first
  | 'now_allowed' // a call that was denied or waited for a person would now run
  | 'now_rejected' // the call no longer fits the tool set or its schema
  | 'loop_caught'
  | 'ceiling_hit'
  | 'limit_hit' // another stop condition: steps, tool calls, retries, wall time
  | 'limit_lifted' // the recorded run was stopped by a limit the new one does not hit
  | 'recording_exhausted' // the replay needs answers the recording does not have
  | 'changed';

export interface RunOutcome {
  status: RunStatus;
  stopReason: StopReason | null;
  costUsd: number;
  steps: number;
  /** Tool calls that started (the projection's `toolCalls.ran`). */
  toolCalls: number;
  /** The run's figures as every view reads them (`core/projection.ts`). */
  summary: RunProjection;
}

export interface ReplayReport {
  runId: string;
  agent: string;
  mode: 'replay' | 'what-if';
  /** Every decision of the recording was taken again, in the same order. */
  identical: boolean;
  /** Steps (model turns) whose decisions all matched. */
  identicalSteps: number;
  /** Decisions compared. */
  decisions: number;
  divergence: { step: number; kind: DivergenceKind; recorded: string | null; replayed: string | null } | null;
  recorded: RunOutcome;
  replayed: RunOutcome;
  /** What the replay would wait for, when it ends parked. */
  waitingFor: { kind: 'approval' | 'escalation'; tool: string | null; args: unknown; reason: string } | null;
  notes: string[];
}

export interface ReplayOptions {
  /** The agent whose tool declarations and policy the replay runs under. */
  agent: Agent;
  /**
   * `replay` (default): the recorded limits, to show the run reproduces. `what-if`: the given
   * agent's limits too, to show what a changed agent would have done with the same model answers.
   */
  mode?: 'replay' | 'what-if';
}

/** Assistant messages the recorded turn's history puts before the run's own (none outside a conversation). */
function historyAnswers(events: readonly AnyRunEvent[]): number {
  const history = events.find((e) => e.type === 'conversation.history');
  if (history?.type !== 'conversation.history') return 0;
  const summary = history.data.summary ? summaryMessages(history.data.summary) : [];
  return [...summary, ...history.data.turns.flatMap((t) => t.messages)].filter((m) => m.role === 'assistant').length;
}

function outcomeOf(state: RunState): RunOutcome {
  const p = projectState(state);
  return { status: p.status, stopReason: p.stopReason, costUsd: p.costUsd, steps: p.steps, toolCalls: p.toolCalls.ran, summary: p };
}

/**
 * Re-runs a recorded run offline, through the same runtime (Warden, fold, guards, bridge) on a
 * throwaway in-memory store: the recorded model answers and tool results stand in for the live
 * ones, and the decisions people made are made again. Then compares the two decision lists.
 *
 * @example
 * const report = await replayRun(await store.loadEvents(runId), { agent });
 * console.log(report.identical ? `reproduced: ${report.identicalSteps} steps identical` : report.divergence);
 */
export async function replayRun(events: readonly AnyRunEvent[], options: ReplayOptions): Promise<ReplayReport> {
  const recording = new Recording(events);
  const mode = options.mode ?? 'replay';
  const source = options.agent;
  const clock = new VirtualClock(recording.submittedAt);
  const modelGaps: ModelGap[] = [];
  const toolGaps: ToolGap[] = [];
  const store = createSqliteStore({ path: ':memory:' });
  const warden = createWarden({ store, now: clock.now, sleep: async () => {}, worker: 'replay' });
  const runId = recording.runId;
  const agent = defineAgent({
    name: source.name,
    instructions: source.instructions,
    // The recorded models, primary and fallbacks, each at its recorded price, so a step falls back as it did.
    model: [recording.submitted.model, ...(recording.submitted.model.fallbacks ?? [])].map((m) =>
      recordedModel(recording, clock, modelGaps, m, historyAnswers(events)),
    ),
    tools: recordedTools(source.tools, recording, clock, async (gap) => {
      toolGaps.push(gap);
      await warden.cancel(runId, { by: 'replay', reason: `no recorded result for ${gap.tool}` });
    }),
    limits: mode === 'replay' ? recording.submitted.limits : source.limits,
    policy: source.policy,
    loopDetection: source.loopDetection,
    backoff: source.backoff,
    pricing: { inputPerMTok: recording.submitted.model.inputPerMTok, outputPerMTok: recording.submitted.model.outputPerMTok },
    ...(source.plan ? { plan: source.plan } : {}),
    ...(source.escalation ? { escalation: source.escalation } : {}),
    ...(source.output ? { output: source.output.schema } : {}),
    parallelToolCalls: source.parallelToolCalls,
    delegation: source.delegation,
    compensateOnFailure: source.compensateOnFailure,
    // The same guards: a replay sees only what they let through live, and must end the same way.
    guards: {
      input: [...source.guards.input],
      output: [...source.guards.output],
      toolResult: [...source.guards.toolResult],
      timeoutMs: source.guards.timeoutMs,
    },
  });
  try {
    await warden.submit(agent, recording.submitted.input, { runId, tenant: recording.submitted.tenant, shadow: recording.submitted.mode === 'shadow' });
    // A conversation's turn: the earlier turns are not in this store, so the history the turn was
    // told is given back as recorded, and every replayed model call sends what the live one sent.
    const history = events.find((e) => e.type === 'conversation.history');
    if (history?.type === 'conversation.history') await store.appendExternal(runId, [newEvent('conversation.history', history.data, history.at)]);
    const waitingFor = await drive(warden, agent, runId, recording, clock, mode);
    const replayedEvents = await warden.events(runId);
    return report(recording, replayedEvents, mode, source.name, waitingFor, modelGaps, toolGaps);
  } finally {
    await store.close();
  }
}

/** Drives the replay, answering each approval or escalation as the recorded person did. */
async function drive(
  warden: Warden,
  agent: Agent,
  runId: string,
  recording: Recording,
  clock: VirtualClock,
  mode: 'replay' | 'what-if',
): Promise<ReplayReport['waitingFor']> {
  for (let rounds = 0; rounds < 1000; rounds++) {
    const result = await warden.execute(agent, runId);
    if (!result.pending) return null;
    const recorded = recording.decision(result.pending.id);
    const waiting = { kind: result.pending.kind, tool: result.pending.tool, args: result.pending.args, reason: result.pending.reason };
    // A person approved these exact arguments in the recording (the id binds the call, the hash the arguments).
    const state = foldRun(await warden.events(runId));
    const call = result.pending.callId ? state.calls.get(result.pending.callId) : undefined;
    if (!recorded) return waiting;
    clock.advanceTo(recorded.at);
    if (recorded.type === 'approval.decided') {
      if (call && recorded.data.argsHash !== call.argsHash) return waiting;
      const decide = recorded.data.decision === 'approved' ? warden.approve.bind(warden) : warden.deny.bind(warden);
      await decide(result.pending.id, { by: recorded.data.by, reason: recorded.data.reason });
    } else if (recorded.type === 'approval.expired') {
      // Nobody decided in the recording: the replay's clock is at the deadline, so it expires the same way.
      if ((await warden.expireApprovals({ runId })).length === 0) return waiting;
    } else if (recorded.type === 'escalation.decided') {
      const d = recorded.data;
      await warden.decideEscalation(result.pending.id, { decision: d.decision, by: d.by, reason: d.reason, args: d.args, output: d.output });
    } else {
      await warden.cancel(runId, { by: recorded.data.by, reason: recorded.data.reason });
    }
    if (mode === 'what-if' && recorded.type === 'run.cancelled') return null;
  }
  throw new WardenError('INTERNAL', `Replay of ${runId} did not settle after 1000 decisions`);
}

function report(
  recording: Recording,
  replayedEvents: AnyRunEvent[],
  mode: 'replay' | 'what-if',
  agent: string,
  waitingFor: ReplayReport['waitingFor'],
  modelGaps: ModelGap[],
  toolGaps: ToolGap[],
): ReplayReport {
  const recorded = decisionsOf(recording.events);
  const replayed = decisionsOf(replayedEvents);
  const divergence = firstDivergence(recorded, replayed);
  const limit = divergence ? divergence.index : recorded.length;
  const lastStep = replayed.at(-1)?.step ?? 0;
  const identicalSteps = divergence ? Math.max(0, divergence.step - 1) : lastStep;
  const notes: string[] = [];
  const [modelGap] = modelGaps;
  const [toolGap] = toolGaps;
  if (modelGap) notes.push(`The replay needed a model answer for step ${modelGap.step}, which the recording does not have: it ends there.`);
  if (toolGap) notes.push(`The replay would run ${toolGap.tool}(${JSON.stringify(toolGap.args)}), which never ran in the recording: it ends there.`);
  if (waitingFor?.kind === 'approval')
    notes.push(`Would wait for approval: ${waitingFor.tool}(${JSON.stringify(waitingFor.args)}) — ${waitingFor.reason}. Not executed.`);
  if (divergence && mode === 'what-if')
    notes.push('After the first difference the model answers are still the recorded ones; a live model might have answered otherwise.');
  return {
    runId: recording.runId,
    agent,
    mode,
    identical: divergence === null,
    identicalSteps,
    decisions: limit,
    divergence: divergence
      ? {
          step: divergence.step,
          kind: classify(divergence.recorded, divergence.replayed, modelGaps.length + toolGaps.length > 0),
          recorded: divergence.recorded?.text ?? null,
          replayed: divergence.replayed?.text ?? null,
        }
      : null,
    recorded: outcomeOf(foldRun(recording.events)),
    replayed: outcomeOf(foldRun(replayedEvents)),
    waitingFor,
    notes,
  };
}

function classify(recorded: Decision | null, replayed: Decision | null, gap: boolean): DivergenceKind {
  const r = replayed?.key.split(' ') ?? [];
  if (replayed?.type === 'policy.decided') {
    const decision = r[4];
    if (decision === 'deny') return 'now_denied';
    if (decision === 'approve') return 'would_wait_for_approval';
    return recorded?.type === 'policy.decided' ? 'now_allowed' : 'changed';
  }
  if (replayed?.type === 'tool.denied') return 'now_denied';
  if (replayed?.type === 'approval.requested') return 'would_wait_for_approval';
  if (replayed?.type === 'tool.rejected') return 'now_rejected';
  if (replayed?.type === 'limit.hit') return r[1] === 'loop_detected' ? 'loop_caught' : r[1] === 'cost_ceiling' ? 'ceiling_hit' : 'limit_hit';
  if (recorded?.type === 'limit.hit') return 'limit_lifted';
  if (gap) return 'recording_exhausted';
  return 'changed';
}
