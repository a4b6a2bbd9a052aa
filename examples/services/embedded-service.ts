/**
 * Warden as a library inside an existing service: a tiny node:http service that submits requests
 * to an agent, answers with the result, and streams the decision trace as it is written.
 *
 *   npm run example:service                       # listens on 127.0.0.1:8790, then:
 *   curl -s -XPOST localhost:8790/ask -d 'Refund order 1042, it arrived broken'
 *   curl -s localhost:8790/trace                 # one line per committed event (kept open)
 *
 * With `--once` it sends itself one request, prints the answer and exits (the test runs that).
 */
import { createServer } from 'node:http';
import { createSqliteStore, createWarden, explainEvent } from 'warden';
import agent from '../support-desk.ts';

const store = createSqliteStore({ path: process.env.WARDEN_DB ?? ':memory:' });
const warden = createWarden({ store });

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/ask') {
    let input = '';
    for await (const chunk of req) input += chunk;
    // submit + execute: the run is recorded first, so a crash here loses nothing (warden resume).
    const runId = await warden.submit(agent, input || 'Where is order 1042?');
    const result = await warden.execute(agent, runId);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ runId, status: result.status, output: result.output, waitingFor: result.pending, costUsd: result.costUsd }));
    return;
  }
  if (req.method === 'GET' && req.url === '/trace') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    // Every committed event of every run, as it is committed.
    const stop = warden.subscribe(({ runId, events }) => {
      for (const e of events) {
        const line = explainEvent(e);
        if (line) res.write(`${runId} ${e.seq} ${line}\n`);
      }
    });
    req.on('close', stop);
    return;
  }
  res.writeHead(404).end();
});

server.listen(Number(process.env.PORT ?? 8790), '127.0.0.1', async () => {
  const { port } = server.address() as { port: number };
  if (!process.argv.includes('--once')) {
    console.log(`listening on http://127.0.0.1:${port}`);
    return;
  }
  const lines: string[] = [];
  const stop = warden.subscribe(({ events }) => {
    for (const e of events) lines.push(e.type);
  });
  const res = await fetch(`http://127.0.0.1:${port}/ask`, { method: 'POST', body: 'Refund order 1042, it arrived broken' });
  console.log(JSON.stringify({ answer: await res.json(), events: lines.length }));
  stop();
  server.close();
  await store.close();
});
