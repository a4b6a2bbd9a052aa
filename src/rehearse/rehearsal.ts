import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { defineAgent, type Agent } from '../agent/agent.ts';
import { markRehearsalAgent } from '../agent/rehearsal-mark.ts';
import { WardenError } from '../core/errors.ts';
import { behaviourModel } from '../model/behaviour.ts';
import { seededRandom, seedFrom } from '../model/seeded-random.ts';
import type { SimulatedModel } from '../model/simulated-types.ts';
import { createWarden, type Warden } from '../runtime/warden.ts';
import type { RunResult } from '../runtime/run-result.ts';
import { createSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../core/ports/store.ts';
import { resolveFaultProfile, type FaultProfile } from './fault-profile.ts';
import { learnedBehaviourModel, RecordedCalls, requestKeyOf } from './learned-behaviour.ts';
import type { LearnedModel } from './learned-model.ts';
import { summarizeRun, type RunSummary } from './run-summary.ts';
import { simulateTools } from './simulated-tools.ts';
import { RunClock, virtualTime, withClock } from './virtual-time.ts';
import { type OutageWindow, outageWindow, primaryWithOutage, withPrimaryDown } from './outage.ts';

export const DEFAULT_REQUESTS = 10_000;
/** Runs in flight at once. The store is embedded and the model simulated, so this is about the event loop. */
export const DEFAULT_CONCURRENCY = 32;
/** Name the simulated reviewer signs its decisions with, so the log says no person decided. */
export const REVIEWER = 'rehearsal-reviewer';
/** How long requests in flight may finish after an interruption before they are cut. */
export const DEFAULT_GRACE_MS = 3_000;

export interface RehearsalOptions {
  agent: Agent;
  /** Absolute path of the agent module (recorded in each run, so `warden runs show` works on a kept store). */
  agentFile?: string;
  requests?: number;
  concurrency?: number;
  seed?: number;
  profile?: FaultProfile;
  /**
   * Play the agent's own recorded behaviour (a model fitted by `learnBehaviour` or read with
   * `loadLearnedModel`) instead of the generic behaviour model; `profile` then layers faults on
   * top, and the reviewer decides and approves at the shares people did on the recorded runs.
   */
  learned?: LearnedModel;
  /** Keep the runs in this SQLite file; default: a temporary file, deleted afterwards. */
  db?: string;
  onProgress?: (progress: RehearsalProgress) => void;
  /**
   * Aborting it interrupts the rehearsal: no request is started after it, the requests in flight
   * get `graceMs` to finish, then are cut; the outcome holds the requests that finished.
   */
  signal?: AbortSignal;
  /** Grace for the requests in flight after `signal` aborts (default DEFAULT_GRACE_MS). */
  graceMs?: number;
  /** Aborting it cuts the requests in flight at once, grace or not (a second Ctrl-C). */
  cutSignal?: AbortSignal;
  /**
   * Rehearse each request as a conversation: after a turn that completed, the customer writes
   * again with probability `followUpRate`, up to `maxTurns` turns in all. Each follow-up is a turn
   * of its own (`warden.run(…, { conversation })`) that sees the earlier ones, under the agent's
   * history policy and conversation ceiling. Default: single requests.
   */
  conversations?: ConversationRehearsal;
}

/** How a rehearsal draws multi-turn conversations (see `RehearsalOptions.conversations`). */
export interface ConversationRehearsal {
  /** The chance, in [0, 1], that a completed turn gets a follow-up message. */
  followUpRate: number;
  /** Turns per conversation at most, the first included (≥ 2). */
  maxTurns: number;
}

/** A follow-up turn of a rehearsed conversation: the `turn`-th (2 or more) of request `request` (0-based). */
export interface FollowUpSummary extends RunSummary {
  request: number;
  turn: number;
}

export interface RehearsalProgress {
  done: number;
  total: number;
  elapsedMs: number;
  byStatus: Record<string, number>;
}

/** What the rehearsal measured itself (real time and CPU); everything else is in the runs' logs. */
export interface RehearsalTiming {
  elapsedMs: number;
  cpuMs: number;
  /** CPU spent inside the behaviour model and the simulated tools (not runtime overhead). */
  simulationCpuMs: number;
  /** CPU spent reading the logs back and summarising them (not runtime overhead). */
  analysisCpuMs: number;
  /** Per run: real ms from the request being accepted to its worker's first committed step. */
  queueDelaysMs: number[];
  /** Per run: real ms since the start at which it finished. */
  finishedAtMs: number[];
}

export interface RehearsalOutcome {
  agent: Agent;
  seed: number;
  requests: number;
  concurrency: number;
  profile: FaultProfile;
  /** The learned model played, when there was one. */
  learned: LearnedModel | null;
  /** Requests during which the primary model was down (the profile's `outage`), or null. */
  outage: OutageWindow | null;
  /** The keys the rehearsal's stand-ins for the agent's models answer under, primary first (in each run's `answeredBy`). */
  modelKeys: string[];
  /** The requests that finished, in request order: all of them unless the rehearsal was interrupted. */
  runs: RunSummary[];
  /** The conversation settings rehearsed, or null for single requests. */
  conversations: ConversationRehearsal | null;
  /** The follow-up turns of the conversations, in request then turn order (empty without `conversations`). */
  followUps: FollowUpSummary[];
  /** True when `signal` aborted before every request finished; `runs` then holds fewer than `requests`. */
  interrupted: boolean;
  timing: RehearsalTiming;
  /** Where the runs were kept (null when the temporary store was deleted). */
  db: string | null;
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 1)) throw new WardenError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}`);
  return value;
}

/** The id of a rehearsal's `index`-th request (0-based): it follows from the seed, so a rerun names the same runs. */
export function rehearsalRunId(seed: number, index: number): string {
  return `run_rh${seed}_${index}`;
}

/** The run id of turn `turn` (2 or more) of the `index`-th request's conversation. */
function followUpRunId(seed: number, index: number, turn: number): string {
  return `run_rh${seed}_${index}_t${turn}`;
}

/** The conversation id of the `index`-th request, when the rehearsal draws conversations. */
export function rehearsalConversationId(seed: number, index: number): string {
  return `conv_rh${seed}_${index}`;
}

const FOLLOW_UPS = [
  'Thanks. Can you confirm that went through?',
  'One more thing about the same order: what happens next?',
  'Actually, could you check that again?',
  'And how long will that take?',
];

function followUpText(index: number, turn: number, seed: number): string {
  const random = seededRandom(seedFrom(seed, 'follow-up-text', index, turn));
  return `${FOLLOW_UPS[Math.floor(random() * FOLLOW_UPS.length)]} (request ${index + 1}, message ${turn})`;
}

function checkConversations(c: ConversationRehearsal | undefined): ConversationRehearsal | null {
  if (c === undefined) return null;
  if (!(typeof c.followUpRate === 'number' && c.followUpRate >= 0 && c.followUpRate <= 1))
    throw new WardenError('INVALID_ARGUMENT', `conversations.followUpRate must be a number from 0 to 1, got ${c.followUpRate}`);
  if (!(Number.isInteger(c.maxTurns) && c.maxTurns >= 2))
    throw new WardenError('INVALID_ARGUMENT', `conversations.maxTurns must be a whole number of 2 or more, got ${c.maxTurns}`);
  return { followUpRate: c.followUpRate, maxTurns: c.maxTurns };
}

/** The agent as the rehearsal runs it: its own tools, limits and policy; a behaviour model; simulated tool bodies. */
export function rehearsalAgent(agent: Agent, profile: FaultProfile, seed: number, learned?: LearnedModel, recorded = new RecordedCalls()): Agent {
  // One stand-in per model of the agent's list, each at that model's price: the same behaviour
  // (same seed), so a step that falls back gets the answer the primary would have given, dearer or cheaper.
  const models = agent.models.map(({ model: real, price }, i) => {
    const pricing = price.pricing;
    const model = learned
      ? learnedBehaviourModel({
          learned,
          tools: agent.tools,
          rates: profile.rates,
          seed,
          pricing,
          wait: virtualTime.sleep,
          recorded,
          ...(i > 0 ? { modelId: `learned:${learned.agent}:${real.modelId}` } : {}),
        })
      : behaviourModel({ tools: agent.tools, rates: profile.rates, seed, pricing, wait: virtualTime.sleep, modelId: `behaviour:${real.modelId}` });
    return i === 0 && profile.outage > 0 ? primaryWithOutage(model) : model;
  });
  return markRehearsalAgent(
    defineAgent({
      name: agent.name,
      instructions: agent.instructions,
      description: agent.description,
      model: models.length === 1 ? (models[0] as SimulatedModel) : models,
      tools: simulateTools(agent.tools, { seed, rates: profile.rates, ...(learned ? { learned: learned.tools, recorded } : {}) }),
      limits: { ...agent.limits },
      policy: { ...agent.policy },
      loopDetection: { ...agent.loopDetection },
      backoff: { ...agent.backoff },
      ...(agent.plan ? { plan: { ...agent.plan } } : {}),
      ...(agent.escalation ? { escalation: { ...agent.escalation } } : {}),
      guards: { input: [...agent.guards.input], output: [...agent.guards.output], toolResult: [...agent.guards.toolResult], timeoutMs: agent.guards.timeoutMs },
      ...(agent.output ? { output: agent.output.schema } : {}),
    }),
  );
}

/** A request the agent might get: its description, or one of its tools', with a number to tell them apart. */
function requestText(agent: Agent, index: number, seed: number): string {
  const random = seededRandom(seedFrom(seed, 'input', index));
  const topics = agent.tools.map((t) => t.description.replace(/\.$/, '').toLowerCase());
  const topic = topics[Math.floor(random() * topics.length)] ?? 'help';
  return `Request ${index + 1}: please ${topic}.`;
}

/** Times the synchronous part of each simulated call (decisions, generated data). */
function timed(model: SimulatedModel, tally: { ms: number }): void {
  const generate = model.doGenerate;
  (model as { doGenerate: SimulatedModel['doGenerate'] }).doGenerate = (options) => {
    const t0 = performance.now();
    try {
      return generate(options);
    } finally {
      tally.ms += performance.now() - t0;
    }
  };
}

/**
 * Runs `requests` requests of the agent through the real runtime — a real SQLite store, the real
 * policy, limits and budget — with its model replaced by the seeded behaviour model and its tools
 * by simulations, faults injected at the profile's rates. Runs that wait for a person are counted;
 * the simulated reviewer decides the profile's share of them so the rest of each run is exercised.
 *
 * @example
 * const outcome = await rehearse({ agent, requests: 2000, seed: 7 });
 * const report = buildReport(outcome);
 */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalOutcome> {
  const requests = positiveInteger('--requests', options.requests ?? DEFAULT_REQUESTS);
  const concurrency = positiveInteger('--concurrency', options.concurrency ?? DEFAULT_CONCURRENCY);
  const conversations = checkConversations(options.conversations);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new WardenError('INVALID_ARGUMENT', `--seed must be an integer, got ${seed}`);
  const learned = options.learned;
  const given = options.profile ?? resolveFaultProfile(learned ? 'none' : 'realistic');
  // On a learned model the reviewer decides and approves as the recorded runs' people did.
  const profile: FaultProfile = learned ? { ...given, reviewer: { decides: learned.people.decidedShare, approves: learned.people.approvedShare } } : given;
  const recorded = new RecordedCalls();
  const agent = rehearsalAgent(options.agent, profile, seed, learned, recorded);
  const simulation = { ms: 0 };
  for (const m of agent.models) timed(m.model as SimulatedModel, simulation);
  const outage = outageWindow(profile.outage, requests);

  const tempDir = options.db ? null : mkdtempSync(join(tmpdir(), 'warden-rehearsal-'));
  const dbPath = options.db ?? join(tempDir!, 'rehearsal.db');
  const store: Store = createSqliteStore({ path: dbPath });
  if (options.db) await refuseStoreWithOtherRuns(store, options.db, seed);
  const firstStep = new Map<string, number>();
  const warden = createWarden({
    rehearsal: true,
    // Each run keeps its own virtual clock, so the shared, time-based breakers and retry budget
    // (one clock for all runs) are off here; the per-run limits and retries are all in force.
    scheduler: { breaker: false, retryBudget: false },
    store,
    worker: `rehearsal:${process.pid}`,
    now: virtualTime.now,
    sleep: virtualTime.sleep,
    random: virtualTime.random,
    onEvent: (event) => {
      if (event.type === 'run.started' && !firstStep.has(event.runId)) firstStep.set(event.runId, performance.now());
    },
  });

  const followUps: FollowUpSummary[][] = new Array(requests);
  const runs: RunSummary[] = new Array(requests);
  const queueDelaysMs: number[] = [];
  const finishedAtMs: number[] = [];
  const byStatus: Record<string, number> = {};
  const analysis = { ms: 0 };
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const epoch = Date.now();
  let next = 0;
  let done = 0;
  // Aborting `cut` ends the runs in flight (each is cancelled with a named reason in its log).
  const cut = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  const interrupt = () => {
    graceTimer = setTimeout(cutNow, options.graceMs ?? DEFAULT_GRACE_MS);
  };
  const cutNow = () => cut.abort('rehearsal interrupted');
  if (options.signal?.aborted) interrupt();
  else options.signal?.addEventListener('abort', interrupt, { once: true });
  if (options.cutSignal?.aborted) cutNow();
  else options.cutSignal?.addEventListener('abort', cutNow, { once: true });

  const one = async (index: number) => {
    const runId = rehearsalRunId(seed, index);
    const clock = new RunClock(epoch, seedFrom(seed, 'clock', index));
    const down = outage !== null && index >= outage.first && index <= outage.last;
    await withPrimaryDown(down, () =>
      withClock(clock, async () => {
        const input = requestText(agent, index, seed);
        recorded.bindRun(runId, requestKeyOf(seed, input));
        const conversation = conversations ? { conversation: rehearsalConversationId(seed, index) } : {};
        const agentFile = options.agentFile ? { agentFile: options.agentFile } : {};
        await warden.submit(agent, input, { runId, ...agentFile, ...conversation });
        const accepted = performance.now();
        let result = await warden.execute(agent, runId, { signal: cut.signal });
        queueDelaysMs.push((firstStep.get(runId) ?? accepted) - accepted);
        firstStep.delete(runId);
        const settle = async (id: string) => {
          for (let round = 0; round < 8 && result.pending && !cut.signal.aborted; round++) {
            if (!(await review(warden, result, seed, profile))) break;
            result = await warden.execute(agent, id, { signal: cut.signal });
          }
        };
        await settle(runId);
        if (!conversations) return;
        // The customer writes again after a completed turn, at the rehearsed rate, up to maxTurns.
        const turns: FollowUpSummary[] = [];
        followUps[index] = turns;
        for (let turn = 2; turn <= conversations.maxTurns && result.status === 'completed' && !cut.signal.aborted; turn++) {
          if (seededRandom(seedFrom(seed, 'follow-up', index, turn))() >= conversations.followUpRate) break;
          const id = followUpRunId(seed, index, turn);
          const text = followUpText(index, turn, seed);
          recorded.bindRun(id, requestKeyOf(seed, text));
          await warden.submit(agent, text, { runId: id, ...agentFile, ...conversation });
          result = await warden.execute(agent, id, { signal: cut.signal });
          await settle(id);
          turns.push({ ...summarizeRun(await store.loadEvents(id), agent), request: index, turn });
        }
      }),
    );
    // A run cut short did not finish: it is counted as interrupted, not summarised.
    if (cut.signal.aborted) return;
    // Timed around the synchronous parts only: an await would count other runs' work as well.
    const t0 = performance.now();
    const loading = store.loadEvents(runId);
    const t1 = performance.now();
    const events = await loading;
    const t2 = performance.now();
    runs[index] = summarizeRun(events, agent);
    analysis.ms += t1 - t0 + (performance.now() - t2);
    finishedAtMs.push(performance.now() - start);
    const status = runs[index].status;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    done++;
    options.onProgress?.({ done, total: requests, elapsedMs: performance.now() - start, byStatus });
  };

  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, requests) }, async () => {
        while (next < requests && !options.signal?.aborted) await one(next++);
      }),
    );
  } finally {
    clearTimeout(graceTimer);
    options.signal?.removeEventListener('abort', interrupt);
    options.cutSignal?.removeEventListener('abort', cutNow);
    await store.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
  const cpu = process.cpuUsage(cpuStart);
  return {
    agent: options.agent,
    seed,
    requests,
    concurrency,
    profile,
    learned: learned ?? null,
    outage,
    modelKeys: agent.models.map((m) => m.key),
    runs: runs.filter((r) => r !== undefined),
    conversations,
    followUps: followUps.filter((t) => t !== undefined).flat(),
    interrupted: done < requests,
    timing: {
      elapsedMs: performance.now() - start,
      cpuMs: (cpu.user + cpu.system) / 1000,
      simulationCpuMs: simulation.ms,
      analysisCpuMs: analysis.ms,
      queueDelaysMs,
      finishedAtMs,
    },
    db: options.db ?? null,
  };
}

/**
 * A rehearsal writes only into a store of rehearsal runs: its reviewer must never meet a live run's
 * approvals. And its run ids follow from the seed, so a store that holds an earlier rehearsal with
 * the same seed (finished or interrupted) cannot take another one.
 */
async function refuseStoreWithOtherRuns(store: Store, path: string, seed: number): Promise<void> {
  const first = await store.getRun(rehearsalRunId(seed, 0));
  if (first) {
    const unfinished = await store.listRuns({ mode: 'rehearsal', status: ['queued', 'running'], limit: 1 });
    await store.close();
    throw new WardenError(
      'CONFLICT',
      `The store ${path} already holds a rehearsal with seed ${seed} (run ${first.runId})${unfinished.length ? ', some of its runs never ended' : ''}; ` +
        `a rehearsal needs run ids of its own. Pass a new --db path, remove ${path}, or choose another --seed.`,
    );
  }
  for (const mode of ['live', 'shadow'] as const) {
    const [run] = await store.listRuns({ mode, limit: 1 });
    if (!run) continue;
    await store.close();
    throw new WardenError(
      'CONFLICT',
      `The store ${path} holds ${mode} runs (e.g. ${run.runId}); a rehearsal writes only into a store of its own. Pass another --db file.`,
    );
  }
}

/** The simulated reviewer's decision on a parked run; false when it leaves the run waiting. */
async function review(warden: Warden, result: RunResult, seed: number, profile: FaultProfile): Promise<boolean> {
  const pending = result.pending!;
  const random = seededRandom(seedFrom(seed, 'review', pending.id));
  if (random() >= profile.reviewer.decides) return false;
  const yes = random() < profile.reviewer.approves;
  const reason = 'simulated reviewer (rehearsal)';
  if (pending.kind === 'approval') {
    if (yes) await warden.approve(pending.id, { by: REVIEWER, reason });
    else await warden.deny(pending.id, { by: REVIEWER, reason });
  } else {
    await warden.decideEscalation(pending.id, { decision: yes ? 'approve' : 'stop', by: REVIEWER, reason });
  }
  return true;
}
