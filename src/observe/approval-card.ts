import { foldRun } from '../core/fold.ts';
import type { RunState } from '../core/run-state.ts';
import { formatUsd, nanoToUsd } from '../core/money.ts';
import type { InterventionRecord, Store } from '../core/ports/store.ts';
import type { Agent } from '../agent/agent.ts';
import { type AnyTool, isReversible } from '../agent/tool.ts';

/** Whether the action, once made, can be taken back. */
export type Undoable = 'reversible' | 'irreversible' | 'changes_nothing' | 'unknown';

/**
 * What a person needs to decide an approval or escalation, beside the exact arguments: why they
 * are asked, what the model said, what is at stake. Every field comes from the run's log and the
 * agent's declarations; nothing is guessed.
 */
export interface ApprovalCard {
  /** The request that started the run (`run.submitted` input). */
  request: string;
  /** The model's stated reason for the turn that proposed the call, when it gave one. */
  rationale: string | null;
  /** The model's self-reported confidence in [0, 1] for that turn, when it gave one. */
  statedConfidence: number | null;
  /** The runtime's confidence score for the call (`step.assessed`), when it was scored. */
  assessedConfidence: number | null;
  /** The rule that asked (`policy.decided`), e.g. `tier:delete`, `tool:refund.approval`; null when no policy rule did. */
  rule: string | null;
  /** Why a person is asked, as concretely as the declarations allow. */
  ruleReason: string;
  undoable: Undoable;
  /** `undoable` in words. */
  undoableReason: string;
  /** The verified plan's step the call carries out, when there is one. */
  planStep: { id: string; why: string | null } | null;
  spentUsd: number;
  ceilingUsd: number;
  /** e.g. `$0.000251 of $0.0500 ceiling`. */
  spend: string;
  /** ms since the epoch (the intervention's `requestedAt`). */
  requestedAt: number;
  /** How long it waited: until it was decided, or until `now` while pending. */
  waitedMs: number;
  /** Whether the key looking at it may decide it (always true without a key: the CLI decides as `--by`). */
  mayDecide: boolean;
  /** Why not, when `mayDecide` is false. */
  whyNot: string | null;
  /** When a pending approval times out, ms since the epoch; null when it never does. */
  expiresAt: number | null;
  /** What happens when it times out: denied, or escalated to a person; null when it never times out. */
  onTimeout: 'deny' | 'escalate' | null;
}

/** Who looks at the card: an API key's id and whether its role may decide interventions at all. */
export interface CardViewer {
  keyId: string;
  role: string;
  roleMayDecide: boolean;
}

export interface ApprovalCardInput {
  /** The fold of the intervention's run. */
  state: RunState;
  record: InterventionRecord;
  /** The agent's declarations, when they could be loaded; without them the card says less, never more. */
  agent?: Agent;
  /** `submittedBy` of the root run's `run.submitted` (the four-eyes rule is about the root's submitter). */
  submittedBy?: string;
  viewer?: CardViewer;
  /** ms since the epoch. */
  now: number;
}

/**
 * Builds the card a person decides from. Pure: the same log, declarations and clock give the same card.
 *
 * @example
 * const card = approvalCard({ state: foldRun(events), record, agent, now: Date.now() });
 * card.ruleReason; // 'approval predicate of refund returned true for {"amount":250}'
 * card.spend;      // '$0.000251 of $0.0500 ceiling'
 */
export function approvalCard(input: ApprovalCardInput): ApprovalCard {
  const { state, record, agent, now } = input;
  const call = record.callId ? state.calls.get(record.callId) : undefined;
  const turn = record.callId ? state.turns.find((t) => t.callIds.includes(record.callId ?? ''))?.turn : state.turns.at(-1)?.turn;
  const tool = agent?.tools.find((t) => t.name === (record.tool ?? call?.tool));
  const stepId = call?.planStep ?? null;
  const planStep = stepId ? { id: stepId, why: state.plan?.steps.get(stepId)?.step.why ?? null } : null;
  const undo = undoability(tool, call?.tier);
  const decision = record.kind === 'approval' ? call?.decision : undefined;
  return {
    request: state.input,
    rationale: turn?.rationale ?? null,
    statedConfidence: turn?.confidence ?? null,
    assessedConfidence: call?.confidence ?? null,
    rule: decision?.rule ?? null,
    ruleReason: decision ? concreteReason(decision.rule, decision.reason, agent, tool, record.args) : record.reason,
    undoable: undo.undoable,
    undoableReason: undo.reason,
    planStep,
    spentUsd: nanoToUsd(state.spentNano),
    ceilingUsd: nanoToUsd(state.ceilingNano),
    spend: `${formatUsd(state.spentNano)} of ${formatUsd(state.ceilingNano)} ceiling`,
    requestedAt: record.requestedAt,
    waitedMs: Math.max(0, (record.decidedAt ?? now) - record.requestedAt),
    ...mayDecide(input),
    expiresAt: record.expiresAt,
    onTimeout: record.expiresAt === null ? null : record.evidence.onTimeout === 'escalate' ? 'escalate' : 'deny',
  };
}

