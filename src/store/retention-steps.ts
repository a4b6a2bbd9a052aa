import { WardenError } from '../core/errors.ts';
import {
  DEFAULT_EXPIRY_BATCH,
  type DeleteExpiredOptions,
  type ExpiredTree,
  type ExpiryCutoffs,
  type ExpiryReport,
  type ExpirySummary,
  type ListExpiredOptions,
} from '../core/ports/retention.ts';
import type { Dialect } from './dialect.ts';
import { keepsAll } from './expiry-sql.ts';
import { requireInteger } from './input-checks.ts';

/**
 * The `Retention` part of the port over any dialect: checks, paging and batching. Each batch is its
 * own transaction, and the event loop turns between batches, so other writes (on SQLite, the
 * grouped commits) go in between instead of waiting for the whole deletion.
 */

export async function summarizeExpired(dialect: Dialect, cutoffs: ExpiryCutoffs): Promise<ExpirySummary[]> {
  checkCutoffs(cutoffs);
  if (keepsAll(cutoffs)) return [];
  return (await dialect.expirySummary(cutoffs)).map((r) => ({
    tenant: r.tenant,
    trees: Number(r.trees),
    runs: Number(r.runs),
    events: Number(r.events ?? 0),
    bytes: Number(r.bytes ?? 0),
    oldestAt: Number(r.oldest_at),
    newestAt: Number(r.newest_at),
  }));
}

export async function listExpiredRuns(dialect: Dialect, cutoffs: ExpiryCutoffs, options: ListExpiredOptions = {}): Promise<ExpiredTree[]> {
  checkCutoffs(cutoffs);
  const limit = requireInteger(options.limit ?? DEFAULT_EXPIRY_BATCH, 'limit', 1);
  if (keepsAll(cutoffs)) return [];
  const roots = await dialect.expiredRoots(cutoffs, options.afterRootRunId ?? '', limit);
  if (roots.length === 0) return [];
  const trees = new Map<string, ExpiredTree>(roots.map((r) => [r.run_id, { rootRunId: r.run_id, tenant: r.tenant, runIds: [] }]));
  for (const run of await dialect.treeRuns(roots.map((r) => r.run_id))) trees.get(run.root_run_id)?.runIds.push(run.run_id);
  return [...trees.values()];
}

export async function deleteExpiredRuns(dialect: Dialect, cutoffs: ExpiryCutoffs, options: DeleteExpiredOptions = {}): Promise<ExpiryReport> {
  checkCutoffs(cutoffs);
  const batchSize = requireInteger(options.batchSize ?? DEFAULT_EXPIRY_BATCH, 'batchSize', 1);
  const report: ExpiryReport = { trees: 0, runs: 0, events: 0, batches: 0, partitionsDropped: [] };
  if (keepsAll(cutoffs)) return report;
  const add = (d: { trees: number; runs: number; events: number }) => {
    report.trees += d.trees;
    report.runs += d.runs;
    report.events += d.events;
  };
  if (options.rootRunIds !== undefined) {
    const ids = [...new Set(options.rootRunIds)];
    for (let i = 0; i < ids.length; i += batchSize) {
      if (i > 0) await nextTurn();
      add(await dialect.deleteTrees(cutoffs, ids.slice(i, i + batchSize)));
      report.batches++;
    }
    return report;
  }
  if (dialect.dropExpiredPartitions) {
    const dropped = await dialect.dropExpiredPartitions(cutoffs);
    add(dropped);
    report.partitionsDropped.push(...dropped.partitionsDropped);
  }
  // A tree listed but no longer expired when its batch runs is passed over: the cursor moves on.
  let after = '';
  for (;;) {
    const roots = await dialect.expiredRoots(cutoffs, after, batchSize);
    const last = roots.at(-1);
    if (!last) break;
    add(
      await dialect.deleteTrees(
        cutoffs,
        roots.map((r) => r.run_id),
      ),
    );
    report.batches++;
    after = last.run_id;
    if (roots.length < batchSize) break;
    await nextTurn();
  }
  return report;
}

/** Lets the event loop run other work (writes waiting for the database) before the next batch. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function checkCutoffs(cutoffs: ExpiryCutoffs): void {
  const ok = (c: unknown) => c === null || (typeof c === 'number' && Number.isSafeInteger(c) && c >= 0);
  if (!cutoffs || typeof cutoffs !== 'object' || !ok(cutoffs.default))
    throw new WardenError('INVALID_ARGUMENT', `Expiry cutoffs need default: ms since the epoch or null, got ${JSON.stringify(cutoffs)}`);
  for (const [tenant, c] of Object.entries(cutoffs.tenants ?? {})) {
    if (!ok(c)) throw new WardenError('INVALID_ARGUMENT', `The expiry cutoff of tenant ${tenant} must be ms since the epoch or null, got ${JSON.stringify(c)}`);
  }
}
