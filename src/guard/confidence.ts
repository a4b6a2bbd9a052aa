/**
 * Confidence-based escalation: every proposed step gets a score in [0, 1] from the signals at hand,
 * and a step below the agent's threshold waits for a person instead of running.
 */
import type { ConfidenceScore, ConfidenceScorer, ConfidenceSignals } from '../core/confidence.ts';

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
