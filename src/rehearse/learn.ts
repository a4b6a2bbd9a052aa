import type { Agent } from '../agent/agent.ts';
import { WardenError } from '../core/errors.ts';
import type { AnyRunEvent } from '../core/events.ts';
import { behaviourFigures } from './learned-figures.ts';
import {
  FAILED_SUFFIX,
  FINAL,
  LEARNED_MODEL_FORMAT,
  LEARNED_MODEL_SCHEMA_VERSION,
  MAX_ARGS,
  MAX_PERSONAS,
  START,
  toQuantiles,
  type LearnedModel,
  type ProviderBehaviour,
  type ToolBehaviour,
} from './learned-model.ts';
import { summarizeRun } from './run-summary.ts';

export interface LearnOptions {
  /** The agent the runs belong to: `summarizeRun` reads its tools' contracts and escalation threshold. */
  agent: Agent;
  /** Where the runs came from, in words (a store and window, or export files), kept in the file. */
  description: string;
  /** ISO time written as `fittedAt` (default now). */
  now?: number;
}

/** Steps past this one share the last input-token table (the conversation has stopped growing by then). */
const MAX_STEP_TABLES = 12;

interface Turn {
  action: string;
  callIds: string[];
}

interface ToolTally {
  attempts: number;
  firstAttempts: number;
  failures: number;
  timeouts: number;
  retries: number;
  latency: number[];
  args: Map<string, number>;
  argValues: unknown[];
  argAttempts: number[];
  argFailures: number[];
  results: unknown[];
}

interface ProviderTally {
  attempts: number;
  rateLimited: number;
  serverError: number;
  other: number;
  retryAfter: number[];
}

const push = <K, V>(map: Map<K, V[]>, key: K, value: V) => {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
};

/** The action of a turn: FINAL for an answer, else its tools' names in the order proposed. */
export function actionOf(tools: readonly string[]): string {
  return tools.length === 0 ? FINAL : tools.join('+');
}

/**
 * Fits a learned behaviour model from recorded runs (each a whole event log, `run.submitted`
 * first): a transition model over the agent's actions with the outcome of the last one, the
 * arguments proposed for each tool, tokens, latencies, confidence, provider and tool failure
 * rates, and what people decided. Only the runs' logs are read, never the agent's code.
 *
 * @example
 * const model = learnBehaviour(logs, { agent, description: 'warden.db, last 7d' });
 */
