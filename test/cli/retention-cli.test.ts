import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Store } from '../../src/core/ports/store.ts';
import { readRunExport } from '../../src/observe/replay/run-export.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli, tempDir } from '../helpers.ts';
import { createRun, limitHit } from '../store/conformance/fixtures.ts';
import { dropSchema, PG_URL, uniqueSchema, urlWithSchema } from '../store/pg-schema.ts';

const schema = uniqueSchema('cli_retention');
after(() => dropSchema(schema));

/** Two finished runs of acme, one of beta, one acme run still queued; their ids. */
async function seed(store: Store): Promise<{ done: string[]; beta: string; queued: string }> {
  const done: string[] = [];
  for (const tenant of ['acme', 'acme', 'beta']) {
    const run = await createRun(store, { tenant });
    await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()], run: { status: 'stopped', stopReason: 'max_steps' } });
    done.push(run.runId);
  }
  const queued = await createRun(store, { tenant: 'acme' });
  await store.close();
  return { done: done.slice(0, 2), beta: done[2] ?? '', queued: queued.runId };
}

describe('CLI: warden retention', () => {
  it('previews by default and changes nothing, then deletes with --apply, keeping a tenant with its own rule', async () => {
    const db = join(tempDir(), 'w.db');
    const { done, beta, queued } = await seed(createSqliteStore({ path: db }));
    const flags = ['retention', '--db', db, '--keep-days', '0', '--below-floor', '--tenant', 'beta=forever'];

    const preview = await runCli([...flags, '--json']);
    assert.equal(preview.code, 0, preview.stderr);
    const p = JSON.parse(preview.stdout);
    assert.equal(p.applied, false);
    assert.deepEqual(p.rules, { default: 0, tenants: { beta: 'forever' }, mode: 'delete' });
    assert.deepEqual(
      p.tenants.map((t: { tenant: string; runs: number; events: number }) => [t.tenant, t.runs, t.events]),
      [['acme', 2, 4]],
    );
    assert.ok(p.total.bytes > 0);
    const text = await runCli(flags);
    assert.match(text.stdout, /acme\s+2\s+2\s+4/);
    assert.match(text.stdout, /Preview only: nothing was changed/);

    const applied = await runCli([...flags, '--apply', '--json']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual([JSON.parse(applied.stdout).runs, JSON.parse(applied.stdout).events], [2, 4]);
    const store = createSqliteStore({ path: db });
    for (const id of done) assert.equal(await store.getRun(id), undefined);
    assert.ok(await store.getRun(beta));
    assert.ok(await store.getRun(queued));
    await store.close();
  });

  it('refuses a rule below six months without --below-floor (exit 2), and a malformed rule', async () => {
    const db = join(tempDir(), 'w.db');
    const out = await runCli(['retention', '--db', db, '--keep-days', '30']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^warden: INVALID_CONFIG: .*below the floor of 183/);
    const bad = await runCli(['retention', '--db', db, '--tenant', 'acme']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /INVALID_ARGUMENT: --tenant takes name=days/);
  });

  it('archives every expired run as a `runs export` line before deleting it, on PostgreSQL', async () => {
    const url = urlWithSchema(schema);
    const { done, beta } = await seed(await createPostgresStore({ url: PG_URL, schema }));
    const dir = join(tempDir(), 'archive');
    const out = await runCli(['retention', '--db', url, '--keep-days', '0', '--below-floor', '--archive', dir, '--apply']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /Deleted 3 run\(s\) in 3 tree\(s\), 6 event\(s\)/);
    const [file] = readdirSync(dir);
    const docs = readFileSync(join(dir, file ?? ''), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => readRunExport(l));
    assert.deepEqual(docs.map((d) => d.run.runId).sort(), [...done, beta].sort());
    const store = await createPostgresStore({ url: PG_URL, schema });
    assert.equal(await store.getRun(beta), undefined);
    await store.close();
  });
});
