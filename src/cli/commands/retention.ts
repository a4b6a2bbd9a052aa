import type { Command } from 'commander';
import { WardenError } from '../../core/errors.ts';
import { resolveRetention, type ResolvedRetention, type RetentionPolicy, type RetentionRule } from '../../core/retention.ts';
import { applyRetention, previewRetention } from '../../observe/retention/index.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson } from '../output.ts';

const SUMMARY = 'Preview, then apply, the retention policy: which finished runs are old enough to delete (or archive), per tenant';

interface RetentionFlags {
  db?: string;
  keepDays?: string;
  tenant: string[];
  belowFloor?: boolean;
  apply?: boolean;
  archive?: string;
  batch?: string;
  json?: boolean;
}

export function registerRetentionCommand(program: Command): void {
  program
    .command('retention')
    .description(SUMMARY)
    .option('--db <path|url>', STORE_HELP)
    .option('--keep-days <days|forever>', 'how long finished runs are kept after their last write (default forever)')
    .option('--tenant <name=days|forever>', "a tenant's own rule, over --keep-days (repeatable)", collect, [])
    .option('--below-floor', 'accept a rule shorter than six months (183 days)')
    .option('--apply', 'delete what the preview lists (without it, nothing is changed)')
    .option('--archive <dir>', 'write each expired run to <dir>/warden-archive-<time>.jsonl (one `runs export` document a line) before deleting it')
    .option('--batch <n>', 'run trees per delete transaction', '100')
    .option('--json')
    .action(async (opts: RetentionFlags) => {
      const policy = resolveRetention(policyOf(opts));
      const batchSize = Number(opts.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1)
        throw new WardenError('INVALID_ARGUMENT', `--batch must be a whole number of 1 or more, got ${opts.batch}`);
      const store = await openStore(opts.db);
      try {
        const now = Date.now();
        if (!opts.apply) {
          const preview = await previewRetention(store, policy, now);
          if (opts.json) return printJson({ applied: false, rules: rulesOf(policy), ...preview });
          const lines = [...describePolicy(policy, now), ''];
          if (preview.tenants.length === 0) lines.push('Nothing is old enough to go.');
          else lines.push(...table(preview.tenants, preview.total));
          if (preview.webhookMessages > 0) lines.push(`and ${preview.webhookMessages} settled webhook message(s) (delivered or given up) old enough to go`);
          lines.push('', `Preview only: nothing was changed. Add --apply to ${policy.mode === 'archive' ? 'archive and then delete' : 'delete'} these runs.`);
          process.stdout.write(`${lines.join('\n')}\n`);
          return;
        }
        const outcome = await applyRetention(store, policy, { now, batchSize });
        if (opts.json) return printJson({ applied: true, rules: rulesOf(policy), ...outcome });
        const lines = describePolicy(policy, now);
        lines.push(
          `Deleted ${outcome.runs} run(s) in ${outcome.trees} tree(s), ${outcome.events} event(s), in ${outcome.batches} batch(es)${
            outcome.partitionsDropped.length ? ` and ${outcome.partitionsDropped.length} dropped partition(s): ${outcome.partitionsDropped.join(', ')}` : ''
          }.`,
        );
        if (outcome.webhookMessages > 0) lines.push(`Deleted ${outcome.webhookMessages} settled webhook message(s).`);
        if (outcome.archive) lines.push(`Archived ${outcome.archivedRuns} run(s) to ${outcome.archive}.`);
        if (store.kind === 'sqlite' && outcome.runs > 0)
          lines.push('The SQLite file keeps the freed pages for reuse; `VACUUM` gives them back to the disk (docs/store.md, "Retention").');
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The policy the flags describe. */
function policyOf(opts: RetentionFlags): RetentionPolicy {
  const tenants: Record<string, RetentionRule> = {};
  for (const spec of opts.tenant) {
    const at = spec.lastIndexOf('=');
    if (at <= 0) throw new WardenError('INVALID_ARGUMENT', `--tenant takes name=days or name=forever, got ${JSON.stringify(spec)}`);
    tenants[spec.slice(0, at)] = ruleOf(spec.slice(at + 1), `--tenant ${spec}`);
  }
  return {
    ...(opts.keepDays !== undefined ? { default: ruleOf(opts.keepDays, '--keep-days') } : {}),
    tenants,
    ...(opts.archive !== undefined ? { mode: 'archive' as const, archiveDir: opts.archive } : {}),
    ...(opts.belowFloor ? { allowBelowFloor: true } : {}),
  };
}

function ruleOf(text: string, flag: string): RetentionRule {
  if (text === 'forever') return { keep: 'forever' };
  const days = Number(text);
  if (text.trim() === '' || !Number.isFinite(days))
    throw new WardenError('INVALID_ARGUMENT', `${flag}: expected a number of days or "forever", got ${JSON.stringify(text)}`);
  return { keepDays: days };
}

/** The rules in days, for --json. */
function rulesOf(policy: ResolvedRetention): { default: number | 'forever'; tenants: Record<string, number | 'forever'>; mode: string } {
  const days = (ms: number | null) => (ms === null ? ('forever' as const) : ms / 86_400_000);
  return {
    default: days(policy.defaultKeepMs),
    tenants: Object.fromEntries(Object.entries(policy.tenants).map(([t, ms]) => [t, days(ms)])),
    mode: policy.mode,
  };
}

function describePolicy(policy: ResolvedRetention, now: number): string[] {
  const rule = (ms: number | null) => (ms === null ? 'kept for ever' : `kept ${ms / 86_400_000} days (finished before ${new Date(now - ms).toISOString()} go)`);
  return [`default  ${rule(policy.defaultKeepMs)}`, ...Object.entries(policy.tenants).map(([t, ms]) => `${t}  ${rule(ms)}`)];
}

function table(
  rows: { tenant: string; trees: number; runs: number; events: number; bytes: number }[],
  total: { trees: number; runs: number; events: number; bytes: number },
): string[] {
  const width = Math.max(6, ...rows.map((r) => r.tenant.length));
  const line = (name: string, r: typeof total) =>
    `${name.padEnd(width)}  ${String(r.trees).padStart(7)}  ${String(r.runs).padStart(7)}  ${String(r.events).padStart(9)}  ${formatBytes(r.bytes).padStart(9)}`;
  return [
    `${'tenant'.padEnd(width)}  ${'trees'.padStart(7)}  ${'runs'.padStart(7)}  ${'events'.padStart(9)}  ${'~bytes'.padStart(9)}`,
    ...rows.map((r) => line(r.tenant, r)),
    line('total', total),
  ];
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
