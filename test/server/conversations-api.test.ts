import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testServer, waitFor, type TestServer } from './fixtures.ts';

let t: TestServer;
before(async () => {
  t = await testServer();
});
after(() => t.close());

const status = async (runId: string) => (await t.call(t.keys.admin, 'GET', `/v1/runs/${runId}`)).json.status as string;

describe('conversations over HTTP', () => {
  it('queues a message behind a turn that waits for approval, then runs it once the turn is decided, seeing the earlier turn', async () => {
    const first = await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-a/messages', { agent: 'desk', input: 'Please close account c-42.' });
    assert.equal(first.status, 201);
    assert.equal(first.json.turn, 1);
    assert.equal(first.json.conversationId, 'chat-a');
    await waitFor('the first turn parks', async () => (await status(first.json.runId)) === 'waiting_approval');

    const second = await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-a/messages', { agent: 'desk', input: 'Is it done?' });
    assert.equal(second.status, 201);
    assert.equal(second.json.turn, 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await status(second.json.runId), 'queued', 'the second message waits for the first turn');

    const approvalId = (await t.call(t.keys.admin, 'GET', `/v1/runs/${first.json.runId}`)).json.pending.id;
    assert.equal((await t.call(t.keys.approver, 'POST', `/v1/approvals/${approvalId}/approve`, {})).status, 200);
    await waitFor('the second turn completes', async () => (await status(second.json.runId)) === 'completed');

    const shown = await t.call(t.keys.viewer, 'GET', '/v1/conversations/chat-a');
    assert.equal(shown.status, 200);
    assert.equal(shown.json.turns, 2);
    assert.deepEqual(
      shown.json.turnRuns.map((r: { turn: number; status: string }) => [r.turn, r.status]),
      [
        [1, 'completed'],
        [2, 'completed'],
      ],
    );
    const events = (await t.call(t.keys.viewer, 'GET', `/v1/runs/${second.json.runId}/events`)).json.events as {
      type: string;
      data: { turns?: { turn: number }[] };
    }[];
    const history = events.find((e) => e.type === 'conversation.history');
    assert.deepEqual(
      history?.data.turns?.map((x) => x.turn),
      [1],
    );
    const listed = await t.call(t.keys.viewer, 'GET', '/v1/conversations');
    assert.ok(listed.json.conversations.some((c: { conversationId: string }) => c.conversationId === 'chat-a'));
  });

  it('drives the queued turn once the turn before it is cancelled instead of decided', async () => {
    const first = await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-c/messages', { agent: 'desk', input: 'Please close account c-7.' });
    await waitFor('the first turn parks', async () => (await status(first.json.runId)) === 'waiting_approval');
    const second = await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-c/messages', { agent: 'desk', input: 'Never mind.' });
    assert.equal((await t.call(t.keys.operator, 'POST', `/v1/runs/${first.json.runId}/cancel`, { reason: 'customer changed their mind' })).status, 200);
    await waitFor('the second turn completes', async () => (await status(second.json.runId)) === 'completed');
    const events = (await t.call(t.keys.viewer, 'GET', `/v1/runs/${second.json.runId}/events`)).json.events as { type: string; explain: string }[];
    assert.match(events.find((e) => e.type === 'conversation.history')?.explain ?? '', /told the earlier conversation: turn 1/);
  });

  it('hides a conversation from a key of another tenant and refuses it a message', async () => {
    const first = await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-b/messages', { agent: 'slow', input: 'scan' });
    assert.equal(first.status, 201);
    assert.equal((await t.call(t.keys.foreign, 'GET', '/v1/conversations/chat-b')).status, 404);
    const theirs = await t.call(t.keys.foreign, 'GET', '/v1/conversations');
    assert.ok(!theirs.json.conversations.some((c: { conversationId: string }) => c.conversationId === 'chat-b'));
    const wrongAgent = await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-b/messages', { agent: 'desk', input: 'hi' });
    assert.equal(wrongAgent.status, 409);
    assert.equal(wrongAgent.json.error.code, 'CONFLICT');

    const cancelled = await t.call(t.keys.operator, 'POST', '/v1/conversations/chat-b/cancel', { reason: 'done here' });
    assert.equal(cancelled.status, 200);
    await waitFor('the live turn is cancelled', async () => (await status(first.json.runId)) === 'cancelled');
    const refused = await t.call(t.keys.submitter, 'POST', '/v1/conversations/chat-b/messages', { agent: 'slow', input: 'again' });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.error.code, 'CONVERSATION_CLOSED');
  });
});