/** Arguments as one short line, e.g. `{"orderId":"1042","amount":250}`; long ones are cut. */
function shortArgs(args: unknown): string {
  const text = JSON.stringify(args) ?? String(args);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * The recorded reason, made concrete from the declarations. A predicate is JavaScript and cannot be
 * read back, so the card says which predicate answered and for which arguments, not what it tests.
 */
function concreteReason(rule: string, recorded: string, agent: Agent | undefined, tool: AnyTool | undefined, args: unknown): string {
  if (rule.startsWith('tier:') && tool) return `${tool.name} is a ${tool.tier}-tier tool: ${recorded}`;
  if (rule === `tool:${tool?.name}.approval` && tool) {
    if (tool.approval === true) return `${tool.name} declares approval: true, so every call waits for a person`;
    // A predicate that threw or timed out is recorded as such; say that, not that it returned true.
    if (typeof tool.approval === 'function' && recorded === 'the tool asks for approval of these arguments') {
      return `approval predicate of ${tool.name} returned true for ${shortArgs(args)}`;
    }
    return `approval of ${tool.name}: ${recorded}`;
  }
  const named = rule.startsWith('rule:') ? agent?.policy.rules?.find((r) => `rule:${r.name}` === rule) : undefined;
  if (named) {
    const scope = named.tools ? `tools ${named.tools.join(', ')}` : named.tiers ? `${named.tiers.join(', ')}-tier tools` : 'every tool';
    const applies = named.when ? `its condition returned true for ${shortArgs(args)}` : `it applies to every call of ${scope}`;
    return `policy rule ${named.name} (${named.decision}, ${scope}): ${applies}; ${recorded}`;
  }
  return recorded;
}

function undoability(tool: AnyTool | undefined, recordedTier: string | undefined): { undoable: Undoable; reason: string } {
  if (!tool) return { undoable: 'unknown', reason: "the agent's declarations could not be read, so whether this can be undone is unknown" };
  if (tool.tier === 'read') return { undoable: 'changes_nothing', reason: `${tool.name} only reads data` };
  if (isReversible(tool)) return { undoable: 'reversible', reason: `${tool.name} declares compensate: warden undo can reverse it` };
  return { undoable: 'irreversible', reason: `${tool.name} is a ${recordedTier ?? tool.tier}-tier tool with no compensate: it cannot be undone` };
}

function mayDecide({ record, submittedBy, viewer, state, now }: ApprovalCardInput): { mayDecide: boolean; whyNot: string | null } {
  if (record.status !== 'pending') return { mayDecide: false, whyNot: `already ${record.status}${record.decidedBy ? ` by ${record.decidedBy}` : ''}` };
  if (record.expiresAt !== null && now >= record.expiresAt) {
    return { mayDecide: false, whyNot: `its deadline passed at ${new Date(record.expiresAt).toISOString()}; it can no longer be approved` };
  }
  if (!viewer) return { mayDecide: true, whyNot: null };
  if (!viewer.roleMayDecide) return { mayDecide: false, whyNot: `your key's role (${viewer.role}) may look but not decide; an approver must` };
  if (submittedBy !== undefined && submittedBy === viewer.keyId) {
    return { mayDecide: false, whyNot: `you submitted run ${state.rootRunId}; another approver must decide (four eyes)` };
  }
  return { mayDecide: true, whyNot: null };
}

/**
 * Reads what a card needs from the store — the run's log and its root's submitter — and builds it.
 * `agentFor` loads the run's agent; when it cannot, the card is built without the declarations.
 *
 * @example
 * const card = await loadApprovalCard(store, record, (state) => catalog.agentFor(run), { now: Date.now() });
 */
export async function loadApprovalCard(
  store: Pick<Store, 'loadEvents'>,
  record: InterventionRecord,
  agentFor: (state: RunState) => Promise<Agent | undefined>,
  options: { viewer?: CardViewer; now: number },
): Promise<ApprovalCard> {
  const events = await store.loadEvents(record.runId, 0);
  const state = foldRun(events);
  const [submitted] = state.rootRunId === state.runId ? events : await store.loadEvents(state.rootRunId, 0);
  const submittedBy = submitted?.type === 'run.submitted' ? submitted.data.submittedBy : undefined;
  const agent = await agentFor(state).catch(() => undefined);
  return approvalCard({ state, record, ...(agent ? { agent } : {}), ...(submittedBy !== undefined ? { submittedBy } : {}), ...options });
}
