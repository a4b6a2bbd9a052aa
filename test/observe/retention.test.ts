import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.ts';
import { resolveRetention } from '../../src/core/retention.ts';
import { applyRetention, previewRetention, RETENTION_LOG } from '../../src/observe/retention/index.ts';
import { readRunExport } from '../../src/observe/replay/run-export.ts';
import { createWarden } from '../../src/runtime/warden.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/core/ports/store.ts';
import { createRun, limitHit } from '../store/conformance/fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'warden-retention-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function finished(store: Store, spec: { tenant: string; rootRunId?: string }): Promise<string> {
  const run = await createRun(store, spec);
  await store.commit({ runId: run.runId, expectedSeq: 1, events: [limitHit()], run: { status: 'stopped', stopReason: 'max_steps' } });
  return run.runId;
}

describe('applying a retention policy', () => {
  it('refuses a policy below six months on createWarden, unless told it is meant', () => {
    const store = createSqliteStore({ path: ':memory:' });
    assert.throws(
      () => createWarden({ store, retention: { default: { keepDays: 90 } } }),
      (e) => isWardenError(e, 'INVALID_CONFIG'),
    );
    const warden = createWarden({ store, retention: { default: { keepDays: 90 }, allowBelowFloor: true } });
    assert.equal(warden.retention.defaultKeepMs, 90 * 86_400_000);
    assert.equal(createWarden({ store }).retention.defaultKeepMs, null);
  });

  it('previews what would go per tenant, then archives each run as an export line before deleting it', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const a = await finished(store, { tenant: 'acme' });
    const child = await finished(store, { tenant: 'acme', rootRunId: a });
    const b = await finished(store, { tenant: 'beta' });
    const kept = await finished(store, { tenant: 'gamma' });
    const live = await createRun(store, { tenant: 'acme' });
    const dir = join(root, 'archive');
    const policy = resolveRetention({
      default: { keepDays: 0 },
      tenants: { gamma: { keep: 'forever' } },
      allowBelowFloor: true,
      mode: 'archive',
      archiveDir: dir,
    });
    const now = Date.now() + 1_000;

    const preview = await previewRetention(store, policy, now);
    assert.deepEqual(
      preview.tenants.map((t) => [t.tenant, t.trees, t.runs, t.events]),
      [
        ['acme', 1, 2, 4],
        ['beta', 1, 1, 2],
      ],
    );
    assert.deepEqual([preview.total.trees, preview.total.runs, preview.total.events], [2, 3, 6]);
    assert.ok(await store.getRun(a), 'a preview changes nothing');

    const outcome = await applyRetention(store, policy, { now, batchSize: 1 });
    assert.deepEqual([outcome.trees, outcome.runs, outcome.events, outcome.archivedRuns], [2, 3, 6, 3]);
    assert.equal(outcome.archive, join(dir, readdirSync(dir)[0] ?? ''));
    const lines = readFileSync(outcome.archive ?? '', 'utf8')
      .trimEnd()
      .split('\n');
    const docs = lines.map((l, i) => readRunExport(l, `line ${i + 1}`));
    // Tree by tree in root run id order, each root before its children; every run's whole log.
    const trees = [[a, child], [b]].sort((x, y) => ((x[0] ?? '') < (y[0] ?? '') ? -1 : 1));
    assert.deepEqual(
      docs.map((d) => d.run.runId),
      trees.flat(),
    );
    assert.ok(docs.every((d) => d.events.length === 2));
    assert.equal(docs.find((d) => d.run.runId === child)?.run.parentRunId, a);
    for (const gone of [a, child, b]) assert.equal(await store.getRun(gone), undefined);
    assert.ok(await store.getRun(kept));
    assert.ok(await store.getRun(live.runId));
    // The trail of what went, under which cutoffs, outlives the logs it deleted.
    const [entry] = await store.listRecords(RETENTION_LOG);
    assert.equal(entry?.key, new Date(now).toISOString());
    assert.deepEqual(entry?.value, {
      cutoffs: outcome.cutoffs,
      trees: 2,
      runs: 3,
      events: 6,
      partitionsDropped: [],
      archive: outcome.archive,
      webhookMessages: 0,
    });
    await store.close();
  });

  it('deletes without an archive in delete mode, and does nothing when the policy keeps everything', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const run = await finished(store, { tenant: 'acme' });
    const now = Date.now() + 1_000;
    assert.equal((await applyRetention(store, resolveRetention(undefined), { now })).trees, 0);
    assert.ok(await store.getRun(run));
    assert.deepEqual(await store.listRecords(RETENTION_LOG), [], 'a run that deleted nothing leaves no entry');
    const outcome = await applyRetention(store, resolveRetention({ default: { keepDays: 0 }, allowBelowFloor: true }), { now });
    assert.deepEqual([outcome.trees, outcome.archive], [1, null]);
    assert.equal(await store.getRun(run), undefined);
    await store.close();
  });

  it('deletes settled webhook messages past the longest rule with the runs, keeps those still due, and keeps all under a forever rule', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    await store.addWebhookEndpoint({
      id: 'wh_1',
      url: 'http://127.0.0.1:9/hook',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      events: ['kill_switch.changed'],
      format: 'standard',
      createdAt: Date.now(),
    });
    for (let i = 0; i < 3; i++) await store.enqueueWebhook('kill_switch.changed', `ks${i}`, { n: i });
    const [a, b, due] = (await store.claimWebhookMessages(10, 60_000)).map((m) => m.id) as [string, string, string];
    await store.recordWebhookAttempt(a, { delivered: true, status: 200 });
    await store.recordWebhookAttempt(b, { delivered: false, status: null, error: 'ECONNREFUSED', retryAt: null });
    await store.recordWebhookAttempt(due, { delivered: false, status: 503, error: 'HTTP 503', retryAt: Date.now() + 60_000 });
    const later = Date.now() + 400 * 86_400_000;

    const forever = resolveRetention({ default: { keepDays: 200 }, tenants: { audit: { keep: 'forever' } } });
    assert.equal((await previewRetention(store, forever, later)).webhookMessages, 0, 'a tenant kept for ever keeps the outbox too');
    assert.equal((await applyRetention(store, forever, { now: later })).webhookMessages, 0);

    const longest = resolveRetention({ default: { keepDays: 200 }, tenants: { acme: { keepDays: 500 } } });
    assert.equal((await applyRetention(store, longest, { now: later })).webhookMessages, 0, 'kept while the longest rule (500 days) keeps anything');

    const policy = resolveRetention({ default: { keepDays: 200 }, tenants: { acme: { keepDays: 300 } } });
    assert.equal((await previewRetention(store, policy, later)).webhookMessages, 2);
    const outcome = await applyRetention(store, policy, { now: later, batchSize: 1 });
    assert.equal(outcome.webhookMessages, 2);
    assert.deepEqual(
      (await store.listWebhookMessages({ endpointId: 'wh_1' })).map((m) => m.id),
      [due],
    );
    const log = await store.listRecords(RETENTION_LOG);
    const last = log.at(-1);
    assert.ok(last, 'a trail entry was written');
    assert.equal((last.value as { webhookMessages: number }).webhookMessages, 2);
    await store.close();
  });
});
