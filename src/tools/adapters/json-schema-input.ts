import { createRequire } from 'node:module';
import { z } from 'zod';
import { describeError, WardenError } from '../../core/errors.ts';

/** What a foreign schema's own `validate` answers (the AI SDK's `ValidationResult`). */
export type ForeignValidation = { success: true; value: unknown } | { success: false; error: unknown };

/** A compiled JSON Schema check: `null` when the value passes, else what is wrong, in words. */
type JsonSchemaCheck = (value: unknown) => string | null;

const DRAFT_2020 = /draft\/2020-12/;
const require = createRequire(import.meta.url);

/**
 * Compiles `schema` with ajv (loaded on first use, so importing Warden does not pay for it):
 * draft 2020-12 when the schema says so, else draft-07, the dialect the AI SDK and the OpenAI
 * Agents SDK emit. Formats are not checked (ajv-formats is not loaded); every other keyword is.
 */
function compileJsonSchema(where: string, schema: Record<string, unknown>): JsonSchemaCheck {
  const modern = typeof schema.$schema === 'string' && DRAFT_2020.test(schema.$schema);
  const mod = require(modern ? 'ajv/dist/2020' : 'ajv') as { default: new (o: object) => AjvLike };
  const ajv = new mod.default({ allErrors: true, strict: false, validateFormats: false });
  let validate: ReturnType<AjvLike['compile']>;
  try {
    validate = ajv.compile(schema);
  } catch (cause) {
    throw new WardenError(
      'INVALID_CONFIG',
      `${where}: its input JSON Schema cannot be compiled, so its arguments could not be checked (${describeError(cause)})`,
      { cause },
    );
  }
  return (value) => {
    if (validate(value)) return null;
    return (
      (validate.errors ?? [])
        .slice(0, 8)
        .map((e) => `${e.instancePath || '(root)'}: ${e.message ?? 'is invalid'}`)
        .join('; ') || 'does not match the schema'
    );
  };
}

interface AjvLike {
  compile(schema: object): ((value: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function describeFailure(error: unknown): string {
  const issues = (error as { issues?: { path?: (string | number)[]; message?: string }[] } | null)?.issues;
  if (Array.isArray(issues) && issues.length > 0) {
    return issues
      .slice(0, 8)
      .map((i) => `${i.path?.length ? i.path.join('.') : '(root)'}: ${i.message ?? 'is invalid'}`)
      .join('; ');
  }
  return describeError(error);
}

/** A zod input that checks a JSON-Schema-only tool's arguments, and what `execute` must still await. */
export interface JsonSchemaInput {
  /** The zod schema Warden checks every call with before policy, and again right before `execute`. */
  input: z.ZodType;
  /**
   * The arguments as the foreign schema gives them back: its own `validate` awaited when that is
   * asynchronous (it cannot run inside a synchronous check). Throws `INVALID_TOOL_ARGS` when it fails.
   */
  finalArgs(args: unknown): Promise<unknown>;
}

/**
 * Checks the arguments of a tool that only has a JSON Schema. The schema's own `validate` decides
 * when it has one; otherwise ajv checks the JSON Schema. An asynchronous `validate` cannot run in
 * Warden's synchronous check, so ajv checks the JSON Schema there, and `finalArgs` awaits the
 * `validate` before `execute`: no unchecked arguments reach a tool either way.
 */
export function jsonSchemaInput(where: string, schema: Record<string, unknown>, validate?: (value: unknown) => unknown): JsonSchemaInput {
  let ajvCheck: JsonSchemaCheck | undefined;
  const byAjv = () => (ajvCheck ??= compileJsonSchema(where, schema));
  byAjv(); // an uncompilable schema is refused now, not at the first call
  const input = z.unknown().transform((value, ctx) => {
    if (validate) {
      const result = validate(value);
      if (!isThenable(result)) {
        const answer = result as ForeignValidation | undefined;
        if (answer?.success === true) return answer.value;
        ctx.addIssue({ code: 'custom', message: answer && answer.success === false ? describeFailure(answer.error) : "the schema's validate gave no answer" });
        return z.NEVER;
      }
      // An async validate: a settled promise is dropped here (it may reject; nothing waits on it).
      Promise.resolve(result).catch(() => {});
    }
    const wrong = byAjv()(value);
    if (wrong) {
      ctx.addIssue({ code: 'custom', message: wrong });
      return z.NEVER;
    }
    return value;
  });
  return {
    input,
    async finalArgs(args) {
      if (!validate) return args;
      const result = validate(args);
      if (!isThenable(result)) return args; // already checked (and transformed) synchronously
      let answer: ForeignValidation | undefined;
      try {
        answer = (await result) as ForeignValidation | undefined;
      } catch (cause) {
        throw new WardenError('INVALID_TOOL_ARGS', `${where}: the schema's validate threw (${describeError(cause)}); the call did not run`, { cause });
      }
      if (answer?.success === true) return answer.value;
      throw new WardenError(
        'INVALID_TOOL_ARGS',
        `${where}: invalid arguments (${answer && answer.success === false ? describeFailure(answer.error) : "the schema's validate gave no answer"}); the call did not run`,
      );
    },
  };
}

/** `schema` without `$schema` (the model is shown the rest, unchanged), as MCP tools do. */
export function modelFacingSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const shown = { ...schema };
  delete shown.$schema;
  return shown;
}
