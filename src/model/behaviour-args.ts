/**
 * Arguments the behaviour model proposes, derived from a tool's JSON Schema (the one the model
 * sees): plausible ones that a real model would write, and broken ones of the kinds real models
 * write (a required field left out, a value of the wrong type).
 */

type Schema = Record<string, unknown>;

/** What argument generation draws from: a seeded stream, and ids that stay the same within a run. */
export interface ArgsSource {
  random: () => number;
  /** The same field name gives the same id for the whole run (the order looked up is the order refunded). */
  entity(field: string): string;
}

const MAX_DEPTH = 6;
const TEXT_FIELDS = /reason|message|note|comment|description|text|query|question|summary|body|content|title/i;
const SENTENCES = [
  'The customer says it arrived damaged.',
  'Asked twice already, please hurry.',
  'Duplicate charge on the last invoice.',
  'Wants to know where the parcel is.',
  'Changed their mind after ordering.',
];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length) % items.length]!;
}

/** Log-uniform in [lo, hi]: small values are common, large ones happen (amounts, counts). */
function logUniform(random: () => number, lo: number, hi: number): number {
  const a = Math.max(lo, 1);
  const b = Math.max(a, hi);
  return Math.exp(Math.log(a) + random() * (Math.log(b) - Math.log(a)));
}

function resolveRef(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) node = (node as Schema | undefined)?.[part];
  return typeof node === 'object' && node !== null ? (node as Schema) : {};
}

function typeOf(schema: Schema): string | undefined {
  const t = schema.type;
  if (Array.isArray(t)) return t.find((x) => x !== 'null') ?? t[0];
  if (typeof t === 'string') return t;
  if (schema.properties) return 'object';
  if (schema.items) return 'array';
  return undefined;
}

function stringValue(schema: Schema, field: string, source: ArgsSource): string {
  const format = schema.format;
  let value: string;
  if (format === 'email' || /e-?mail/i.test(field)) value = `${source.entity(field).toLowerCase()}@example.com`;
  else if (format === 'uri' || format === 'url' || /url|link/i.test(field)) value = `https://example.com/${source.entity(field)}`;
  else if (format === 'date-time') value = new Date(Date.UTC(2025, 0, 1 + Math.floor(source.random() * 300))).toISOString();
  else if (format === 'date') value = new Date(Date.UTC(2025, 0, 1 + Math.floor(source.random() * 300))).toISOString().slice(0, 10);
  else if (format === 'uuid') value = `00000000-0000-4000-8000-${source.entity(field).padStart(12, '0').slice(-12)}`;
  else if (/(^id$|id$|_id$|ref|number|code|sku|key)/i.test(field)) value = source.entity(field);
  else if (TEXT_FIELDS.test(field)) value = pick(source.random, SENTENCES);
  else if (/name/i.test(field)) value = pick(source.random, ['Ana Lima', 'Bo Chen', 'Kofi Mensah', 'Ines Vidal']);
  else value = `${field || 'value'}-${source.entity(field)}`;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
  while (value.length < min) value += 'x';
  return value.slice(0, max);
}

function numberValue(schema: Schema, integer: boolean, source: ArgsSource): number {
  const exclusiveMin = typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum : undefined;
  const exclusiveMax = typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum : undefined;
  const lo = typeof schema.minimum === 'number' ? schema.minimum : exclusiveMin !== undefined ? exclusiveMin + (integer ? 1 : 0.01) : 1;
  const hi = typeof schema.maximum === 'number' ? schema.maximum : exclusiveMax !== undefined ? exclusiveMax - (integer ? 1 : 0.01) : 1000;
  // Most values a model writes are small (amounts, counts); the bound is rarely reached.
  let value = lo >= 1 || hi <= 1 ? logUniform(source.random, lo, Math.min(hi, Math.max(lo, 1000))) : logUniform(source.random, 1, Math.min(hi, 1000));
  value = Math.min(hi, Math.max(lo, value));
  if (typeof schema.multipleOf === 'number' && schema.multipleOf > 0) value = Math.round(value / schema.multipleOf) * schema.multipleOf;
  return integer ? Math.round(value) : Math.round(value * 100) / 100;
}

/**
 * A plausible value for `schema` (a JSON Schema as `z.toJSONSchema` writes it). Enums, consts,
 * bounds, lengths and formats are respected; what a schema cannot say (a refinement) may not be.
 *
 * @example
 * plausibleValue({ type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] }, source)
 * // → { orderId: '1042' }
 */
export function plausibleValue(schema: Schema, source: ArgsSource, field = '', root: Schema = schema, depth = 0): unknown {
  const s = resolveRef(schema, root);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return pick(source.random, s.enum);
  const options = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (Array.isArray(options) && options.length > 0) {
    const concrete = options.filter((o) => o.type !== 'null');
    return plausibleValue(concrete[0] ?? options[0]!, source, field, root, depth + 1);
  }
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return plausibleValue(Object.assign({}, ...(s.allOf as Schema[])), source, field, root, depth + 1);
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth >= MAX_DEPTH) return out;
      const properties = (s.properties ?? {}) as Record<string, Schema>;
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      for (const [name, child] of Object.entries(properties)) {
        // Optional fields are filled about half the time, as a model would.
        if (!required.has(name) && source.random() < 0.5) continue;
        out[name] = plausibleValue(child, source, name, root, depth + 1);
      }
      return out;
    }
    case 'array': {
      if (depth >= MAX_DEPTH) return [];
      const min = typeof s.minItems === 'number' ? s.minItems : 1;
      const max = typeof s.maxItems === 'number' ? s.maxItems : Math.max(min, 3);
      const n = min + Math.floor(source.random() * (Math.min(max, min + 3) - min + 1));
      const items = (s.items ?? {}) as Schema;
      return Array.from({ length: n }, () => plausibleValue(items, source, field, root, depth + 1));
    }
    case 'string':
      return stringValue(s, field, source);
    case 'integer':
      return numberValue(s, true, source);
    case 'number':
      return numberValue(s, false, source);
    case 'boolean':
      return source.random() < 0.5;
    case 'null':
      return null;
    default:
      return field ? stringValue({}, field, source) : {};
  }
}

/**
 * Arguments a careless model writes for `schema`: a required field left out, or one of the wrong
 * type. Returns `{ args, flaw }` where `flaw` says what is wrong, for the trace.
 */
export function flawedArgs(schema: Schema, valid: unknown, source: ArgsSource): { args: unknown; flaw: string } {
  const s = resolveRef(schema, schema);
  if (typeOf(s) !== 'object' || typeof valid !== 'object' || valid === null || Array.isArray(valid)) {
    return { args: { unexpected: true }, flaw: 'an object where the tool expects something else' };
  }
  const args = { ...(valid as Record<string, unknown>) };
  const required = Array.isArray(s.required) ? (s.required as string[]) : [];
  const names = Object.keys(args);
  if (required.length > 0 && source.random() < 0.5) {
    const name = pick(source.random, required);
    delete args[name];
    return { args, flaw: `left out the required field "${name}"` };
  }
  const name = names.length > 0 ? pick(source.random, names) : 'value';
  const current = args[name];
  args[name] = typeof current === 'string' ? 42 : typeof current === 'number' ? `${current} dollars` : typeof current === 'boolean' ? 'yes' : 'oops';
  return { args, flaw: `gave "${name}" a value of the wrong type` };
}
