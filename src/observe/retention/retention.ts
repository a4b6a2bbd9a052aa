import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExpiryCutoffs, ExpiryReport, ExpirySummary, Store } from '../../core/ports/store.ts';
import { DEFAULT_EXPIRY_BATCH } from '../../core/ports/retention.ts';
import { expiryCutoffs, keepsEverything, type ResolvedRetention, webhookCutoff } from '../../core/retention.ts';
import { exportRun } from '../replay/run-export.ts';

/**
 * Applying a retention policy to a store: the preview (what would go, per tenant) and the
 * deletion, with the archive first when the policy asks for one. The store decides what is
 * expired (`Retention` in the store port); this module only pages, archives and adds up.
 */

export interface RetentionPreview {
  /** The cutoffs the policy gives at `now`, ms since the epoch (null: kept for ever). */
  cutoffs: ExpiryCutoffs;
  /** ms since the epoch the cutoffs were taken at. */
  now: number;
  tenants: ExpirySummary[];
  total: { trees: number; runs: number; events: number; bytes: number };
  /** Settled webhook messages (delivered or given up) old enough to go (`webhookCutoff`). */
  webhookMessages: number;
}

export interface RetentionOutcome extends ExpiryReport {
  cutoffs: ExpiryCutoffs;
  now: number;
  /** The JSON Lines file the expired runs were written to first (archive mode), else null. */
  archive: string | null;
  /** Runs written to the archive (a tree written and then found written to again is kept, and stays in the file too). */
  archivedRuns: number;
  /** Settled webhook messages deleted (`webhookCutoff`): the outbox does not grow for ever. */
  webhookMessages: number;
}

export interface ApplyRetentionOptions {
  /** The time the cutoffs are taken at, ms since the epoch; default now. */
  now?: number;
  /** Trees per delete transaction (and per archive write); default 100. */
  batchSize?: number;
}

/**
 * What `policy` would delete now, per tenant, without changing anything.
 *
 * @example
 * const { total } = await previewRetention(store, warden.retention);
 */
export async function previewRetention(store: Store, policy: ResolvedRetention, now = Date.now()): Promise<RetentionPreview> {
  const cutoffs = expiryCutoffs(policy, now);
  const tenants = keepsEverything(policy) ? [] : await store.summarizeExpired(cutoffs);
  const total = { trees: 0, runs: 0, events: 0, bytes: 0 };
  for (const t of tenants) {
    total.trees += t.trees;
    total.runs += t.runs;
    total.events += t.events;
    total.bytes += t.bytes;
  }
  const before = webhookCutoff(cutoffs);
  const webhookMessages = keepsEverything(policy) || before === null ? 0 : await store.settledWebhookMessages(before, { remove: false });
  return { cutoffs, now, tenants, total, webhookMessages };
}

/**
 * Deletes what `policy` expires. In `archive` mode each batch of run trees is first written to
 * `<archiveDir>/warden-archive-<time>.jsonl`, one `warden runs export` document per line (root
 * run first), and synced to disk before the batch is deleted.
 *
 * @example
 * const outcome = await applyRetention(store, resolveRetention({ default: { keepDays: 365 } }));
 */
export async function applyRetention(store: Store, policy: ResolvedRetention, options: ApplyRetentionOptions = {}): Promise<RetentionOutcome> {
  const now = options.now ?? Date.now();
  const cutoffs = expiryCutoffs(policy, now);
  const batchSize = options.batchSize;
  const empty = { cutoffs, now, archive: null, archivedRuns: 0, webhookMessages: 0 };
  if (keepsEverything(policy)) return { ...empty, trees: 0, runs: 0, events: 0, batches: 0, partitionsDropped: [] };
  const outcome =
    policy.mode === 'archive' && policy.archiveDir !== null
      ? await archiveThenDelete(store, cutoffs, policy.archiveDir, now, batchSize)
      : { ...empty, ...(await store.deleteExpiredRuns(cutoffs, { batchSize })) };
  outcome.webhookMessages = await pruneWebhookOutbox(store, webhookCutoff(cutoffs), batchSize ?? DEFAULT_EXPIRY_BATCH);
  if (outcome.runs > 0 || outcome.webhookMessages > 0) await store.putRecord(RETENTION_LOG, new Date(now).toISOString(), logEntry(outcome));
  return outcome;
}

/** Deletes settled webhook messages created before `before`, `batch` to a statement, until none is left. */
async function pruneWebhookOutbox(store: Store, before: number | null, batch: number): Promise<number> {
  if (before === null) return 0;
  let removed = 0;
  for (;;) {
    const n = await store.settledWebhookMessages(before, { remove: true, limit: batch });
    removed += n;
    if (n < batch) return removed;
  }
}

/**
 * Where each retention run that deleted anything is noted (records namespace, keyed by the ISO time
 * of the run): the cutoffs, what went and where it was archived — the trail of what was deleted, and
 * under which rule, that the deleted logs can no longer give.
 */
export const RETENTION_LOG = 'retention.log';

function logEntry(o: RetentionOutcome): Record<string, unknown> {
  return {
    cutoffs: o.cutoffs,
    trees: o.trees,
    runs: o.runs,
    events: o.events,
    partitionsDropped: o.partitionsDropped,
    archive: o.archive,
    webhookMessages: o.webhookMessages,
  };
}

async function archiveThenDelete(
  store: Store,
  cutoffs: ExpiryCutoffs,
  archiveDir: string,
  now: number,
  batchSize: number | undefined,
): Promise<RetentionOutcome> {
  const empty = { cutoffs, now, archive: null, archivedRuns: 0, webhookMessages: 0 };

  await mkdir(archiveDir, { recursive: true });
  const path = join(archiveDir, `warden-archive-${new Date(now).toISOString().replaceAll(':', '-')}.jsonl`);
  const file = await open(path, 'a');
  const outcome: RetentionOutcome = { ...empty, archive: path, trees: 0, runs: 0, events: 0, batches: 0, partitionsDropped: [] };
  try {
    let after = '';
    for (;;) {
      const trees = await store.listExpiredRuns(cutoffs, { afterRootRunId: after, ...(batchSize ? { limit: batchSize } : {}) });
      const last = trees.at(-1);
      if (!last) break;
      const lines: string[] = [];
      for (const tree of trees) for (const runId of tree.runIds) lines.push(JSON.stringify(await exportRun(store, runId, now)));
      await file.write(`${lines.join('\n')}\n`);
      await file.datasync();
      outcome.archivedRuns += lines.length;
      const done = await store.deleteExpiredRuns(cutoffs, { rootRunIds: trees.map((t) => t.rootRunId), ...(batchSize ? { batchSize } : {}) });
      outcome.trees += done.trees;
      outcome.runs += done.runs;
      outcome.events += done.events;
      outcome.batches += done.batches;
      after = last.rootRunId;
    }
  } finally {
    await file.close();
  }
  return outcome;
}
