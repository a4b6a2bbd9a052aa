/**
 * A recorded pilot of the example support desk, for the learned-model tests and the README's
 * saved model: the example's own simulated model answers a scripted mix of requests through the
 * real runtime and a real SQLite store, with model latency and 429s on the runs' own clocks, and
 * a scripted person decides what waits for one. Its behaviour is known, so a model learned from
 * it can be checked against it.
 */
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { defineAgent, type Agent } from '../../src/agent/agent.ts';
import type { AnyRunEvent } from '../../src/core/events.ts';
import { seededRandom, seedFrom } from '../../src/model/seeded-random.ts';
import { providerError } from '../../src/model/simulated.ts';
import { statedAttempt } from '../../src/model/simulated-attempts.ts';
import type { SimulatedModel } from '../../src/model/simulated-types.ts';
import { RunClock, virtualTime, withClock } from '../../src/rehearse/virtual-time.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import supportDesk from '../../examples/support-desk.ts';

/** The mix of requests, with its shares: what the pilot's customers asked. */
export const PILOT_MIX: readonly [string, number][] = [
  ['Refund order 1042, it arrived broken', 0.25], // $250: waits for a person
  ['Refund order 2001', 0.35], // $40: runs on its own
  ['Refund order 3333', 0.15], // no such order: the lookup fails
  ['Where is my parcel?', 0.15], // no order number: a question back
  ['Refund order 1042', 0.1],
];
/** Share of approvals the pilot's person approves. */
export const PILOT_APPROVES = 0.7;
/** Share of model call attempts the provider answers 429. */
export const PILOT_RATE_LIMITED = 0.03;

function pick(u: number): string {
  let edge = 0;
  for (const [input, share] of PILOT_MIX) {
    edge += share;
    if (u < edge) return input;
  }
  return PILOT_MIX[0]![0];
}

/** The example's model with latency (log-uniform 300 ms–3 s) and 429s, spent on the run's own clock. */
function withProvider(model: SimulatedModel, seed: number): SimulatedModel {
  let calls = 0;
  const generate = async (call: LanguageModelV3CallOptions) => {
    const random = seededRandom(seedFrom(seed, 'pilot-call', calls++, statedAttempt(call) ?? 1));
    await virtualTime.sleep(Math.round(300 * 10 ** random()), call.abortSignal);
    if (random() < PILOT_RATE_LIMITED) throw providerError({ status: 429, times: 1, retryAfterMs: 1000 }, 0, 1);
    return model.doGenerate(call);
  };
  return { ...model, doGenerate: generate, doStream: (call) => model.doStream(call) };
}

/** The pilot's agent: the support desk as shipped, its model behind a provider with latency and 429s. */
export function pilotAgent(seed: number): Agent {
  const desk = supportDesk;
  return defineAgent({
    name: desk.name,
    description: desk.description,
    instructions: desk.instructions,
    model: withProvider(desk.model as SimulatedModel, seed),
    tools: [...desk.tools],
    limits: { ...desk.limits },
    policy: { ...desk.policy },
    ...(desk.plan ? { plan: desk.plan } : {}),
    ...(desk.escalation ? { escalation: desk.escalation } : {}),
  });
}

/** Records `runs` pilot runs into the SQLite file `db` and returns their logs, in order. */
export async function recordPilot(options: { runs: number; seed: number; db: string }): Promise<AnyRunEvent[][]> {
  const store = createSqliteStore({ path: options.db });
  const agent = pilotAgent(options.seed);
  const warden = createWarden({
    store,
    worker: 'pilot',
    scheduler: { breaker: false, retryBudget: false },
    now: virtualTime.now,
    sleep: virtualTime.sleep,
    random: virtualTime.random,
  });
  const logs: AnyRunEvent[][] = [];
  const epoch = Date.UTC(2026, 10, 2, 9);
  try {
    for (let i = 0; i < options.runs; i++) {
      const random = seededRandom(seedFrom(options.seed, 'pilot', i));
      const runId = `run_pilot${options.seed}_${i}`;
      // Requests arrive one every 90 s or so, each on its own clock.
      const clock = new RunClock(epoch + i * 90_000, seedFrom(options.seed, 'clock', i));
      await withClock(clock, async () => {
        await warden.submit(agent, pick(random()), { runId });
        let result = await warden.execute(agent, runId);
        for (let round = 0; round < 4 && result.pending; round++) {
          const yes = random() < PILOT_APPROVES;
          const id = result.pending.id;
          if (result.pending.kind === 'approval') {
            if (yes) await warden.approve(id, { by: 'ana', reason: 'pilot' });
            else await warden.deny(id, { by: 'ana', reason: 'pilot' });
          } else {
            await warden.decideEscalation(id, { decision: yes ? 'approve' : 'stop', by: 'ana', reason: 'pilot' });
          }
          result = await warden.execute(agent, runId);
        }
      });
      logs.push(await store.loadEvents(runId));
    }
  } finally {
    await store.close();
  }
  return logs;
}