export function learnBehaviour(logs: readonly (readonly AnyRunEvent[])[], options: LearnOptions): LearnedModel {
  const runs = logs.filter((events) => events[0]?.type === 'run.submitted');
  if (runs.length === 0) {
    throw new WardenError('INVALID_ARGUMENT', `No recorded runs of ${options.agent.name} to learn from (${options.description})`);
  }
  const transitions: Record<string, Record<string, number>> = {};
  const inputByStep: number[][] = [];
  const output = new Map<string, number[]>();
  const confidence = new Map<string, number[]>();
  const modelLatency: number[] = [];
  const providers = new Map<string, ProviderTally>();
  const tools = new Map<string, ToolTally>();
  const personas: Record<string, number>[] = [];
  const approvalsByTool: Record<string, { requested: number; approved: number; denied: number }> = {};
  const escalationReasons: Record<string, number> = {};
  const escalationDecisions: Record<string, number> = {};
  let escalations = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;

  const approvalsOf = (tool: string) => {
    const a = approvalsByTool[tool] ?? { requested: 0, approved: 0, denied: 0 };
    approvalsByTool[tool] = a;
    return a;
  };
  const toolTally = (name: string): ToolTally => {
    let t = tools.get(name);
    if (!t) {
      t = {
        attempts: 0,
        firstAttempts: 0,
        failures: 0,
        timeouts: 0,
        retries: 0,
        latency: [],
        args: new Map(),
        argValues: [],
        argAttempts: [],
        argFailures: [],
        results: [],
      };
      tools.set(name, t);
    }
    return t;
  };

  for (const events of runs) {
    const first = events[0];
    if (first?.type !== 'run.submitted') continue;
    from = Math.min(from, first.at);
    to = Math.max(to, first.at);
    const providerName = first.data.model.provider;
    let provider = providers.get(providerName);
    if (!provider) {
      provider = { attempts: 0, rateLimited: 0, serverError: 0, other: 0, retryAfter: [] };
      providers.set(providerName, provider);
    }
    const turns: Turn[] = [];
    const failed = new Set<string>();
    const callTool = new Map<string, string>();
    const callArgs = new Map<string, number>();
    const persona: Record<string, number> = {};
    for (const e of events) {
      switch (e.type) {
        case 'model.called': {
          provider.attempts++;
          const { turn } = e.data;
          const action = actionOf(turn.toolCalls.map((c) => c.tool));
          turns.push({ action, callIds: turn.toolCalls.map((c) => c.callId) });
          const step = Math.min(e.data.step, MAX_STEP_TABLES) - 1;
          const forStep = inputByStep[step] ?? [];
          inputByStep[step] = forStep;
          forStep.push(turn.usage.inputTokens);
          push(output, action, turn.usage.outputTokens);
          if (turn.confidence !== undefined) push(confidence, action, turn.confidence);
          modelLatency.push(e.data.latencyMs);
          for (const c of turn.toolCalls) {
            callTool.set(c.callId, c.tool);
            if (c.parseError !== undefined) continue;
            const t = toolTally(c.tool);
            const key = JSON.stringify(c.args) ?? 'null';
            let index = t.args.get(key);
            if (index === undefined && t.argValues.length < MAX_ARGS) {
              index = t.argValues.length;
              t.args.set(key, index);
              t.argValues.push(c.args);
              t.argAttempts.push(0);
              t.argFailures.push(0);
              t.results.push(null);
            }
            if (index !== undefined) callArgs.set(c.callId, index);
            if (index !== undefined && persona[c.tool] === undefined) persona[c.tool] = index;
          }
          break;
        }
        case 'model.failed': {
          provider.attempts++;
          const { failure } = e.data;
          if (failure.kind === 'rate_limited') provider.rateLimited++;
          else if (failure.kind === 'server_error') provider.serverError++;
          else provider.other++;
          if (failure.retryAfterMs !== undefined) provider.retryAfter.push(failure.retryAfterMs);
          break;
        }
        case 'tool.started': {
          const t = toolTally(e.data.tool);
          t.attempts++;
          if (e.data.attempt === 1) t.firstAttempts++;
          const index = callArgs.get(e.data.callId);
          if (index !== undefined) t.argAttempts[index] = (t.argAttempts[index] ?? 0) + 1;
          break;
        }
        case 'tool.succeeded': {
          const t = toolTally(e.data.tool);
          t.latency.push(e.data.durationMs);
          const index = callArgs.get(e.data.callId);
          if (index !== undefined && t.results[index] === null) t.results[index] = e.data.result ?? null;
          break;
        }
        case 'tool.failed': {
          const t = toolTally(e.data.tool);
          const index = callArgs.get(e.data.callId);
          if (e.data.error.code === 'TOOL_TIMEOUT') t.timeouts++;
          else {
            t.failures++;
            if (index !== undefined) t.argFailures[index] = (t.argFailures[index] ?? 0) + 1;
          }
          if (e.data.willRetry) t.retries++;
          else failed.add(e.data.callId);
          break;
        }
        case 'tool.rejected':
        case 'tool.denied':
        case 'plan.rejected':
          failed.add(e.data.callId);
          break;
        case 'approval.requested': {
          approvalsOf(e.data.tool).requested++;
          break;
        }
        case 'approval.decided': {
          const tool = callTool.get(e.data.callId) ?? 'unknown';
          const a = approvalsOf(tool);
          if (e.data.decision === 'approved') a.approved++;
          else {
            a.denied++;
            failed.add(e.data.callId);
          }
          break;
        }
        case 'escalated':
          escalations++;
          escalationReasons[e.data.reason] = (escalationReasons[e.data.reason] ?? 0) + 1;
          break;
        case 'escalation.decided':
          escalationDecisions[e.data.decision] = (escalationDecisions[e.data.decision] ?? 0) + 1;
          break;
        default:
          break;
      }
    }
    // A transition needs both ends: a run that stopped or parked after a turn says nothing of what follows it.
    let state = START;
    for (const turn of turns) {
      const row = transitions[state] ?? {};
      transitions[state] = row;
      row[turn.action] = (row[turn.action] ?? 0) + 1;
      state = turn.action + (turn.callIds.some((id) => failed.has(id)) ? FAILED_SUFFIX : '');
    }
    if (personas.length < MAX_PERSONAS && Object.keys(persona).length > 0) personas.push(persona);
  }

  const approvals = { requested: 0, approved: 0, denied: 0 };
  for (const a of Object.values(approvalsByTool)) {
    approvals.requested += a.requested;
    approvals.approved += a.approved;
    approvals.denied += a.denied;
  }
  const escalationsDecided = Object.values(escalationDecisions).reduce((a, b) => a + b, 0);
  const asked = approvals.requested + escalations;
  const decided = approvals.approved + approvals.denied + escalationsDecided;
  const yes = approvals.approved + (escalationDecisions.approve ?? 0) + (escalationDecisions.edit ?? 0);

  const summaries = runs.map((events) => summarizeRun(events, options.agent));
  const toolRecords: Record<string, ToolBehaviour> = {};
  for (const [name, t] of [...tools].sort((a, b) => a[0].localeCompare(b[0]))) {
    toolRecords[name] = {
      attempts: t.attempts,
      failureRate: ratio(t.failures, t.attempts),
      timeoutRate: ratio(t.timeouts, t.attempts),
      retryRate: ratio(t.retries, t.firstAttempts),
      latencyMs: toQuantiles(t.latency, 0),
      args: t.argValues,
      argsFailureRate: t.argValues.map((_, i) => ratio(t.argFailures[i] ?? 0, t.argAttempts[i] ?? 0, ratio(t.failures, t.attempts))),
      results: t.results,
    };
  }
  const providerRecords: Record<string, ProviderBehaviour> = {};
  for (const [name, p] of providers) {
    providerRecords[name] = {
      attempts: p.attempts,
      rateLimitedRate: ratio(p.rateLimited, p.attempts),
      serverErrorRate: ratio(p.serverError, p.attempts),
      otherErrorRate: ratio(p.other, p.attempts),
      retryAfterMs: toQuantiles(p.retryAfter, 0),
    };
  }
  return {
    format: LEARNED_MODEL_FORMAT,
    schemaVersion: LEARNED_MODEL_SCHEMA_VERSION,
    agent: options.agent.name,
    fittedAt: new Date(options.now ?? Date.now()).toISOString(),
    source: { description: options.description, runs: runs.length, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    transitions: sortedTable(transitions),
    inputTokensByStep: inputByStep.map((values) => toQuantiles(values ?? [], 0)),
    outputTokens: Object.fromEntries([...output].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => [k, toQuantiles(v, 0)])),
    confidence: Object.fromEntries([...confidence].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => [k, toQuantiles(v, 3)])),
    modelLatencyMs: toQuantiles(modelLatency, 0),
    providers: providerRecords,
    tools: toolRecords,
    personas,
    people: {
      approvals,
      approvalsByTool,
      escalations: { total: escalations, byReason: escalationReasons, decisions: escalationDecisions },
      decidedShare: ratio(decided, asked, 1),
      approvedShare: ratio(yes, decided, 1),
    },
    observed: behaviourFigures(summaries),
  };
}

function ratio(n: number, d: number, empty = 0): number {
  return d === 0 ? empty : Math.round((n / d) * 1e6) / 1e6;
}

function sortedTable(table: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  const keys = Object.keys(table).sort((a, b) => (a === START ? -1 : b === START ? 1 : a.localeCompare(b)));
  return Object.fromEntries(keys.map((k) => [k, Object.fromEntries(Object.entries(table[k] ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])))]));
}
