/**
 * Confidence-based escalation: every proposed step gets a score in [0, 1] from the signals at hand,
 * and a step below the agent's threshold waits for a person instead of running.
 */

/** What is known about a step when it is scored. */
export interface ConfidenceSignals {
  /** The model's own confidence in [0, 1], when it reported one. */
  modelConfidence?: number;
  /** Mean token log-probability of the response, where the provider returns them. */
  avgLogprob?: number;
  /** The plan verifier disagrees: the step is not the verified plan's next step. */
  planDeviation: boolean;
  /** Failed or rejected calls and failed model calls in the run's last three steps. */
  recentErrors: number;
  /** Retries the run has used so far, out of `maxRetries`. */
  retries: number;
  maxRetries: number;
}

export interface ConfidenceScore {
  score: number;
  /** Each signal's part in the score, in words for the trace. */
  factors: string[];
}

/** A pluggable scorer. Returning a bare number is fine; factors make the trace clearer. */
export type ConfidenceScorer = (signals: ConfidenceSignals) => number | ConfidenceScore;

/** Assumed when the model gives no confidence and no log-probabilities: nothing says it doubts. */
export const UNREPORTED_CONFIDENCE = 0.9;

/**
 * The default scorer: the model's evidence (the lower of its self-report and its mean token
 * probability), then discounted for a plan deviation (×0.6), each recent error (×0.85, at most
 * three) and the share of the retry budget already used (down to ×0.7).
 *
 * @example
 * defaultConfidenceScorer({ modelConfidence: 0.8, planDeviation: false, recentErrors: 1, retries: 0, maxRetries: 6 })
 * // → { score: 0.68, factors: ['the model reported 0.80', '1 recent error ×0.85'] }
 */
export function defaultConfidenceScorer(signals: ConfidenceSignals): ConfidenceScore {
  const factors: string[] = [];
  const evidence: number[] = [];
  if (signals.modelConfidence !== undefined) {
    evidence.push(signals.modelConfidence);
    factors.push(`the model reported ${signals.modelConfidence.toFixed(2)}`);
  }
  if (signals.avgLogprob !== undefined && Number.isFinite(signals.avgLogprob)) {
    const p = Math.exp(Math.min(0, signals.avgLogprob));
    evidence.push(p);
    factors.push(`mean token probability ${p.toFixed(2)}`);
  }
  let score = evidence.length ? Math.min(...evidence) : UNREPORTED_CONFIDENCE;
  if (evidence.length === 0) factors.push(`no confidence reported (assumed ${UNREPORTED_CONFIDENCE})`);
  if (signals.planDeviation) {
    score *= 0.6;
    factors.push('departs from the verified plan ×0.6');
  }
  const errors = Math.min(3, Math.max(0, signals.recentErrors));
  if (errors > 0) {
    score *= 0.85 ** errors;
    factors.push(`${errors} recent error${errors > 1 ? 's' : ''} ×${(0.85 ** errors).toFixed(2)}`);
  }
  if (signals.retries > 0 && signals.maxRetries > 0) {
    const used = Math.min(1, signals.retries / signals.maxRetries);
    score *= 1 - 0.3 * used;
    factors.push(`${signals.retries} of ${signals.maxRetries} retries used ×${(1 - 0.3 * used).toFixed(2)}`);
  }
  return { score: round(score), factors };
}

/** Runs a scorer and normalises what it returns; a scorer that throws or returns junk scores 0. */
export function scoreStep(scorer: ConfidenceScorer | undefined, signals: ConfidenceSignals): ConfidenceScore {
  if (!scorer) return defaultConfidenceScorer(signals);
  try {
    const out = scorer(signals);
    const score = typeof out === 'number' ? out : out?.score;
    if (typeof score !== 'number' || !Number.isFinite(score)) return { score: 0, factors: ['the custom scorer returned no number (scored 0)'] };
    const factors = typeof out === 'number' ? ['custom scorer'] : Array.isArray(out.factors) ? out.factors.map(String) : ['custom scorer'];
    return { score: round(Math.min(1, Math.max(0, score))), factors };
  } catch (e) {
    return { score: 0, factors: [`the custom scorer threw (${e instanceof Error ? e.message : String(e)}); scored 0 so a person decides`] };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
