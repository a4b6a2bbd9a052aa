import type { z } from 'zod';

/** What `checkAnswer` found: the parsed value, or what is wrong with the answer, one line each. */
export type AnswerCheck = { ok: true; value: unknown } | { ok: false; errors: string[] };

/**
 * Reads a final answer as the agent's `output` schema says it must be: JSON (alone, or in one
 * fenced block, which models add even when told not to), accepted by the schema. The value is the
 * schema's output (defaults and transforms applied).
 *
 * @example
 * checkAnswer(z.object({ n: z.number() }), '{"n": "2"}') // { ok: false, errors: ['n: Invalid input: expected number, received string'] }
 */
export function checkAnswer(schema: z.ZodType, text: string): AnswerCheck {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  const body = (fenced?.[1] ?? text).trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    return { ok: false, errors: [`the answer is not JSON (${e instanceof Error ? e.message : String(e)})`] };
  }
  const result = schema.safeParse(parsed);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : '(the answer)'}: ${issue.message}`),
  };
}
