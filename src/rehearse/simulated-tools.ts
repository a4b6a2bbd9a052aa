import { z } from 'zod';
import { defineTool, isReversible, type AnyTool, type ToolContext } from '../agent/tool.ts';
import { plausibleValue, type ArgsSource } from '../model/behaviour-args.ts';
import { seededRandom, seedFrom } from '../model/seeded-random.ts';
import { hashValue } from '../core/canonical.ts';
import type { FaultRates } from './fault-profile.ts';
import type { RecordedCalls } from './learned-behaviour.ts';
import { drawQuantile } from './learned-model.ts';
import { currentClock } from './virtual-time.ts';

/**
 * Real time a simulated timeout holds its call before the runtime's timer fires. The run's own
 * clock advances by the tool's declared timeout, so the trace's durations stay true to production.
 */
export const REHEARSAL_TIMEOUT_MS = 250;

/** Simulated time a tool takes when it answers, ms (log-uniform). */
const TOOL_LATENCY = { min: 20, max: 600 };

export interface SimulatedToolsOptions {
  seed: number;
  rates: Pick<FaultRates, 'toolFailure' | 'toolTimeout'>;
  /**
   * What a learned model saw of each tool: its own failure and timeout rates (added to `rates`)
   * and latency (drawn from these quantiles instead of the default range).
   */
  learned?: Readonly<Record<string, { failureRate: number; timeoutRate: number; latencyMs: readonly number[] }>>;
  /**
   * Calls a learned model proposed with arguments the recorded runs saw, by `hashValue` of the
   * arguments: they fail at those arguments' own rate and answer what the tool answered then.
   */
  recorded?: RecordedCalls;
}

/**
 * The agent's tools with their `execute` (and `compensate`) replaced by a simulation: a rehearsal
 * never performs the agent's real side effects. Everything else the runtime governs by — name, tier, schemas,
 * approval rule, idempotency, lock key, price, retries — is the agent's own. A simulated call
 * answers with data shaped by the tool's `output` schema when it declares one (the same arguments
 * always give the same answer, as a real lookup would), fails, or times out, at the given rates.
 *
 * @example
 * const tools = simulateTools(agent.tools, { seed: 1, rates: { toolFailure: 0.02, toolTimeout: 0.003 } });
 */
export function simulateTools(tools: readonly AnyTool[], options: SimulatedToolsOptions): AnyTool[] {
  return tools.map((tool) => {
    const outputSchema = tool.output ? outputJsonSchema(tool.output) : undefined;
    const learned = options.learned?.[tool.name];
    const timeoutRate = options.rates.toolTimeout + (learned?.timeoutRate ?? 0);
    const failureRate = options.rates.toolFailure + (learned?.failureRate ?? 0);
    const execute = (args: unknown, ctx: ToolContext): Promise<unknown> => {
      const random = seededRandom(seedFrom(options.seed, ctx.runId, ctx.callId, ctx.attempt));
      const draw = random();
      const clock = currentClock();
      if (draw < timeoutRate) {
        // Never answers: the runtime's timer fires, and the outcome is unknown.
        void clock?.wait(tool.timeoutMs);
        // The runtime's timeout timer does not keep the process alive; this one does, until it fires.
        const alive = setTimeout(() => {}, REHEARSAL_TIMEOUT_MS * 4);
        return new Promise((_, reject) =>
          ctx.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(alive);
              reject(ctx.signal.reason);
            },
            { once: true },
          ),
        );
      }
      const latency =
        learned && learned.latencyMs.length > 0
          ? Math.round(drawQuantile(learned.latencyMs as number[], random()))
          : Math.round((TOOL_LATENCY.min + 1) * ((TOOL_LATENCY.max + 1) / (TOOL_LATENCY.min + 1)) ** random() - 1);
      const waited = clock ? clock.wait(latency, ctx.signal) : Promise.resolve();
      // Failures follow the arguments: a call with arguments the runs saw fails at their own rate.
      const seen = options.recorded?.get(ctx.runId, tool.name, args);
      const failing = seen ? options.rates.toolFailure + seen.failureRate : failureRate;
      if (draw < timeoutRate + failing) {
        return waited.then(() => {
          throw new Error(`${tool.name}: the downstream service answered 503 (simulated failure, attempt ${ctx.attempt})`);
        });
      }
      if (seen && seen.result !== null && seen.result !== undefined) return waited.then(() => seen.result);
      return waited.then(() => simulatedOutput(tool, outputSchema, args, options.seed));
    };
    // The real compensate and shadowResult stay behind too: a reversible tool reverses in simulation.
    const compensate = isReversible(tool) ? () => ({ simulated: true, reversed: tool.name }) : undefined;
    return defineTool({ ...tool, execute, compensate, shadowResult: undefined, timeoutMs: Math.min(tool.timeoutMs, REHEARSAL_TIMEOUT_MS) });
  });
}

function outputJsonSchema(schema: z.ZodType): Record<string, unknown> | undefined {
  try {
    return z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Ids in the answer echo the arguments (the order looked up is the order returned). */
function echoSource(args: unknown, seed: number, key: string): ArgsSource {
  const given = typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : {};
  const ids = Object.entries(given).filter(([name, v]) => typeof v === 'string' && /id$/i.test(name));
  return {
    random: seededRandom(seedFrom(seed, key)),
    entity(field) {
      const same = given[field];
      if (typeof same === 'string') return same;
      if (field === 'id' && ids.length === 1) return ids[0]![1] as string;
      return String(1000 + (seedFrom(seed, key, field) % 9000));
    },
  };
}

/** A deterministic answer for these arguments, valid against the tool's output schema when it can be. */
export function simulatedOutput(tool: AnyTool, outputSchema: Record<string, unknown> | undefined, args: unknown, seed: number): unknown {
  const key = `${tool.name}:${hashValue(args)}`;
  if (!tool.output || !outputSchema) return { ok: true, tool: tool.name, simulated: true };
  let value: unknown = null;
  for (let i = 0; i < 5; i++) {
    value = plausibleValue(outputSchema, echoSource(args, seed, `${key}:${i}`));
    if (tool.output.safeParse(value).success) return value;
  }
  return value;
}
