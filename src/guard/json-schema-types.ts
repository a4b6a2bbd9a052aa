/**
 * Just enough JSON Schema reading for the plan verifier to type a reference: the schema at a
 * path, and the JSON types a schema admits. Unknown shapes admit anything (the check is skipped,
 * never failed, when the schema cannot say).
 */
export type JsonSchema = Record<string, unknown>;
export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

function alternatives(schema: JsonSchema): JsonSchema[] {
  const alts = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(alts) ? alts : [schema];
}

/** The sub-schemas found at `path` (several when a union is crossed); `[]` when the path cannot exist. */
export function schemasAt(schema: JsonSchema, path: readonly (string | number)[]): JsonSchema[] {
  let here: JsonSchema[] = [schema];
  for (const key of path) {
    const next: JsonSchema[] = [];
    for (const s of here.flatMap(alternatives)) {
      const props = s.properties as Record<string, JsonSchema> | undefined;
      const prop = typeof key === 'string' && props && key in props ? props[key] : undefined;
      if (prop !== undefined) next.push(prop);
      else if (typeof key === 'string' && s.additionalProperties && typeof s.additionalProperties === 'object') next.push(s.additionalProperties as JsonSchema);
      else if (s.items && typeof s.items === 'object' && (typeof key === 'number' || /^\d+$/.test(key))) next.push(s.items as JsonSchema);
      else if (Object.keys(s).length === 0) next.push({}); // `any`: every path may exist
    }
    here = next;
    if (here.length === 0) return [];
  }
  return here;
}

function typeOfValue(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

/** The JSON types a schema admits, or `null` when it admits anything. */
export function typesOf(schema: JsonSchema): Set<JsonType> | null {
  const out = new Set<JsonType>();
  for (const s of alternatives(schema)) {
    if (s !== schema && (s.anyOf || s.oneOf)) {
      const inner = typesOf(s);
      if (!inner) return null;
      for (const t of inner) out.add(t);
      continue;
    }
    if ('const' in s) {
      out.add(typeOfValue(s.const));
    } else if (Array.isArray(s.enum)) {
      for (const v of s.enum) out.add(typeOfValue(v));
    } else if (typeof s.type === 'string') {
      out.add(s.type as JsonType);
    } else if (Array.isArray(s.type)) {
      for (const t of s.type as JsonType[]) out.add(t);
    } else {
      return null;
    }
  }
  return out;
}

/** True when every value the source admits is of a type the target admits. */
export function typesFit(source: Set<JsonType> | null, target: Set<JsonType> | null): boolean {
  if (!source || !target) return true;
  for (const t of source) {
    if (target.has(t)) continue;
    if (t === 'integer' && target.has('number')) continue;
    return false;
  }
  return true;
}

export function describeTypes(types: Set<JsonType> | null): string {
  return types ? [...types].join(' | ') : 'any';
}
