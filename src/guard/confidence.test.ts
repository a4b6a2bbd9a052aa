import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfidenceScorer, scoreStep, UNREPORTED_CONFIDENCE } from './confidence.ts';

const calm = { planDeviation: false, recentErrors: 0, retries: 0, maxRetries: 6 };

describe('confidence scoring', () => {
  it('takes the lower of the self-report and the mean token probability', () => {
    assert.equal(defaultConfidenceScorer({ ...calm, modelConfidence: 0.9, avgLogprob: Math.log(0.5) }).score, 0.5);
    assert.equal(defaultConfidenceScorer({ ...calm, modelConfidence: 0.4, avgLogprob: Math.log(0.95) }).score, 0.4);
  });

  it('assumes a fixed value when the model reports nothing, and says so', () => {
    const s = defaultConfidenceScorer(calm);
    assert.equal(s.score, UNREPORTED_CONFIDENCE);
    assert.match(s.factors[0] ?? '', /no confidence reported/);
  });

  it('discounts a plan deviation, recent errors and used retries', () => {
    const base = defaultConfidenceScorer({ ...calm, modelConfidence: 1 }).score;
    assert.equal(defaultConfidenceScorer({ ...calm, modelConfidence: 1, planDeviation: true }).score, 0.6);
    assert.ok(defaultConfidenceScorer({ ...calm, modelConfidence: 1, recentErrors: 2 }).score < base);
    assert.ok(defaultConfidenceScorer({ ...calm, modelConfidence: 1, retries: 6 }).score <= 0.7);
  });

  it('fails closed when a custom scorer throws or returns nonsense', () => {
    assert.equal(
      scoreStep(() => {
        throw new Error('boom');
      }, calm).score,
      0,
    );
    assert.equal(scoreStep(() => Number.NaN, calm).score, 0);
    assert.equal(scoreStep(() => 7, calm).score, 1);
    assert.deepEqual(
      scoreStep(() => ({ score: 0.3, factors: ['mine'] }), calm),
      { score: 0.3, factors: ['mine'] },
    );
  });
});
