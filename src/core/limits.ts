// The stop conditions every run carries, and their defaults. Declared by an agent, enforced by the
// runtime, recorded in `run.submitted` so a run keeps the limits it started with.

/** Hard stop conditions. Every one has a safe default; none is ever unlimited. */
export interface Limits {
  /** Model calls (turns) per run. */
  maxSteps: number;
  /** Tool executions per run (retries not counted here). */
  maxToolCalls: number;
  /** Retries of model and tool calls together, per run. */
  maxRetries: number;
  /** Active wall-clock time per run, excluding time parked waiting for a person. */
  maxWallMs: number;
  /** Cost ceiling per request in USD: retries and child runs included. */
  maxCostUsd: number;
  /** Largest completion asked of the model per call (the reservation's worst case). */
  maxOutputTokens: number;
  /**
   * Times a final answer that does not match the agent's `output` schema goes back to the model
   * with the errors before the run stops with `invalid_output`. Default 2 (`DEFAULT_OUTPUT_REPAIRS`).
   * Each repair is a model step like any other: it counts against `maxSteps` and the ceiling.
   */
  maxOutputRepairs?: number;
  /**
   * Ceiling in USD on a whole conversation: every turn's spend together (each turn still has its
   * own `maxCostUsd`). Held in the store with each reservation, like the per-run ceiling; a turn
   * that would cross it stops with `conversation_ceiling`. Unset: a conversation has no ceiling
   * beyond its turns'.
   */
  maxConversationCostUsd?: number;
  /** Turns a conversation may have; a message past it is refused (`CONVERSATION_CLOSED`). Unset: no limit. */
  maxConversationTurns?: number;
}

export const DEFAULT_OUTPUT_REPAIRS = 2;

/** The limits every run has, whatever the agent (the rest apply only to agents that use a feature). */
export type CoreLimits = Omit<Limits, 'maxOutputRepairs' | 'maxConversationCostUsd' | 'maxConversationTurns'>;

/** The defaults are deliberately tight: an agent that needs more says so. */
export const DEFAULT_LIMITS: Readonly<CoreLimits> = Object.freeze({
  maxSteps: 20,
  maxToolCalls: 40,
  maxRetries: 6,
  maxWallMs: 5 * 60_000,
  maxCostUsd: 1,
  maxOutputTokens: 4096,
});

export interface LoopDetection {
  /** Stop when the same tool with the same arguments returns the same result this many times. */
  repeats: number;
  /** Stop when this many consecutive steps produce nothing new (no new call, result or answer). */
  noProgressSteps: number;
}

export const DEFAULT_LOOP_DETECTION: Readonly<LoopDetection> = Object.freeze({ repeats: 3, noProgressSteps: 6 });

export interface RetryBackoff {
  /** First backoff in ms; doubles each retry, with full jitter. */
  baseMs: number;
  /** Cap on one backoff, in ms. */
  maxMs: number;
  /**
   * Longest `Retry-After` a model call waits for, in ms (default 60 000). A provider asking for
   * longer, or for a wait past the run's wall-time limit, stops the run with `wall_time`.
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_BACKOFF: Readonly<RetryBackoff> = Object.freeze({ baseMs: 250, maxMs: 8_000 });
