import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { formatUsd } from '../../core/money.ts';
import { WardenError } from '../../core/errors.ts';
import type { Store } from '../../core/ports/store.ts';
import { type BudgetStatus, budgetStatusView } from '../../guard/budget-status.ts';
import { type FleetBudget, type ResolvedFleetBudget, resolveFleetBudgets } from '../../guard/fleet-budgets.ts';
import { BudgetBook } from '../../runtime/budget-book.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson } from '../output.ts';

interface SetFlags {
  scope: string;
  window: string;
  maxUsd: string;
  alertAt?: string;
  db?: string;
  json?: boolean;
}

/** The store's budgets, with the config budgets `config` declares (none: this command has no createWarden of its own). */
function book(store: Store, config: readonly ResolvedFleetBudget[] = []): BudgetBook {
  return new BudgetBook(store, config, 0, Date.now);
}

/**
 * The config budgets a module exports as `budgets` (what the application passes to createWarden),
 * so `list --config` can show them with the stored ones. The same export `warden rehearse` reads.
 */
async function configBudgets(file: string | undefined): Promise<ResolvedFleetBudget[]> {
  if (file === undefined) return [];
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { budgets?: unknown };
  if (!Array.isArray(mod.budgets))
    throw new WardenError('INVALID_CONFIG', `${file} must export budgets: an array of { scope, window, maxUsd, alertAt? } as createWarden takes them`);
  return resolveFleetBudgets(mod.budgets as FleetBudget[]);
}

async function withStore<T>(db: string | undefined, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(db);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `0.5,0.8` → [0.5, 0.8]; anything that is not a number is refused here, the range by the budget check. */
function fractions(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((part) => {
    const n = Number(part.trim());
    if (part.trim() === '' || !Number.isFinite(n))
      throw new WardenError('INVALID_BUDGET', `--alert-at must be fractions like 0.5,0.8, got ${JSON.stringify(text)}`);
    return n;
  });
}

function usd(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new WardenError('INVALID_BUDGET', `--max-usd must be a number of USD, got ${JSON.stringify(text)}`);
  return n;
}

const HEADER = ['SCOPE', 'WINDOW', 'SOURCE', 'CURRENT WINDOW (UTC)', 'SPENT', 'MAX', 'USED', 'ALERTS', 'PROJECTED', 'EXHAUSTS'];

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** One row per budget, columns aligned. */
export function budgetTable(statuses: readonly BudgetStatus[]): string {
  const rows = statuses.map((s) => [
    s.scope,
    s.window,
    s.active ? s.source : `${s.source} (overridden)`,
    `${utc(s.windowStart)} → ${utc(s.windowEnd)}`,
    formatUsd(s.spentNano),
    formatUsd(s.limitNano),
    `${(s.fraction * 100).toFixed(1)}%`,
    s.alertAt.length ? s.alertAt.map((t) => (s.alertsCrossed.includes(t) ? `${t}!` : `${t}`)).join(',') : '-',
    `${formatUsd(s.projectedNano)} (${((s.projectedNano / s.limitNano) * 100).toFixed(0)}%)`,
    s.exhaustsAt === null ? '-' : utc(s.exhaustsAt),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [HEADER, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

export function registerBudgetsCommand(program: Command): void {
  const budgets = program
    .command('budgets')
    .description("Budgets over time kept in the store: every process on it (serve, worker, run) holds each run's spend against them");
  budgets
    .command('list')
    .description(
      'Each stored budget (and config budget, with --config): its current window, spend against the maximum, alerts crossed, and the projection to the window end',
    )
    .option('--config <module>', 'also list the config budgets this module exports as `budgets` (what your createWarden declares)')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: { config?: string; db?: string; json?: boolean }) => {
      const config = await configBudgets(opts.config);
      await withStore(opts.db, async (store) => {
        const statuses = await book(store, config).list();
        if (opts.json) printJson(statuses.map(budgetStatusView));
        else
          process.stdout.write(
            statuses.length
              ? `${budgetTable(statuses)}\n(USED is settled spend ÷ max; ALERTS marks a crossed threshold with !; PROJECTED carries the window's average rate so far to its end)\n`
              : 'No stored budgets. Set one with `warden budgets set --scope tenant:NAME --window day --max-usd 50`.\n',
          );
      });
    });
  budgets
    .command('set')
    .description(
      'Store a budget (replacing the stored one of the same scope and window); every process on the store holds it within its budgetRefreshMs (1 s by default)',
    )
    .requiredOption('--scope <scope>', 'all, tenant:NAME or agent:NAME')
    .requiredOption('--window <window>', 'day, month (UTC calendar) or <n>h (fixed windows of n hours)')
    .requiredOption('--max-usd <usd>', 'the most the scope may spend in one window')
    .option('--alert-at <fractions>', 'fractions of the maximum announced by budget.alert, e.g. 0.5,0.8')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: SetFlags) => {
      const alertAt = fractions(opts.alertAt);
      const input = { scope: opts.scope, window: opts.window, maxUsd: usd(opts.maxUsd), ...(alertAt ? { alertAt } : {}) };
      await withStore(opts.db, async (store) => {
        const budget = await book(store).set(input);
        const status = (await book(store).list()).find((s) => s.source === 'stored' && s.scope === budget.scope && s.window === budget.window);
        if (opts.json) printJson(status ? budgetStatusView(status) : budget);
        else
          process.stdout.write(
            `Stored the ${budget.window} budget of ${budget.scope}: ${formatUsd(budget.limitNano)}${alertAt ? `, alerts at ${budget.alertAt.join(', ')}` : ''}\n`,
          );
      });
    });
  budgets
    .command('remove')
    .description('Remove the stored budgets of a scope (of one window with --window); budgets declared on createWarden stay')
    .argument('<scope>', 'all, tenant:NAME or agent:NAME')
    .option('--window <window>', 'only this window: day, month or <n>h')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (scope: string, opts: { window?: string; db?: string; json?: boolean }) => {
      await withStore(opts.db, async (store) => {
        const removed = await book(store).remove(scope, opts.window);
        if (removed === 0)
          throw new WardenError('NOT_FOUND', `No stored ${opts.window ? `${opts.window} ` : ''}budget for ${scope}; \`warden budgets list\` shows them`);
        if (opts.json) printJson({ scope, ...(opts.window ? { window: opts.window } : {}), removed });
        else process.stdout.write(`Removed ${removed} stored budget${removed === 1 ? '' : 's'} of ${scope}\n`);
      });
    });
}
