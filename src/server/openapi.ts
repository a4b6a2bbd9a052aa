import type { Hook, OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodType } from 'zod';
import { WardenError } from '../core/errors.ts';
import { ErrorBody } from './api-schemas.ts';
import type { Env } from './context.ts';
import { allows, type Permission } from './permissions.ts';

// The OpenAPI document is generated from the route definitions (createRoute in routes-*.ts): the
// paths, parameters, bodies and responses it lists are the ones the code validates and answers.

const ERROR_DESCRIPTIONS = {
  400: 'Bad request: malformed JSON, invalid fields or headers',
  401: 'No valid API key',
  403: "The key's role may not do this, or the key submitted the run it tries to approve",
  404: 'No such resource (or one of another tenant)',
  409: 'Conflict: already decided, idempotency key reused, or a kill switch is engaged',
  413: 'Body larger than 256 KiB (refused before it is read; the connection is then closed)',
  429: 'The queue is full',
} as const;

type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;
type ErrorResponse = { description: string; content: { 'application/json': { schema: typeof ErrorBody } } };

/** The typed error responses (`{error: {code, message}}`) a route can answer with. */
export function errors<S extends ErrorStatus>(...statuses: S[]): Record<S, ErrorResponse> {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: ERROR_DESCRIPTIONS[s], content: { 'application/json': { schema: ErrorBody } } }]),
  ) as unknown as Record<S, ErrorResponse>;
}

/** A JSON response (or request body) of `schema`. */
export function json<T extends ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** Route middleware: the request's key must hold `permission` (403 FORBIDDEN), checked before the body is validated. */
export function requires(permission: Permission): MiddlewareHandler<Env> {
  return async (c, next) => {
    const key = c.get('key');
    if (!allows(key.role, permission)) {
      throw new WardenError('FORBIDDEN', `A ${key.role} key may not do this (${permission}); it needs one of the roles that may`);
    }
    await next();
  };
}

/**
 * Route middleware for an optional JSON body: a body sent with another content type is ignored,
 * as it always was, instead of being refused as an unsupported media type.
 */
export const jsonOrNothing: MiddlewareHandler<Env> = async (c, next) => {
  const type = c.req.header('content-type');
  if (type && !/^application\/([a-z.-]+\+)?json/i.test(type.trim())) {
    const headers = new Headers(c.req.raw.headers);
    headers.delete('content-type');
    headers.delete('content-length');
    headers.delete('transfer-encoding');
    c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers, signal: c.req.raw.signal });
  }
  await next();
};

/** Validation failures become Warden's typed 400 (INVALID_ARGUMENT), never the validator's own body. */
export const validationHook: Hook<unknown, Env, string, unknown> = (result) => {
  if (result.success) return;
  const issues = result.error.issues.map((i) =>
    i.path.length && !i.message.includes(`"${String(i.path[0])}"`) ? `"${i.path.join('.')}": ${i.message}` : i.message,
  );
  throw new WardenError('INVALID_ARGUMENT', `${issues.join('; ')} (in the request ${result.target === 'json' ? 'body' : result.target}; see /v1/openapi.json)`);
};

/** The body parser's own refusals (malformed JSON, a body that is not JSON) as a WardenError. */
export function asWardenError(e: unknown): unknown {
  if (!(e instanceof HTTPException)) return e;
  if (e.status === 400) return new WardenError('INVALID_ARGUMENT', 'The request body must be JSON');
  if (e.status === 415) return new WardenError('INVALID_ARGUMENT', 'The request body must be JSON, sent with "Content-Type: application/json"');
  return e;
}

/** The document served at /v1/openapi.json, generated from the app's routes. */
export function openApiDocument(app: OpenAPIHono<Env>) {
  const registered = app.openAPIRegistry.definitions.some((d) => d.type === 'component' && d.name === 'bearer');
  if (!registered)
    app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
      type: 'http',
      scheme: 'bearer',
      description: 'An API key from `warden keys create` (wk_…)',
    });
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'Warden API', version: '1', description: 'Submit runs, watch them, decide what waits for a person, and pull the kill switch.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
  });
}
