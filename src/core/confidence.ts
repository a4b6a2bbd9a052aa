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
