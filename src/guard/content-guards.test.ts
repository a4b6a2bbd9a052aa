import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContentGuard, GuardInfo, GuardVerdict } from '../agent/content-guard.ts';
import { runGuards } from './content-guards.ts';
import { cardNumberGuard, emailGuard, REDACTED, secretsGuard } from './builtin-guards.ts';

const info: GuardInfo = { stage: 'toolResult', agent: 'a', tenant: 't', tool: 'lookup' };
const text: GuardInfo = { stage: 'output', agent: 'a', tenant: 't' };
// A GitHub token of the documented shape (secretlint's GitHub rule), made up for the test.
const TOKEN = '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';

describe('runGuards', () => {
  it('lets a value through when every guard allows it', async () => {
    const out = await runGuards([{ name: 'ok', check: () => ({ action: 'allow' }) }], 'hi', text, 100);
    assert.deepEqual(out, { verdict: 'allow', value: 'hi', decisions: [] });
  });

  it('hands each guard what the one before redacted, and stops at the first block', async () => {
    const seen: string[] = [];
    const note = (v: string, verdict: GuardVerdict<string>): GuardVerdict<string> => {
      seen.push(v);
      return verdict;
    };
    const guards: ContentGuard<string>[] = [
      { name: 'r', check: (v) => note(v, { action: 'redact', value: v.replace('secret', '[x]'), reason: 'r' }) },
      { name: 'b', check: (v) => note(v, { action: 'block', reason: 'no' }) },
      { name: 'never', check: (v) => note(v, { action: 'allow' }) },
    ];
    const out = await runGuards(guards, 'a secret', text, 100);
    assert.equal(out.verdict, 'block');
    assert.deepEqual(seen, ['a secret', 'a [x]']);
    assert.deepEqual(
      out.decisions.map((d) => `${d.guard}:${d.verdict}`),
      ['r:redact', 'b:block'],
    );
  });

  it('escalates when a guard asks for a person', async () => {
    const out = await runGuards([{ name: 'e', check: async () => ({ action: 'escalate', reason: 'unsure' }) }], 'x', text, 100);
    assert.equal(out.verdict, 'escalate');
    assert.equal(out.decisions[0]?.reason, 'unsure');
  });

  for (const [why, check] of [
    [
      'throws',
      () => {
        throw new Error('boom');
      },
    ],
    [
      'rejects',
      async () => {
        throw new Error('boom');
      },
    ],
    ['answers nonsense', () => 'yes'],
    ['answers an unknown action', () => ({ action: 'maybe' })],
    ['blocks without a reason', () => ({ action: 'block' })],
    ['redacts text to a number', () => ({ action: 'redact', value: 3, reason: 'r' })],
    ['never answers', () => new Promise(() => {})],
  ] as [string, ContentGuard<string>['check']][]) {
    it(`fails closed (blocks) when the guard ${why}`, async () => {
      const out = await runGuards([{ name: 'g', check }], 'x', text, 20);
      assert.equal(out.verdict, 'block');
      assert.match(out.decisions[0]?.reason ?? '', /failed closed/);
    });
  }
});

describe('built-in guards', () => {
  it('redacts an API key anywhere in a tool result', async () => {
    const out = await runGuards([secretsGuard()], { user: 'ana', config: { token: `token=${TOKEN}` }, list: [TOKEN] }, info, 5000);
    assert.equal(out.verdict, 'redact');
    assert.deepEqual(out.value, { user: 'ana', config: { token: `token=${REDACTED.secret}` }, list: [REDACTED.secret] });
    assert.doesNotMatch(JSON.stringify(out), /ghp_/);
  });

  it('blocks instead when told to', async () => {
    const out = await runGuards([secretsGuard({ action: 'block' })], `key ${TOKEN}`, info, 5000);
    assert.equal(out.verdict, 'block');
  });

  it('redacts email addresses but not an @ that is not one', async () => {
    const out = await runGuards([emailGuard<string>()], 'Write to ana.lima@example.com. Or @support on chat, a@b.', text, 100);
    assert.equal(out.value, `Write to ${REDACTED.email}. Or @support on chat, a@b.`);
  });

  it('redacts card numbers that pass Luhn, and leaves other long numbers', async () => {
    const out = await runGuards([cardNumberGuard<string>()], 'card 4111 1111 1111 1111, order 4111111111111112, visa 4012-8888-8888-1881', text, 100);
    assert.equal(out.value, `card ${REDACTED.card}, order 4111111111111112, visa ${REDACTED.card}`);
    assert.equal(out.decisions[0]?.reason, '2 card numbers found and redacted');
  });

  it('leaves a clean value alone', async () => {
    const out = await runGuards([secretsGuard(), emailGuard(), cardNumberGuard()], { id: 'o-1', total: 12.5, note: 'ok' }, info, 5000);
    assert.equal(out.verdict, 'allow');
  });
});
