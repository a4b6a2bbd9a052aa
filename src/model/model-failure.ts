import { APICallError, EmptyResponseBodyError, InvalidResponseDataError, JSONParseError, NoContentGeneratedError, TypeValidationError } from '@ai-sdk/provider';
import { describeError, WardenError } from '../core/errors.ts';
import type { ModelFailure } from '../core/ports/model.ts';

/**
 * A model call that failed, classified. The runtime reads `failure` to decide whether to retry,
 * how long to wait, and which reason to record.
 *
 * @example
 * try { await callModel(model, request) } catch (e) {
 *   if (e instanceof ModelCallError && e.failure.retryable) await sleep(e.failure.retryAfterMs ?? 1000);
 * }
 */
export class ModelCallError extends WardenError {
  readonly failure: ModelFailure;

  constructor(failure: ModelFailure, options: { cause?: unknown } = {}) {
    const status = failure.status === undefined ? '' : ` ${failure.status}`;
    super('MODEL_CALL_FAILED', `Model call failed (${failure.kind}${status}): ${failure.message}`, {
      cause: options.cause,
      context: { kind: failure.kind, retryable: failure.retryable, ...(failure.status !== undefined ? { status: failure.status } : {}) },
    });
    this.name = 'ModelCallError';
    this.failure = failure;
  }
}

/** Error codes Node and undici give a connection that failed or broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ConnectionRefused',
  'ConnectionClosed',
  'FailedToOpenSocket',
]);

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Follows `cause` links (bounded, in case of a cycle) and returns the first link `test` accepts. */
function findInChain<T>(e: unknown, test: (link: unknown) => T | undefined): T | undefined {
  let link = e;
  for (let depth = 0; depth < 8 && link !== null && link !== undefined; depth++) {
    const found = test(link);
    if (found !== undefined) return found;
    link = (link as { cause?: unknown }).cause;
  }
  return undefined;
}

