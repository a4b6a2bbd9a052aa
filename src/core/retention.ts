import { WardenError } from './errors.ts';
import type { ExpiryCutoffs } from './ports/retention.ts';

/**
 * How long finished runs are kept: for `keepDays` days after their last write, or for ever.
 *
 * @example
 * const rule: RetentionRule = { keepDays: 365 };
 */
export type RetentionRule = { keepDays: number } | { keep: 'forever' };

/**
 * A retention policy (`createWarden({ retention })`, `warden retention`): a default rule, rules
 * per tenant that override it, and what happens to what expires. Without one, Warden keeps every
 * run for ever. Only finished runs expire, whole run trees at a time (see `Retention` in the
 * store port); live runs and runs waiting for a person are kept whatever their age.
 *
 * A rule shorter than `RETENTION_FLOOR_DAYS` (six months, the least the EU AI Act asks a deployer
 * of a high-risk system to keep its logs) is refused unless `allowBelowFloor` is true.
 *
 * @example
 * const retention: RetentionPolicy = {
 *   default: { keepDays: 365 },
 *   tenants: { acme: { keepDays: 730 }, audit: { keep: 'forever' } },
 *   mode: 'archive',
 *   archiveDir: '/var/lib/warden/archive',
 * };
 */
export interface RetentionPolicy {
  /** Every tenant without a rule of its own. Default `{ keep: 'forever' }`. */
  default?: RetentionRule;
  /** Rules by tenant name. */
  tenants?: Readonly<Record<string, RetentionRule>>;
  /** `delete` (default): expired runs are deleted; `archive`: written to `archiveDir` as JSON Lines first. */
  mode?: 'delete' | 'archive';
  /** Where `archive` writes its files (created if missing). */
  archiveDir?: string;
  /** Accept rules shorter than `RETENTION_FLOOR_DAYS`. */
  allowBelowFloor?: boolean;
}

/** A checked policy: keep times in ms (null: for ever). */
export interface ResolvedRetention {
  defaultKeepMs: number | null;
  tenants: Readonly<Record<string, number | null>>;
  mode: 'delete' | 'archive';
  archiveDir: string | null;
}

/** The shortest rule accepted without `allowBelowFloor`: six months (183 days). */
export const RETENTION_FLOOR_DAYS = 183;

const DAY_MS = 86_400_000;

/** Keeps everything: what Warden does without a policy. */
export const KEEP_EVERYTHING: ResolvedRetention = Object.freeze({ defaultKeepMs: null, tenants: Object.freeze({}), mode: 'delete', archiveDir: null });

/**
 * Checks a policy and turns its days into ms. Throws `INVALID_CONFIG` naming the rule at fault:
 * a malformed rule, a rule under the floor without `allowBelowFloor`, `archive` without a directory.
 *
 * @example
 * resolveRetention({ default: { keepDays: 365 } }).defaultKeepMs // 31_536_000_000
 */
export function resolveRetention(policy: RetentionPolicy | undefined): ResolvedRetention {
  if (policy === undefined) return KEEP_EVERYTHING;
  if (policy === null || typeof policy !== 'object') throw new WardenError('INVALID_CONFIG', `retention must be an object, got ${JSON.stringify(policy)}`);
  const below = policy.allowBelowFloor === true;
  const tenants: Record<string, number | null> = {};
  if (policy.tenants !== undefined) {
    if (policy.tenants === null || typeof policy.tenants !== 'object' || Array.isArray(policy.tenants))
      throw new WardenError('INVALID_CONFIG', 'retention.tenants must be an object of rules by tenant name');
    for (const [tenant, rule] of Object.entries(policy.tenants)) {
      if (tenant.length === 0) throw new WardenError('INVALID_CONFIG', 'retention.tenants: a tenant name is empty');
      tenants[tenant] = keepMs(rule, `retention.tenants.${tenant}`, below);
    }
  }
  const mode = policy.mode ?? 'delete';
  if (mode !== 'delete' && mode !== 'archive')
    throw new WardenError('INVALID_CONFIG', `retention.mode must be "delete" or "archive", got ${JSON.stringify(mode)}`);
  const archiveDir = policy.archiveDir ?? null;
  if (archiveDir !== null && (typeof archiveDir !== 'string' || archiveDir.length === 0))
    throw new WardenError('INVALID_CONFIG', `retention.archiveDir must be a directory path, got ${JSON.stringify(archiveDir)}`);
  if (mode === 'archive' && archiveDir === null)
    throw new WardenError('INVALID_CONFIG', 'retention.mode "archive" needs retention.archiveDir: where to write the expired runs before deleting them');
  return {
    defaultKeepMs: policy.default === undefined ? null : keepMs(policy.default, 'retention.default', below),
    tenants,
    mode,
    archiveDir,
  };
}

function keepMs(rule: RetentionRule | undefined, where: string, belowFloor: boolean): number | null {
  if (rule && typeof rule === 'object' && 'keep' in rule && rule.keep === 'forever') return null;
  const days = rule && typeof rule === 'object' && 'keepDays' in rule ? rule.keepDays : undefined;
  if (typeof days !== 'number' || !Number.isFinite(days) || days < 0)
    throw new WardenError('INVALID_CONFIG', `${where} must be { keepDays: <days, 0 or more> } or { keep: 'forever' }, got ${JSON.stringify(rule)}`);
  if (days < RETENTION_FLOOR_DAYS && !belowFloor) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where} keeps finished runs ${days} days, below the floor of ${RETENTION_FLOOR_DAYS} (six months, the least the EU AI Act asks of high-risk systems' logs); set allowBelowFloor: true (\`--below-floor\`) if you mean it`,
    );
  }
  return Math.round(days * DAY_MS);
}

/** True when the policy can expire nothing (every rule keeps for ever). */
export function keepsEverything(r: ResolvedRetention): boolean {
  return r.defaultKeepMs === null && Object.values(r.tenants).every((t) => t === null);
}

/**
 * The store's cutoffs for a policy at `now`: runs last written before `now - keep` expire.
 *
 * @example
 * expiryCutoffs(resolveRetention({ default: { keepDays: 365 } }), Date.now())
 */
export function expiryCutoffs(r: ResolvedRetention, now: number): ExpiryCutoffs {
  const cut = (keep: number | null) => (keep === null ? null : now - keep);
  return { default: cut(r.defaultKeepMs), tenants: Object.fromEntries(Object.entries(r.tenants).map(([t, k]) => [t, cut(k)])) };
}

/**
 * The cutoff for settled webhook messages (delivered or given up): they carry no tenant of their
 * own, so they are kept as long as the longest rule keeps anything — null (kept for ever) when any
 * rule keeps for ever, else the earliest of the cutoffs.
 */
export function webhookCutoff(cutoffs: ExpiryCutoffs): number | null {
  const all = [cutoffs.default, ...Object.values(cutoffs.tenants ?? {})];
  if (all.some((c) => c === null)) return null;
  return Math.min(...(all as number[]));
}
