import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ERROR_CODES, isWardenError, WardenError, describeError } from '../core/errors.ts';
import { type ApiKey, authenticate } from './api-keys.ts';
import { serveDashboard } from './dashboard.ts';
import { asWardenError, openApiDocument, validationHook } from './openapi.ts';
import { allows, type Permission } from './permissions.ts';
import { budgetRoutes } from './routes-budgets.ts';
import { controlRoutes } from './routes-control.ts';
import { decisionRoutes } from './routes-decisions.ts';
import { observeRoutes } from './routes-observe.ts';
import { runRoutes } from './routes-runs.ts';
import { conversationRoutes } from './routes-conversations.ts';
import type { Env, ServerDeps } from './context.ts';

/** Largest request body the API accepts. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Sends a typed error as JSON with the status the error table gives its code. */
export function errorResponse(c: Context, thrown: unknown): Response {
  const e = asWardenError(thrown);
  const error = isWardenError(e) ? e : new WardenError('INTERNAL', describeError(e));
  if (!isWardenError(e)) process.stderr.write(`warden serve: internal error: ${describeError(e)}\n`);
  return c.json({ error: { code: error.code, message: error.message } }, ERROR_CODES[error.code].http as 400);
}

/** The authenticated key of a request, checked for `permission`. */
export function need(c: Context<Env>, permission: Permission): ApiKey {
  const key = c.get('key');
  if (!allows(key.role, permission)) {
    throw new WardenError('FORBIDDEN', `A ${key.role} key may not do this (${permission}); it needs one of the roles that may`);
  }
  return key;
}

/**
 * The HTTP API (`/v1`, described by `/v1/openapi.json`, which is generated from its route definitions), `/metrics`, `/healthz`, `/readyz` and the
 * dashboard, as one Hono app.
 *
 * @example
 * serve({ fetch: createServerApp({ warden, store, agents, executor }).fetch, port: 8787 });
 */
export function createServerApp(deps: ServerDeps): OpenAPIHono<Env> {
  const app = new OpenAPIHono<Env>({ defaultHook: validationHook });
  app.onError((e, c) => errorResponse(c, e));
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `No route ${c.req.method} ${c.req.path}` } }, 404));

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    try {
      await deps.store.listRuns({ limit: 1 });
      return c.json({ ready: true });
    } catch (e) {
      return c.json({ ready: false, error: describeError(e) }, 503);
    }
  });

  // Hono's bodyLimit refuses a declared Content-Length over the limit before reading a byte, and
  // counts a chunked body as it streams in, giving up at the limit: no body over it is ever held.
  // The unread rest is discarded by @hono/node-server after the 413 is sent, then the socket closes;
  // `Connection: close` tells the client so, or it may send its next request on a closing socket.
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => {
      const declared = c.req.header('content-length');
      const found = declared && !c.req.header('transfer-encoding') ? `this one declares ${declared}` : 'this one streamed past that';
      c.header('connection', 'close');
      return errorResponse(
        c,
        new WardenError('PAYLOAD_TOO_LARGE', `Request bodies are limited to ${MAX_BODY_BYTES} bytes; ${found}. Send less (a run's input is text, not a file)`),
      );
    },
  });
  const auth = async (c: Context<Env>, next: () => Promise<void>) => {
    const header = c.req.header('authorization') ?? '';
    const secret = header.startsWith('Bearer ') ? header.slice(7).trim() : (c.req.query('access_token') ?? '');
    const key = secret ? await authenticate(deps.store, secret) : null;
    if (!key) throw new WardenError('UNAUTHENTICATED', 'Send a valid API key as "Authorization: Bearer wk_…" (warden keys create)');
    c.set('key', key);
    await next();
  };
  app.use('/v1/*', async (c, next) => (c.req.path === '/v1/openapi.json' ? next() : auth(c, next)));
  app.use('/v1/*', limit);
  app.use('/metrics', auth);

  app.get('/metrics', async (c) => {
    need(c, 'metrics:read');
    const text = deps.metrics ? await deps.metrics.text() : '';
    return c.text(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  runRoutes(app, deps);
  conversationRoutes(app, deps);
  decisionRoutes(app, deps);
  controlRoutes(app, deps);
  budgetRoutes(app, deps);
  observeRoutes(app, deps);
  let document: ReturnType<typeof openApiDocument> | undefined;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This document',
      security: [],
      responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
    }),
    (c) => {
      document ??= openApiDocument(app);
      return c.json(document as object, 200);
    },
  );
  serveDashboard(app);
  return app;
}