function field(link: unknown, name: 'name' | 'code'): string | undefined {
  if (typeof link !== 'object' || link === null) return undefined;
  const value = (link as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function header(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/**
 * How long the provider asked us to wait, from `retry-after-ms` (milliseconds, OpenAI) or
 * `retry-after` (seconds or an HTTP date, RFC 9110). Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Record<string, string> | undefined, now = Date.now()): number | undefined {
  const ms = Number.parseFloat(header(headers, 'retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = header(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number.parseFloat(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function fromApiCallError(e: APICallError): ModelFailure {
  const status = e.statusCode;
  const message = describeError(e);
  if (status === undefined) {
    // No HTTP response at all: the AI SDK wraps connection failures this way.
    if (findInChain(e.cause, (l) => (TIMEOUT_CODES.has(field(l, 'code') ?? '') || field(l, 'name') === 'TimeoutError' ? true : undefined))) {
      return { kind: 'timeout', retryable: true, message };
    }
    return { kind: 'network', retryable: e.isRetryable, message };
  }
  if (status < 300) {
    // A success status whose body could not be read (invalid JSON, wrong shape): the AI SDK
    // reports it as an APICallError carrying the 2xx status. It is a malformed answer, not a
    // refused request, and the next sample is usually well-formed.
    return { kind: 'malformed', retryable: true, status, message };
  }
  if (status === 429) {
    const wait = retryAfterMs(e.responseHeaders);
    return { kind: 'rate_limited', retryable: true, status, message, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  if (status >= 500 || status === 408) {
    const wait = retryAfterMs(e.responseHeaders);
    return { kind: 'server_error', retryable: true, status, message, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  // 409 is the one 4xx the AI SDK itself retries (a conflicting request in flight); the rest mean
  // the request is wrong (bad key, bad schema, prompt too long) and will fail the same way again.
  return { kind: 'client_error', retryable: status === 409, status, message };
}

/**
 * Classifies anything a model call threw, so the runtime knows whether a retry can help.
 *
 * | thrown                                                   | kind           | retryable |
 * | -------------------------------------------------------- | -------------- | --------- |
 * | `APICallError` 429                                       | `rate_limited` | yes, after `retry-after` |
 * | `APICallError` 5xx, 408                                  | `server_error` | yes       |
 * | `APICallError` other 4xx                                 | `client_error` | no (409: yes) |
 * | `APICallError` 2xx (body unreadable: invalid JSON, wrong shape) | `malformed` | yes  |
 * | `AbortError`                                             | `aborted`      | no        |
 * | `TimeoutError`, `ETIMEDOUT`, undici timeouts             | `timeout`      | yes       |
 * | unparseable response (`JSONParseError`, `TypeValidationError`, `InvalidResponseDataError`, empty body) | `malformed` | yes |
 * | `ECONNREFUSED`, `ECONNRESET`, `fetch failed`, …          | `network`      | yes       |
 * | anything else (missing API key, unsupported setting, a bug) | `client_error` | no     |
 *
 * A malformed response is worth one more try: the next sample is usually well-formed, and the
 * run's retry limit bounds how many it gets.
 *
 * @example
 * const failure = classifyModelError(e);
 * if (failure.retryable) await sleep(failure.retryAfterMs ?? backoff);
 */
export function classifyModelError(e: unknown): ModelFailure {
  if (e instanceof ModelCallError) return e.failure;
  // The `ai` package's RetryError wraps the attempts it made; the last one says what went wrong.
  if (field(e, 'name') === 'AI_RetryError' && (e as { lastError?: unknown }).lastError !== undefined) {
    return classifyModelError((e as { lastError: unknown }).lastError);
  }
  const message = describeError(e);
  if (APICallError.isInstance(e)) return fromApiCallError(e);
  const name = field(e, 'name');
  if (name === 'AbortError' || name === 'ResponseAborted') return { kind: 'aborted', retryable: false, message };
  if (findInChain(e, (l) => (field(l, 'name') === 'TimeoutError' || TIMEOUT_CODES.has(field(l, 'code') ?? '') ? true : undefined))) {
    return { kind: 'timeout', retryable: true, message };
  }
  if (
    JSONParseError.isInstance(e) ||
    TypeValidationError.isInstance(e) ||
    InvalidResponseDataError.isInstance(e) ||
    EmptyResponseBodyError.isInstance(e) ||
    NoContentGeneratedError.isInstance(e)
  ) {
    return { kind: 'malformed', retryable: true, message };
  }
  const fetchFailed = e instanceof TypeError && /^(fetch failed|failed to fetch)$/i.test(e.message);
  if (fetchFailed || findInChain(e, (l) => (NETWORK_CODES.has(field(l, 'code') ?? '') ? true : undefined))) {
    return { kind: 'network', retryable: true, message: fetchFailed && e.cause ? `${message}: ${describeError(e.cause)}` : message };
  }
  return { kind: 'client_error', retryable: false, message };
}

/** Connection errors that mean the request never reached the provider. */
const NEVER_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ConnectionRefused',
  'FailedToOpenSocket',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** AI SDK errors thrown while building the request, before anything is sent. */
const NEVER_SENT_NAMES = new Set([
  'AI_LoadAPIKeyError',
  'AI_LoadSettingError',
  'AI_UnsupportedFunctionalityError',
  'AI_InvalidPromptError',
  'AI_InvalidArgumentError',
  'AI_NoSuchModelError',
  'AI_TooManyEmbeddingValuesForCallError',
]);

/** Statuses saying the provider did no work: request timeout (408), overloaded (503, 529). */
const NO_WORK_STATUSES = new Set([408, 503, 529]);

/**
 * Whether a failed model call may have been billed, so the ledger charges it at its reservation
 * instead of $0. Only a failure known not to be billed is free:
 *
 * | failure                                                        | may be billed |
 * | -------------------------------------------------------------- | ------------- |
 * | refused before sending (breaker open, retry budget, bad setup) | no            |
 * | connection never made (`ECONNREFUSED`, DNS, connect timeout)   | no            |
 * | HTTP 4xx, 429 included (the provider refused the request)      | no            |
 * | HTTP 408, 503, 529 (timed out or overloaded: no work done)     | no            |
 * | other HTTP 5xx (500, 502, 504: the work may have been done)    | yes           |
 * | HTTP 200 with a malformed or empty body                        | yes           |
 * | timeout or connection reset after sending                       | yes           |
 * | aborted mid-call (cancel, deadline)                            | yes           |
 * | anything else thrown, where the provider said nothing          | yes           |
 *
 * `cause` is what the provider threw (the `cause` of a `ModelCallError`); it tells a connection
 * that was never made from one that broke after the request went out.
 *
 * @example
 * const charged = mayBeBilled(failure, error.cause) ? reservedNano : 0;
 */
export function mayBeBilled(failure: ModelFailure, cause?: unknown): boolean {
  switch (failure.kind) {
    case 'breaker_open':
    case 'retry_budget':
    case 'rate_limited':
      return false;
    case 'client_error':
      if (failure.status !== undefined) return false;
      return !findInChain(cause, (l) => (NEVER_SENT_NAMES.has(field(l, 'name') ?? '') ? true : undefined));
    case 'server_error':
      return failure.status === undefined || !NO_WORK_STATUSES.has(failure.status);
    case 'network':
    case 'timeout':
      return !findInChain(cause, (l) => (NEVER_SENT_CODES.has(field(l, 'code') ?? '') ? true : undefined));
    case 'malformed':
    case 'aborted':
      return true;
  }
}
