import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.ts';
import { appliedMigrations, MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/core/ports/store.ts';
import { describeStoreConformance } from './conformance.ts';
import { createRun, limitHit } from './conformance/fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'warden-store-'));
let files = 0;
const pathOf = new WeakMap<Store, string>();
after(() => rmSync(root, { recursive: true, force: true }));

function freshFile(): string {
  return join(root, `store-${++files}.db`);
}

function openFile(path: string): Store {
  const store = createSqliteStore({ path });
  pathOf.set(store, path);
  return store;
}

describeStoreConformance('sqlite :memory:', async () => createSqliteStore({ path: ':memory:' }));

describeStoreConformance('sqlite file', async () => openFile(freshFile()), {
  reopen: async (store) => openFile(pathOf.get(store)!),
});

/** Opens the raw database next to the store, to look at (or damage) what the store wrote. */
function raw(path: string): DatabaseSync {
  return new DatabaseSync(path);
}

describe('SQLite store specifics', () => {
  it('creates the parent directories of its file', async () => {
    const path = join(root, 'nested', 'deeper', 'warden.db');
    const store = createSqliteStore({ path });
    await createRun(store);
    await store.close();
    assert.ok(existsSync(path));
  });

  it('opens the file in WAL mode with foreign keys enforced', async () => {
    const path = freshFile();
    const store = createSqliteStore({ path });
    await store.close();
    const db = raw(path);
    try {
      assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
      assert.equal(db.prepare('PRAGMA foreign_key_list(events)').all()[0]?.table, 'runs');
    } finally {
      db.close();
    }
  });

  it('records each migration once, by id and name, and applies none on reopen', async () => {
    const path = freshFile();
    await createSqliteStore({ path }).close();
    await createSqliteStore({ path }).close();
    const db = raw(path);
    try {
      const applied = appliedMigrations(db);
      assert.deepEqual(
        applied.map((m) => [m.id, m.name]),
        MIGRATIONS.map((m) => [m.id, m.name]),
      );
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer Warden with STORE_UNAVAILABLE', async () => {
    const path = freshFile();
    await createSqliteStore({ path }).close();
    const db = raw(path);
    db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(MIGRATIONS.length + 1, 'from-the-future', Date.now());
    db.close();
    assert.throws(
      () => createSqliteStore({ path }),
      (e) => isWardenError(e, 'STORE_UNAVAILABLE') && /newer than this Warden/.test(e.message),
    );
  });

  it('refuses a file that is not a database with STORE_CORRUPT', () => {
    const path = freshFile();
    writeFileSync(path, 'this is not a database, just some text '.repeat(200));
    assert.throws(
      () => createSqliteStore({ path }),
      (e) => isWardenError(e, 'STORE_CORRUPT'),
    );
  });

  it('reports an event payload that no longer parses as STORE_CORRUPT', async () => {
    const path = freshFile();
    const store = createSqliteStore({ path });
    try {
      const run = await createRun(store);
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()] });
      const db = raw(path);
      db.prepare('UPDATE events SET data = ? WHERE run_id = ? AND seq = 2').run('{"limit": "max_st', run.runId);
      db.close();
      await assert.rejects(store.loadEvents(run.runId), (e) => isWardenError(e, 'STORE_CORRUPT') && /Event 2 of run/.test(e.message));
    } finally {
      await store.close();
    }
  });

  it('wraps an unexpected SQLite failure as STORE_UNAVAILABLE with the cause', async () => {
    const path = freshFile();
    const store = createSqliteStore({ path, busyTimeoutMs: 50 });
    const blocker = raw(path);
    try {
      const run = await createRun(store);
      // Another process holds the write lock for longer than the store will wait.
      blocker.exec('BEGIN IMMEDIATE');
      await assert.rejects(
        store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()] }),
        (e) => isWardenError(e, 'STORE_UNAVAILABLE') && (e as Error).cause !== undefined && /locked|busy/i.test((e as Error).message),
      );
      blocker.exec('ROLLBACK');
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()] });
      assert.equal((await store.getRun(run.runId))?.lastSeq, 2);
    } finally {
      blocker.close();
      await store.close();
    }
  });

  it('lists runs through the indexes, not by scanning the table', async () => {
    const path = freshFile();
    await createSqliteStore({ path }).close();
    const db = raw(path);
    try {
      const plan = (sql: string) =>
        db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .all('x', 1)
          .map((r) => String(r.detail))
          .join('; ');
      assert.match(plan('SELECT * FROM runs WHERE agent = ? ORDER BY created_at DESC, rowid DESC LIMIT ?'), /USING INDEX runs_by_agent/);
      assert.match(plan('SELECT * FROM runs WHERE tenant = ? ORDER BY created_at DESC, rowid DESC LIMIT ?'), /USING INDEX runs_by_tenant/);
      assert.match(plan('SELECT * FROM interventions WHERE status = ? ORDER BY requested_at, rowid LIMIT ?'), /USING INDEX interventions_by_status/);
      assert.doesNotMatch(plan('SELECT * FROM runs WHERE agent = ? ORDER BY created_at DESC, rowid DESC LIMIT ?'), /TEMP B-TREE/);
    } finally {
      db.close();
    }
  });
  it('writes only the run columns that changed: status (in two indexes) only when it moves', async () => {
    const path = freshFile();
    const store = createSqliteStore({ path });
    const db = raw(path);
    try {
      // An `UPDATE OF status` trigger fires only when a statement sets status, whatever the value.
      db.exec(`CREATE TABLE status_writes (run_id TEXT, status TEXT);
        CREATE TRIGGER count_status AFTER UPDATE OF status ON runs BEGIN INSERT INTO status_writes VALUES (new.run_id, new.status); END;`);
      const run = await createRun(store);
      const writes = () =>
        db
          .prepare('SELECT status FROM status_writes WHERE run_id = ?')
          .all(run.runId)
          .map((r) => r.status);
      await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()], run: { status: 'running', steps: 1 } });
      await store.commit({ runId: run.runId, expectedSeq: 2, events: [limitHit()], run: { status: 'running', steps: 2, stopReason: null } });
      await store.commit({ runId: run.runId, expectedSeq: 3, events: [limitHit()], run: { status: 'completed', steps: 2, output: 'done' } });
      assert.deepEqual(writes(), ['running', 'completed']);
      const row = await store.getRun(run.runId);
      assert.deepEqual([row?.status, row?.steps, row?.output, row?.lastSeq], ['completed', 2, 'done', 4]);
    } finally {
      db.close();
      await store.close();
    }
  });
  it('checkpoints the WAL off the writing connection, keeps it bounded, and close() stops the thread', () => {
    const path = freshFile();
    const out = spawnSync(process.execPath, ['--conditions=warden-source', 'test/fixtures/wal-writer.ts', path, 'process'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(out.status, 0, `the writer exits by itself once the store is closed: ${out.stderr}`);
    const result = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}');
    // 1,600 commits of ~2 KB events (~20 MB of WAL frames without checkpoints) against a 64 KiB
    // threshold: the thread checkpoints, and the writer itself only past 1 MiB (a disk too slow for the thread).
    // The writer looks every 16 commits, and its checkpoint is refused while the thread's is under
    // way, so on a loaded machine the WAL passes 1 MiB by some commits (2.2 MiB seen in CI-like
    // load); 4 MiB still tells bounded from the ~20 MB an unchecked WAL reaches.
    assert.ok(result.maxWalBytes < 4 * 1024 * 1024, `the WAL stayed bounded: ${result.maxWalBytes} bytes`);
    assert.equal(result.checkpointed, result.log, 'and every frame was copied back by the end');
  });

  it("opens with synchronous=FULL for durability 'power' and NORMAL for 'process', and refuses anything else", async () => {
    const seen: string[] = [];
    const exec = DatabaseSync.prototype.exec;
    DatabaseSync.prototype.exec = function (this: DatabaseSync, sql: string) {
      if (/synchronous|wal_autocheckpoint/i.test(sql)) seen.push(sql);
      return exec.call(this, sql);
    };
    try {
      await createSqliteStore({ path: freshFile(), durability: 'power' }).close();
      await createSqliteStore({ path: freshFile() }).close();
    } finally {
      DatabaseSync.prototype.exec = exec;
    }
    // The writer never checkpoints in a commit: the background thread does (see wal-checkpointer.ts).
    assert.deepEqual(seen, ['PRAGMA synchronous = FULL', 'PRAGMA wal_autocheckpoint = 0', 'PRAGMA synchronous = NORMAL', 'PRAGMA wal_autocheckpoint = 0']);
    assert.throws(
      () => createSqliteStore({ path: freshFile(), durability: 'disk' as 'power' }),
      (e) => isWardenError(e, 'INVALID_ARGUMENT') && /process" or "power/.test(e.message),
    );
  });
  it('writes two commits asked for in one turn in one transaction, and a refused second leaves the first written', async () => {
    const path = freshFile();
    const store = createSqliteStore({ path });
    try {
      const run = await createRun(store, { ceilingNano: 100 });
      // A tool's outcome, then the next model call's reservation, asked for back to back.
      const outcome = store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit('outcome')] });
      const reservation = store.commit({
        runId: run.runId,
        expectedSeq: 2,
        events: [limitHit('reservation')],
        budget: [{ kind: 'reserve', rootRunId: run.runId, amountNano: 1_000 }],
      });
      await outcome;
      await assert.rejects(reservation, (e) => isWardenError(e, 'BUDGET_EXCEEDED'));
      assert.deepEqual(
        (await store.loadEvents(run.runId)).map((e) => e.seq),
        [1, 2],
      );
      assert.equal((await store.getBudget(run.runId))?.reservedNano, 0);
    } finally {
      await store.close();
    }
  });
});
