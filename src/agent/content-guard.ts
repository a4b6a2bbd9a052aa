import { WardenError } from '../core/errors.ts';

/** Where a content guard looks: the request, the final answer, or one tool's result. */
export type GuardStage = 'input' | 'output' | 'toolResult';

/**
 * What a guard decides about a value.
 * - `allow`: it goes on as it is.
 * - `block`: the run stops with `guard_blocked`; the value is not written to the log.
 * - `redact`: `value` goes on instead; the model and the log only ever see the redacted value.
 * - `escalate`: a person decides (approve, take over or stop) before the run goes on.
 */
export type GuardVerdict<T = unknown> =
  | { action: 'allow' }
  | { action: 'block'; reason: string }
  | { action: 'redact'; value: T; reason: string }
  | { action: 'escalate'; reason: string };

/** What a guard is told besides the value. */
export interface GuardInfo {
  stage: GuardStage;
  agent: string;
  tenant: string;
  /** The tool whose result this is (`toolResult` only). */
  tool?: string;
}

/**
 * A content guard: user code, awaited and time-bounded. One that throws, rejects, answers with
 * anything but a verdict or takes too long fails closed: the run is blocked.
 *
 * @example
 * const noInvoices: ContentGuard<string> = {
 *   name: 'no-invoices',
 *   check: (text) => (/invoice/i.test(text) ? { action: 'block', reason: 'invoices are out of scope' } : { action: 'allow' }),
 * };
 */
export interface ContentGuard<T = unknown> {
  name: string;
  check: (value: T, info: GuardInfo) => GuardVerdict<T> | Promise<GuardVerdict<T>>;
}

/** `guards` on `defineAgent`: each list runs in order, each guard on what the one before let through. */
export interface GuardsConfig {
  /** The request, before it is written to the log. */
  input?: ContentGuard<string>[];
  /** The final answer, before it is written to the log. */
  output?: ContentGuard<string>[];
  /** Each tool's result, before the model or the log sees it. */
  toolResult?: ContentGuard<unknown>[];
  /** How long one guard may take, in ms, before it fails closed. Default 5,000. */
  timeoutMs?: number;
}

export interface ResolvedGuards {
  input: readonly ContentGuard<string>[];
  output: readonly ContentGuard<string>[];
  toolResult: readonly ContentGuard<unknown>[];
  timeoutMs: number;
}

export const DEFAULT_GUARD_TIMEOUT_MS = 5_000;

const NO_GUARDS: ResolvedGuards = Object.freeze({ input: [], output: [], toolResult: [], timeoutMs: DEFAULT_GUARD_TIMEOUT_MS });

export function resolveGuards(where: string, given: GuardsConfig | undefined): ResolvedGuards {
  if (given === undefined) return NO_GUARDS;
  if (typeof given !== 'object' || given === null) throw new WardenError('INVALID_CONFIG', `${where}: guards must be { input?, output?, toolResult? }`);
  for (const key of Object.keys(given)) {
    if (!['input', 'output', 'toolResult', 'timeoutMs'].includes(key))
      throw new WardenError('INVALID_CONFIG', `${where}: unknown guards key "${key}"; known: input, output, toolResult, timeoutMs`);
  }
  const list = <T>(stage: GuardStage, guards: ContentGuard<T>[] | undefined): readonly ContentGuard<T>[] => {
    if (guards === undefined) return [];
    if (!Array.isArray(guards)) throw new WardenError('INVALID_CONFIG', `${where}: guards.${stage} must be an array of { name, check }`);
    const names = new Set<string>();
    for (const g of guards) {
      if (!g || typeof g.name !== 'string' || g.name === '' || typeof g.check !== 'function')
        throw new WardenError('INVALID_CONFIG', `${where}: each guard in guards.${stage} needs a name and a check function`);
      if (names.has(g.name)) throw new WardenError('INVALID_CONFIG', `${where}: two guards in guards.${stage} are named "${g.name}"`);
      names.add(g.name);
    }
    return Object.freeze([...guards]);
  };
  const timeoutMs = given.timeoutMs ?? DEFAULT_GUARD_TIMEOUT_MS;
  if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new WardenError('INVALID_CONFIG', `${where}: guards.timeoutMs must be a positive number of ms, got ${JSON.stringify(timeoutMs)}`);
  return Object.freeze({
    input: list('input', given.input),
    output: list('output', given.output),
    toolResult: list('toolResult', given.toolResult),
    timeoutMs,
  });
}
