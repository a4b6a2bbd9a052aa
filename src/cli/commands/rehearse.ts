import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { defineAgent, type Agent, type PolicyConfig } from '../../agent/agent.ts';
import { compareRehearsals, compareText } from '../../rehearse/compare.ts';
import { compareHtml } from '../../rehearse/report-html.ts';
import { learnBehaviour } from '../../rehearse/learn.ts';
import { loadLearnedModel, saveLearnedModel, type LearnedModel } from '../../rehearse/learned-model.ts';
import { DEFAULT_REVIEWERS, parseDecisionTime, parseHours, parseSpan } from '../../rehearse/reviewers.ts';
import { loadLearnSource } from '../learn-source.ts';
import { WardenError } from '../../core/errors.ts';
import { resolveFaultProfile } from '../../rehearse/fault-profile.ts';
import { progressReporter } from '../../rehearse/progress.ts';
import { DEFAULT_CONCURRENCY, DEFAULT_GRACE_MS, DEFAULT_REQUESTS, rehearse } from '../../rehearse/rehearsal.ts';
import { buildReport } from '../../rehearse/report.ts';
import { reportHtml } from '../../rehearse/report-html.ts';
import { reportText } from '../../rehearse/report-text.ts';
import { RUN_EXIT_CODES } from '../exit-codes.ts';
import { loadCommandAgent } from '../load-agent.ts';
import { printJson } from '../output.ts';
import type { FleetBudget, ResolvedFleetBudget } from '../../guard/fleet-budgets.ts';
import { parseBudgetFlag, resolveFleetBudgetsAs } from '../../rehearse/budget-forecast.ts';

interface RehearseOptions {
  requests: string;
  concurrency: string;
  seed: string;
  faults?: string;
  learnFrom?: string;
  since?: string;
  until?: string;
  of?: string;
  limit: string;
  saveModel?: string;
  model?: string;
  reviewers: string;
  decisionTime: string;
  hours: string;
  approvalTimeout: string;
  decisionTarget: string;
  compare?: string;
  comparePolicy?: string;
  volume?: string;
  report?: string;
  json?: boolean;
  db?: string;
  budget: string[];
  tenant: string;
  followUps?: string;
  turns: string;
}

/**
 * The budgets a rehearsal forecasts: the agent module's `budgets` export (the same
 * `{ scope, window, maxUsd, alertAt? }` as createWarden's), then each `--budget` flag.
 */
async function rehearsalBudgets(file: string, flags: readonly string[]): Promise<ResolvedFleetBudget[]> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { budgets?: unknown };
  if (mod.budgets !== undefined && !Array.isArray(mod.budgets))
    throw new WardenError('INVALID_BUDGET', `${file} exports budgets, but not as an array of { scope, window, maxUsd, alertAt? }`);
  return resolveFleetBudgetsAs([...((mod.budgets as FleetBudget[] | undefined) ?? []), ...flags.map(parseBudgetFlag)]);
}

/** The learned model `--model` or `--learn-from` names (fitted, and saved with `--save-model`), or none. */
async function learnedModelFor(opts: RehearseOptions, agent: Agent): Promise<LearnedModel | undefined> {
  if (opts.model && opts.learnFrom) throw new WardenError('INVALID_ARGUMENT', 'Pass --model or --learn-from, not both');
  if (opts.model) return loadLearnedModel(opts.model);
  if (!opts.learnFrom) {
    if (opts.saveModel) throw new WardenError('INVALID_ARGUMENT', '--save-model needs --learn-from');
    return undefined;
  }
  const { logs, description } = await loadLearnSource({
    from: opts.learnFrom,
    agent: opts.of ?? agent.name,
    limit: integer('--limit', opts.limit, 1),
    ...(opts.since ? { since: opts.since } : {}),
    ...(opts.until ? { until: opts.until } : {}),
  });
  const model = learnBehaviour(logs, { agent, description });
  if (opts.saveModel) {
    const target = resolve(opts.saveModel);
    mkdirSync(dirname(target), { recursive: true });
    saveLearnedModel(target, model);
    process.stderr.write(`Learned model (${model.source.runs} runs) written to ${target}\n`);
  }
  return model;
}

