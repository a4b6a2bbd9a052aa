import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWarden } from '../../src/runtime/warden.ts';
import { AGENTS, messages, testServer, WRITER_FINAL, writerGate, type SseMessage, type TestServer } from './fixtures.ts';

let t: TestServer;
before(async () => {
  t = await testServer();
});
after(async () => {
  writerGate.open();
  await t?.close();
});

describe('streamed text over Server-Sent Events', () => {
  it('sends text.delta messages, with no id, while the run is live, before its model.called and run.completed events', async () => {
    writerGate.close();
    const { json } = await t.call(t.keys.submitter, 'POST', '/v1/runs', { agent: 'writer', input: 'write a reply' });
    const res = await fetch(`${t.server.url}/v1/runs/${json.runId}/stream`, { headers: { authorization: `Bearer ${t.keys.viewer}` } });
    const seen: SseMessage[] = [];
    for await (const m of messages(res)) {
      seen.push(m);
      if (m.event === 'text.delta' && !writerGate.opened) writerGate.open(); // seen live: now let it finish
      if (m.event === 'run.completed') break;
    }
    const deltas = seen.filter((m) => m.event === 'text.delta');
    assert.ok(deltas.length >= 2, 'the drafting text and the final sentence');
    assert.ok(
      deltas.every((m) => m.id === undefined),
      'deltas carry no id, so Last-Event-ID counts only committed events',
    );
    assert.ok(seen.filter((m) => m.event !== 'text.delta').every((m) => m.id !== undefined));
    const parsed = deltas.map((m) => JSON.parse(m.data) as { runId: string; step: number; attempt: number; delta: string });
    assert.ok(parsed.every((d) => d.runId === json.runId && d.step === 1 && d.attempt === 1));
    const called = seen.findIndex((m) => m.event === 'model.called');
    assert.ok(called > seen.indexOf(deltas.at(-1)!), 'every delta came before the committed model.called');
    const turn = JSON.parse(seen[called]?.data ?? 'null').data.turn;
    assert.ok(turn.text.endsWith(WRITER_FINAL));
    assert.ok(turn.text.endsWith(parsed.map((d) => d.delta).join('')), 'what streamed since the client connected is the tail of the committed text');
  });

  it('relays no text of a run another process drives; the committed text still arrives in model.called', async () => {
    const workers = await testServer({ execute: false });
    try {
      writerGate.close();
      const { json } = await workers.call(workers.keys.submitter, 'POST', '/v1/runs', { agent: 'writer', input: 'write elsewhere' });
      const res = await fetch(`${workers.server.url}/v1/runs/${json.runId}/stream`, { headers: { authorization: `Bearer ${workers.keys.viewer}` } });
      // Another Warden on the same store stands in for a `warden worker` process.
      const worker = createWarden({ store: workers.store, streamText: true });
      let streamedThere = 0;
      const stop = worker.subscribeText(() => {
        streamedThere++;
        writerGate.open();
      });
      const writer = AGENTS.writer;
      assert.ok(writer);
      const done = worker.execute(writer, json.runId);
      const seen: SseMessage[] = [];
      for await (const m of messages(res)) {
        seen.push(m);
        if (m.event === 'run.completed') break;
      }
      await done;
      stop();
      assert.ok(streamedThere > 0, 'the other process did stream');
      assert.equal(seen.filter((m) => m.event === 'text.delta').length, 0);
      const called = seen.find((m) => m.event === 'model.called')!;
      assert.ok(JSON.parse(called.data).data.turn.text.endsWith(WRITER_FINAL));
    } finally {
      await workers.close();
    }
  });
});
