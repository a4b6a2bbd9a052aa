import type { z } from 'zod';
import { describeError } from '../core/errors.ts';

/** The arguments as the schema gives them back, or what is wrong with them, in words. */
export type ArgsCheck = { ok: true; data: unknown } | { ok: false; message: string; thrown: boolean };

function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Checks arguments against a tool's zod schema. A schema's own `.transform` or `.refine` callback
 * may throw instead of reporting an issue; that is an invalid call too (`thrown: true`), never a
 * crash of the run.
 *
 * @example
 * const check = checkArgs(tool.input, call.args);
 * if (!check.ok) reject(ctx, call, 'INVALID_TOOL_ARGS', check.message);
 */
export function checkArgs(schema: z.ZodType, args: unknown): ArgsCheck {
  try {
    const parsed = schema.safeParse(args);
    if (parsed.success) return { ok: true, data: parsed.data };
    return { ok: false, message: formatIssues(parsed.error), thrown: false };
  } catch (e) {
    return { ok: false, message: `the schema's own check threw (${describeError(e)})`, thrown: true };
  }
}
