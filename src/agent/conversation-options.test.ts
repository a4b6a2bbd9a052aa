import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWardenError } from '../core/errors.ts';
import { DEFAULT_HISTORY_TURNS, DEFAULT_SUMMARY_INSTRUCTIONS, resolveConversation, type ConversationOptions } from './conversation-options.ts';

describe('conversation options', () => {
  it('keeps the last 20 turns, without tool calls, by default', () => {
    assert.deepEqual(resolveConversation('agent "a"', undefined), { history: { kind: 'lastTurns', turns: DEFAULT_HISTORY_TURNS }, includeTools: false });
  });

  it('resolves each history policy', () => {
    assert.deepEqual(resolveConversation('a', { history: { maxTokens: 900 }, includeTools: true }), {
      history: { kind: 'maxTokens', tokens: 900 },
      includeTools: true,
    });
    assert.deepEqual(resolveConversation('a', { history: { summarize: { maxTokens: 500 } } }).history, {
      kind: 'summarize',
      tokens: 500,
      keepTurns: 2,
      instructions: DEFAULT_SUMMARY_INSTRUCTIONS,
    });
  });

  it('refuses a policy that is not exactly one of the three, naming what was given', () => {
    const bad: unknown[] = [
      { history: { lastTurns: 0 } },
      { history: { maxTokens: 1.5 } },
      { history: { lastTurns: 2, maxTokens: 10 } },
      { history: { newest: 3 } },
      { history: { summarize: { maxTokens: 10, keepTurns: 0 } } },
      { history: { summarize: { maxTokens: 10, instructions: ' ' } } },
      { includeTools: 'yes' },
    ];
    for (const given of bad) {
      assert.throws(
        () => resolveConversation('agent "a"', given as ConversationOptions),
        (e) => isWardenError(e, 'INVALID_CONFIG') && e.message.startsWith('agent "a": conversation'),
        JSON.stringify(given),
      );
    }
  });
});