/** The agent under the policy a module default-exports (`--compare-policy`). */
async function withPolicy(agent: Agent, file: string): Promise<Agent> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
  const policy = mod.default;
  if (typeof policy !== 'object' || policy === null) {
    throw new WardenError('INVALID_CONFIG', `${file} must default-export a policy: { onDeny?, rules: [...] }`);
  }
  return defineAgent({
    name: agent.name,
    instructions: agent.instructions,
    ...(agent.description ? { description: agent.description } : {}),
    // The primary and its fallbacks, each at the price it was defined with.
    model: agent.models.map((m, i) => (i === 0 ? m.model : { model: m.model, pricing: m.price.pricing })),
    tools: [...agent.tools],
    limits: { ...agent.limits },
    policy: policy as PolicyConfig,
    loopDetection: { ...agent.loopDetection },
    backoff: { ...agent.backoff },
    ...(agent.pricing ? { pricing: agent.pricing } : {}),
    ...(agent.plan ? { plan: { ...agent.plan } } : {}),
    ...(agent.escalation ? { escalation: { ...agent.escalation } } : {}),
  });
}

function rate(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new WardenError('INVALID_ARGUMENT', `${flag} must be a number from 0 to 1, got ${JSON.stringify(text)}`);
  }
  return value;
}

function integer(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new WardenError('INVALID_ARGUMENT', `${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function registerRehearseCommand(program: Command): void {
  program
    .command('rehearse')
    .description('Run the agent at production volume on a seeded behaviour model with injected faults, and report what production will bring')
    .argument('<agent-file>', 'module whose default export is defineAgent(…)')
    .option('--requests <n>', 'requests to run', String(DEFAULT_REQUESTS))
    .option('--concurrency <c>', 'runs in flight at once', String(DEFAULT_CONCURRENCY))
    .option('--seed <s>', 'seed: the same seed gives the same report (timings aside)', '1')
    .option(
      '--faults <profile|file>',
      'fault profile: none, calm, realistic, storm, outage (the primary model down for 30% of the requests), or a JSON file (default realistic; none on a learned model)',
    )
    .option('--learn-from <runs>', "learn the agent's behaviour from its recorded runs: a store (SQLite file or postgres:// URL) or `warden runs export` files")
    .option('--since <window>', 'with --learn-from: runs created in this window, e.g. 7d')
    .option('--until <window>', 'with --learn-from: runs created at least this long ago, e.g. 1d')
    .option('--of <agent-name>', "with --learn-from: the agent name to learn from (default the agent's own)")
    .option('--limit <n>', 'with --learn-from a store: at most this many runs, newest first', '5000')
    .option('--save-model <file.json>', 'write the learned model to this file (versioned JSON)')
    .option('--model <file.json>', 'rehearse on a learned model saved with --save-model')
    .option('--reviewers <n>', 'people deciding approvals and escalations', String(DEFAULT_REVIEWERS.reviewers))
    .option('--decision-time <dist>', 'time a person takes per decision: exp:MEAN, lognormal:MEDIAN,SIGMA or fixed:TIME', DEFAULT_REVIEWERS.decisionTime)
    .option('--hours <from-to>', "the reviewers' working hours of the day", DEFAULT_REVIEWERS.hours)
    .option(
      '--approval-timeout <time>',
      'how long an approval waits before it times out when the agent sets no deadline (approval.timeoutMs or policy.approvalTimeoutMs win)',
      DEFAULT_REVIEWERS.approvalTimeout,
    )
    .option('--decision-target <time>', 'p99 time to decision to size the team for', DEFAULT_REVIEWERS.decisionTarget)
    .option('--compare <after-file>', 'also rehearse this agent on the same seed and model, and print the difference')
    .option('--compare-policy <file>', "compare with the agent under this module's default-exported policy")
    .option('--follow-ups <rate>', 'rehearse conversations: the chance (0 to 1) that a completed turn gets a follow-up message')
    .option('--turns <n>', 'with --follow-ups: turns per conversation at most, the first included', '3')
    .option('--volume <per-day>', 'requests per day for the cost projection (default: --requests)')
    .option(
      '--budget <scope:window:usd>',
      "a fleet budget to forecast, e.g. tenant:acme:day:50 or all:6h:5 (repeatable; added to the agent module's `budgets` export)",
      (value: string, all: string[]) => [...all, value],
      [] as string[],
    )
    .option('--tenant <name>', 'the tenant the rehearsed traffic counts for, to decide which tenant: budgets cover it', 'default')
    .option('--report <file.html>', 'also write a self-contained HTML report with charts')
    .option('--json', 'print the report as JSON')
    .option('--db <path>', 'keep the runs in this SQLite file (default: a temporary one, deleted afterwards)')
    .action(async (file: string, opts: RehearseOptions) => {
      const requests = integer('--requests', opts.requests, 1);
      const concurrency = integer('--concurrency', opts.concurrency, 1);
      const seed = integer('--seed', opts.seed, 0);
      const volume = opts.volume === undefined ? requests : integer('--volume', opts.volume, 1);
      const conversations =
        opts.followUps === undefined ? undefined : { followUpRate: rate('--follow-ups', opts.followUps), maxTurns: integer('--turns', opts.turns, 2) };
      const { agent, path } = await loadCommandAgent(file);
      const budgets = { list: await rehearsalBudgets(file, opts.budget), tenant: opts.tenant };
      const learned = await learnedModelFor(opts, agent);
      const profile = resolveFaultProfile(opts.faults ?? (learned ? 'none' : 'realistic'));
      const people = {
        reviewers: integer('--reviewers', opts.reviewers, 1),
        decisionTime: parseDecisionTime(opts.decisionTime),
        hours: parseHours(opts.hours),
        approvalTimeoutMs: parseSpan(opts.approvalTimeout, '--approval-timeout'),
        targetMs: parseSpan(opts.decisionTarget, '--decision-target'),
      };
      const after = opts.compare ? (await loadCommandAgent(opts.compare)).agent : opts.comparePolicy ? await withPolicy(agent, opts.comparePolicy) : null;
      if (after && opts.db) throw new WardenError('INVALID_ARGUMENT', '--compare runs two rehearsals, each on a temporary store: leave out --db');
      const progress = progressReporter(process.stderr);
      // First Ctrl-C (or SIGTERM): start no request, let those in flight finish for a short grace.
      // Second: cut them now. Either way the report of what finished is printed and a temporary store removed.
      const interruption = new AbortController();
      const cutNow = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (interruption.signal.aborted) {
          progress.note(`warden rehearse: ${signal} again: cutting the requests in flight now`);
          cutNow.abort(signal);
          return;
        }
        progress.note(`warden rehearse: ${signal}: no new requests; those in flight get ${DEFAULT_GRACE_MS / 1000} s to finish (Ctrl-C again cuts them now)`);
        interruption.abort(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      // What both sides of a --compare share.
      const shared = { requests, concurrency, seed, profile, ...(learned ? { learned } : {}), ...(conversations ? { conversations } : {}) };
      let outcome: Awaited<ReturnType<typeof rehearse>>;
      try {
        outcome = await rehearse({
          agent,
          agentFile: path,
          ...shared,
          db: opts.db,
          onProgress: progress.update,
          signal: interruption.signal,
          cutSignal: cutNow.signal,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      progress.finish();
      if (after) {
        const second = await rehearse({ agent: after, ...shared, onProgress: progress.update });
        progress.finish();
        const comparison = compareRehearsals(outcome, second, volume);
        const beforeReport = buildReport(outcome, volume, people, budgets);
        const afterReport = buildReport(second, volume, people, budgets);
        const labels = [file, opts.compare ?? `policy ${opts.comparePolicy}`] as const;
        if (opts.report) {
          const target = resolve(opts.report);
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, compareHtml(comparison, beforeReport, afterReport, labels[0], labels[1]));
          process.stderr.write(`HTML report written to ${target}\n`);
        }
        if (opts.json) printJson({ comparison, before: beforeReport, after: afterReport });
        else process.stdout.write(compareText(comparison, labels[0], labels[1]));
        if ([beforeReport, afterReport].some((r) => Object.values(r.checks).some((good) => !good))) process.exitCode = 1;
        return;
      }
      const report = buildReport(outcome, volume, people, budgets);
      if (opts.report) {
        const target = resolve(opts.report);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, reportHtml(report));
        process.stderr.write(`HTML report written to ${target}\n`);
      }
      if (opts.json) printJson(report);
      else process.stdout.write(reportText(report));
      // A broken invariant (a breach, an unapproved delete, a gap in the trace, a run with no end)
      // fails the command, even on a partial rehearsal; otherwise an interrupted one exits as cancelled.
      if (Object.values(report.checks).some((good) => !good)) process.exitCode = 1;
      else if (report.interrupted) process.exitCode = RUN_EXIT_CODES.cancelled;
    });
}
