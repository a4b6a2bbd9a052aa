import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { inputTokenBound, MIN_OUTPUT_TOKENS, planModelReservation, remainingNano } from './budget.ts';
import { tokensToNano, usdToNano } from '../core/money.ts';
import { runLog } from '../../test/run-log.ts';

const pricing = { inputPerMTok: 1, outputPerMTok: 2 };

describe('budget: what is left', () => {
  it('is the ceiling less the spend and every open reservation', () => {
    const s = runLog({ maxCostUsd: 0.001 }).started().reserve('r1', 100_000).commit('r1', 40_000, 60_000).reserve('r2', 250_000).reserve('r3', 10_000).fold();
    assert.equal(remainingNano(s), 1_000_000 - 40_000 - 250_000 - 10_000);
  });

  it('goes negative when an overrun took the spend past the ceiling', () => {
    const s = runLog({ maxCostUsd: 0.000001 }).started().reserve('r1', 500).commit('r1', 3_000).fold();
    assert.equal(remainingNano(s), -2_000);
  });
});

describe('budget: the input bound', () => {
  it('is at least the UTF-8 bytes of the request plus a per-message overhead', () => {
    const request = { system: 'Be brief.', messages: [{ role: 'user' as const, text: 'héllo' }], tools: [] };
    const bytes = new TextEncoder().encode(JSON.stringify([request.system, request.messages, request.tools])).length;
    assert.equal(inputTokenBound(request), bytes + 8 * 2);
  });
});

describe('budget: sizing a model reservation', () => {
  it('reserves worst-case input plus the full maxOutputTokens when the ceiling allows it', () => {
    const s = runLog({ maxCostUsd: 1, maxOutputTokens: 1_000 }).fold();
    const r = planModelReservation(s, pricing, 2_000);
    assert.deepEqual(r, { ok: true, amountNano: tokensToNano(2_000, 1) + tokensToNano(1_000, 2), maxOutputTokens: 1_000, inputTokens: 2_000 });
  });

  it('shrinks maxOutputTokens to what the ceiling can still pay for', () => {
    // 2,000 input tokens cost 2,000,000 nano; each output token 2,000 nano; 3,000,000 left → 500 tokens.
    const s = runLog({ maxCostUsd: 0.003, maxOutputTokens: 4_096 }).fold();
    const r = planModelReservation(s, pricing, 2_000);
    assert.ok(r.ok);
    assert.equal(r.maxOutputTokens, 500);
    assert.equal(r.amountNano, usdToNano(0.003));
  });

  it('makes the call at exactly MIN_OUTPUT_TOKENS affordable and refuses it at one token fewer', () => {
    const input = 1_000;
    const exact = tokensToNano(input, 1) + tokensToNano(MIN_OUTPUT_TOKENS, 2);
    const s = runLog({ maxOutputTokens: 4_096 }).fold();
    const atFloor = planModelReservation(s, pricing, input, exact);
    assert.ok(atFloor.ok);
    assert.equal(atFloor.maxOutputTokens, MIN_OUTPUT_TOKENS);
    const below = planModelReservation(s, pricing, input, exact - 1);
    assert.equal(below.ok, false);
    assert.match(
      (below as { detail: string }).detail,
      /could cost up to .*\(1000 input tokens at most, 256 output tokens at least\), but only .* of the \$1\.00 ceiling is left/,
    );
  });

  it('refuses a call whose input alone costs more than is left', () => {
    const s = runLog({ maxCostUsd: 0.000001 }).fold();
    assert.equal(planModelReservation(s, pricing, 5_000).ok, false);
  });

  it('uses maxOutputTokens as the floor when an agent asks for fewer than MIN_OUTPUT_TOKENS', () => {
    const s = runLog({ maxOutputTokens: 50 }).fold();
    const exact = tokensToNano(100, 1) + tokensToNano(50, 2);
    const r = planModelReservation(s, pricing, 100, exact);
    assert.ok(r.ok);
    assert.equal(r.maxOutputTokens, 50);
  });

  it('reserves input at the dearest rate it may be billed at: cache write and the highest context tier reached', () => {
    const s = runLog({ maxOutputTokens: 100 }).fold();
    const cacheWrite = planModelReservation(s, { ...pricing, cacheWriteInputPerMTok: 1.25 }, 1_000);
    assert.ok(cacheWrite.ok);
    assert.equal(cacheWrite.amountNano, tokensToNano(1_000, 1.25) + tokensToNano(100, 2));
    const tiered = { ...pricing, contextTiers: [{ aboveInputTokens: 500, inputPerMTok: 3, outputPerMTok: 4 }] };
    const above = planModelReservation(s, tiered, 1_000);
    assert.ok(above.ok);
    assert.equal(above.amountNano, tokensToNano(1_000, 3) + tokensToNano(100, 4));
    const below = planModelReservation(s, tiered, 400);
    assert.ok(below.ok);
    assert.equal(below.amountNano, tokensToNano(400, 1) + tokensToNano(100, 2));
  });

  it('never reserves more than is left, and never refuses a call the floor fits (fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50_000_000 }), // remaining nano-USD
        fc.integer({ min: 0, max: 200_000 }), // input tokens
        fc.integer({ min: 1, max: 16_000 }), // maxOutputTokens
        fc.double({ min: 0.01, max: 20, noNaN: true }),
        fc.double({ min: 0.01, max: 80, noNaN: true }),
        (remaining, input, maxOutputTokens, inputPerMTok, outputPerMTok) => {
          const s = runLog({ maxOutputTokens }).fold();
          const price = { inputPerMTok, outputPerMTok };
          const r = planModelReservation(s, price, input, remaining);
          const floor = Math.min(MIN_OUTPUT_TOKENS, maxOutputTokens);
          const floorCost = tokensToNano(input, inputPerMTok) + tokensToNano(floor, outputPerMTok);
          if (r.ok) {
            assert.ok(r.amountNano <= remaining, `reserved ${r.amountNano} of ${remaining}`);
            assert.ok(r.maxOutputTokens >= floor && r.maxOutputTokens <= maxOutputTokens);
            assert.equal(r.amountNano, tokensToNano(input, inputPerMTok) + tokensToNano(r.maxOutputTokens, outputPerMTok));
          } else {
            assert.ok(floorCost > remaining, `refused although the floor costs ${floorCost} of ${remaining}`);
          }
        },
      ),
      { seed: 15_2026, numRuns: 500 },
    );
  });
});
