import { type Tier, TIERS } from '../../core/tiers.ts';
import { WardenError } from '../../core/errors.ts';

/**
 * The tier the user declared for each foreign tool. A tier is never inferred from the foreign
 * tool: one missing from `tiers` is refused, naming it, and so is a tier for a tool not in the set
 * (a typo would otherwise leave the real tool untiered).
 */
export function declaredTiers(where: string, names: readonly string[], tiers: unknown): (name: string) => Tier {
  if (!tiers || typeof tiers !== 'object' || Array.isArray(tiers)) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where}: options.tiers must map each tool's name to "read", "write" or "delete", e.g. { tiers: { ${names[0] ?? 'lookupOrder'}: 'read' } }`,
    );
  }
  const given = tiers as Record<string, unknown>;
  for (const [name, tier] of Object.entries(given)) {
    if (!names.includes(name))
      throw new WardenError('INVALID_CONFIG', `${where}: tiers names "${name}", which is not one of the tools (${names.join(', ') || 'none'})`);
    if (!TIERS.includes(tier as Tier))
      throw new WardenError('INVALID_CONFIG', `${where}: tiers.${name} must be "read", "write" or "delete", got ${JSON.stringify(tier)}`);
  }
  const missing = names.filter((n) => !Object.hasOwn(given, n));
  if (missing.length > 0) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where}: no tier for ${missing.map((n) => `"${n}"`).join(', ')}: Warden never guesses what a tool may do. ` +
        `Declare it: tiers: { ${missing.map((n) => `${n}: 'read' | 'write' | 'delete'`).join(', ')} }`,
    );
  }
  return (name) => given[name] as Tier;
}
