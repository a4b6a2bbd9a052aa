import { WardenError } from '../core/errors.ts';

/**
 * How much of a conversation's earlier turns each new turn sends to the model, so a long
 * conversation stays within the model's window:
 * - `{ lastTurns: N }`: the last N turns whole;
 * - `{ maxTokens: N }`: the most recent whole turns whose upper-bound token count fits in N;
 * - `{ summarize: { maxTokens, keepTurns } }`: once the history would pass `maxTokens`, the model
 *   summarizes every turn but the last `keepTurns`; the summary (an event, with its cost) stands in
 *   for them from then on.
 */
export type HistoryPolicy = { lastTurns: number } | { maxTokens: number } | { summarize: SummarizeOptions };

export interface SummarizeOptions {
  /** Upper bound on the history's tokens before older turns are summarized. */
  maxTokens: number;
  /** Recent turns always kept whole. Default 2. */
  keepTurns?: number;
  /** What the model is asked to do; default `DEFAULT_SUMMARY_INSTRUCTIONS`. */
  instructions?: string;
}

/**
 * An agent's conversation settings (`defineAgent({ conversation })`).
 *
 * @example
 * defineAgent({ …, conversation: { history: { maxTokens: 4000 }, includeTools: true } });
 */
export interface ConversationOptions {
  /** Default `{ lastTurns: 20 }`. */
  history?: HistoryPolicy;
  /** Send the earlier turns' tool calls and results too, not only what was said. Default false. */
  includeTools?: boolean;
}

export interface ResolvedConversationOptions {
  history:
    | { kind: 'lastTurns'; turns: number }
    | { kind: 'maxTokens'; tokens: number }
    | { kind: 'summarize'; tokens: number; keepTurns: number; instructions: string };
  includeTools: boolean;
}

export const DEFAULT_HISTORY_TURNS = 20;

export const DEFAULT_SUMMARY_INSTRUCTIONS =
  'Summarize the conversation below for your own later use: what the user asked for and told you, what you answered and did, and anything still open. Be brief and keep names, numbers and decisions exact.';

function positiveInteger(where: string, key: string, value: unknown): number {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1)) {
    throw new WardenError('INVALID_CONFIG', `${where}: ${key} must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks `conversation` on defineAgent; the message names the setting and what is wrong. */
export function resolveConversation(where: string, given: ConversationOptions | undefined): ResolvedConversationOptions {
  if (given !== undefined && (given === null || typeof given !== 'object')) {
    throw new WardenError('INVALID_CONFIG', `${where}: conversation must be an object { history?, includeTools? }`);
  }
  const includeTools = given?.includeTools ?? false;
  if (typeof includeTools !== 'boolean') throw new WardenError('INVALID_CONFIG', `${where}: conversation.includeTools must be true or false`);
  const h = given?.history ?? { lastTurns: DEFAULT_HISTORY_TURNS };
  const keys = h && typeof h === 'object' ? Object.keys(h) : [];
  if (keys.length !== 1) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where}: conversation.history must be exactly one of { lastTurns: N }, { maxTokens: N } or { summarize: { maxTokens, keepTurns? } }, got ${JSON.stringify(h)}`,
    );
  }
  if ('lastTurns' in h) return { history: { kind: 'lastTurns', turns: positiveInteger(where, 'conversation.history.lastTurns', h.lastTurns) }, includeTools };
  if ('maxTokens' in h) return { history: { kind: 'maxTokens', tokens: positiveInteger(where, 'conversation.history.maxTokens', h.maxTokens) }, includeTools };
  if ('summarize' in h && h.summarize && typeof h.summarize === 'object') {
    const s = h.summarize;
    const instructions = s.instructions ?? DEFAULT_SUMMARY_INSTRUCTIONS;
    if (typeof instructions !== 'string' || instructions.trim() === '')
      throw new WardenError('INVALID_CONFIG', `${where}: conversation.history.summarize.instructions must be a non-empty string`);
    const keepTurns = s.keepTurns === undefined ? 2 : positiveInteger(where, 'conversation.history.summarize.keepTurns', s.keepTurns);
    return {
      history: { kind: 'summarize', tokens: positiveInteger(where, 'conversation.history.summarize.maxTokens', s.maxTokens), keepTurns, instructions },
      includeTools,
    };
  }
  throw new WardenError('INVALID_CONFIG', `${where}: conversation.history has an unknown policy ${JSON.stringify(keys[0])}`);
}
