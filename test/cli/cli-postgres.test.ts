import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli, tempDir } from '../helpers.ts';
import { dropSchema, uniqueSchema, urlWithSchema } from '../store/pg-schema.ts';

const AGENT = resolve('test/fixtures/crash-agent.ts');
const schema = uniqueSchema('cli');
after(() => dropSchema(schema));

describe('CLI: store selection, migrate, submit', () => {
  it('migrates a SQLite file and then reports it current', async () => {
    const db = join(tempDir(), 'w.db');
    const first = await runCli(['migrate', '--db', db, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    assert.equal(report.store, 'sqlite');
    assert.ok(report.applied.length >= 2);
    const again = JSON.parse((await runCli(['migrate', '--db', db, '--json'])).stdout);
    assert.deepEqual(again.applied, []);
    assert.equal(again.current, report.current);
  });

  it('picks PostgreSQL from WARDEN_DB, and submit records a queued run with its agent file', async () => {
    const env = { WARDEN_DB: urlWithSchema(schema) };
    const migrated = await runCli(['migrate', '--json'], env);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.equal(JSON.parse(migrated.stdout).store, 'postgres');
    const submitted = await runCli(['submit', AGENT, '--input', 'go', '--json'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { runId, status } = JSON.parse(submitted.stdout);
    assert.equal(status, 'queued');
    const shown = await runCli(['runs', 'show', runId, '--json'], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /"queued"/);
  });

  it('`run --enqueue` records the run without executing it', async () => {
    const db = join(tempDir(), 'w.db');
    const out = await runCli(['run', AGENT, '--input', 'go', '--db', db, '--enqueue']);
    assert.equal(out.code, 0, out.stderr);
    const store = createSqliteStore({ path: db });
    const run = await store.getRun(out.stdout.trim());
    const events = await store.loadEvents(out.stdout.trim());
    await store.close();
    assert.equal(run?.status, 'queued');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type === 'run.submitted' && events[0]?.data.agentFile, AGENT);
  });

  it('reports an unreachable PostgreSQL as STORE_UNAVAILABLE with exit code 1, not a stack trace', async () => {
    const out = await runCli(['migrate', '--db', 'postgres://nobody:pw@127.0.0.1:1/none']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^warden: STORE_UNAVAILABLE: /);
    assert.doesNotMatch(out.stderr, /\n\s+at /);
  });
});
