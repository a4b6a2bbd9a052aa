import { nanoToUsd } from '../core/money.ts';
import type { RehearsalOutcome } from './rehearsal.ts';
import { round, spread, tally, type Spread } from './stats.ts';

/**
 * The conversations of a rehearsal that drew follow-up messages: how many turns they took, how
 * the follow-up turns ended and what a whole conversation cost. Null for single requests.
 */
export interface ConversationsReport {
  /** The rehearsed settings: the chance a completed turn gets a follow-up, and the most turns. */
  followUpRate: number;
  maxTurns: number;
  /** Conversations (one per request) and how many had at least one follow-up. */
  conversations: number;
  withFollowUps: number;
  /** Turns in all, first turns included, and per conversation. */
  turns: number;
  turnsPerConversation: { mean: number; max: number };
  /** How the follow-up turns ended, and their stop reasons (e.g. `conversation_ceiling`). */
  followUpsByStatus: Record<string, number>;
  followUpStopReasons: Record<string, number>;
  /** What a whole conversation cost (every turn), USD. */
  costPerConversationUsd: Spread;
}

/** The conversations part of the rehearsal report (null without `conversations`). */
export function conversationsReport(outcome: RehearsalOutcome): ConversationsReport | null {
  const c = outcome.conversations;
  if (!c) return null;
  const turnsOf = new Map<number, number>();
  const costOf = new Map<number, number>();
  outcome.runs.forEach((r, i) => {
    turnsOf.set(i, 1);
    costOf.set(i, r.spentNano);
  });
  for (const f of outcome.followUps) {
    turnsOf.set(f.request, (turnsOf.get(f.request) ?? 1) + 1);
    costOf.set(f.request, (costOf.get(f.request) ?? 0) + f.spentNano);
  }
  const counts = [...turnsOf.values()];
  const turns = counts.reduce((a, b) => a + b, 0);
  return {
    followUpRate: c.followUpRate,
    maxTurns: c.maxTurns,
    conversations: outcome.runs.length,
    withFollowUps: counts.filter((t) => t > 1).length,
    turns,
    turnsPerConversation: { mean: round(counts.length ? turns / counts.length : 0, 2), max: Math.max(0, ...counts) },
    followUpsByStatus: tally(outcome.followUps.map((f) => f.status)),
    followUpStopReasons: tally(outcome.followUps.filter((f) => f.stopReason).map((f) => f.stopReason as string)),
    costPerConversationUsd: spread([...costOf.values()].map(nanoToUsd)),
  };
}
