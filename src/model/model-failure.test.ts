import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APICallError, EmptyResponseBodyError, InvalidResponseDataError, JSONParseError, LoadAPIKeyError, TypeValidationError } from '@ai-sdk/provider';
import { classifyModelError, mayBeBilled, ModelCallError, retryAfterMs } from './model-failure.ts';

function apiError(statusCode: number | undefined, extra: { headers?: Record<string, string>; cause?: unknown; isRetryable?: boolean } = {}) {
  return new APICallError({
    message: `status ${statusCode}`,
    url: 'https://api.example/v1/chat',
    requestBodyValues: {},
    statusCode,
    responseHeaders: extra.headers,
    cause: extra.cause,
    ...(extra.isRetryable !== undefined ? { isRetryable: extra.isRetryable } : {}),
  });
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyModelError', () => {
  it('classifies 429 as rate_limited and reads how long to wait', () => {
    const failure = classifyModelError(apiError(429, { headers: { 'retry-after-ms': '1200', 'retry-after': '2' } }));
    assert.deepEqual(failure, { kind: 'rate_limited', retryable: true, status: 429, retryAfterMs: 1200, message: 'status 429' });
    assert.equal(classifyModelError(apiError(429)).retryAfterMs, undefined);
  });

  it("classifies an APICallError from another copy of @ai-sdk/provider (a v3 or v2 provider's own) by its marker", () => {
    // What an ai@6 provider throws when it bundles @ai-sdk/provider 3: not an instance of this copy's class.
    const foreign = Object.assign(new Error('slow down'), {
      name: 'AI_APICallError',
      [Symbol.for('vercel.ai.error')]: true,
      [Symbol.for('vercel.ai.error.AI_APICallError')]: true,
      statusCode: 429,
      responseHeaders: { 'retry-after': '7' },
      isRetryable: true,
    });
    assert.ok(!(foreign instanceof APICallError));
    assert.deepEqual(classifyModelError(foreign), { kind: 'rate_limited', retryable: true, status: 429, retryAfterMs: 7000, message: 'slow down' });
  });

  it('classifies 5xx and 408 as retryable server errors', () => {
    for (const status of [500, 502, 503, 504, 529, 408]) {
      const failure = classifyModelError(apiError(status));
      assert.equal(failure.kind, 'server_error', `status ${status}`);
      assert.equal(failure.retryable, true);
      assert.equal(failure.status, status);
    }
    assert.equal(classifyModelError(apiError(503, { headers: { 'Retry-After': '4' } })).retryAfterMs, 4000);
  });

  it('classifies other 4xx as client errors that a retry cannot fix', () => {
    for (const status of [400, 401, 403, 404, 413, 422]) {
      assert.deepEqual(
        [classifyModelError(apiError(status)).kind, classifyModelError(apiError(status)).retryable],
        ['client_error', false],
        `status ${status}`,
      );
    }
    assert.equal(classifyModelError(apiError(409)).retryable, true, 'the AI SDK retries 409 conflicts too');
  });

  it('classifies an abort as aborted, not retryable', () => {
    const failure = classifyModelError(new DOMException('This operation was aborted', 'AbortError'));
    assert.equal(failure.kind, 'aborted');
    assert.equal(failure.retryable, false);
  });

  it('classifies timeouts as retryable, whether thrown directly or under a connection error', () => {
    assert.equal(classifyModelError(new DOMException('The operation timed out', 'TimeoutError')).kind, 'timeout');
    assert.equal(classifyModelError(withCode('connect timeout', 'UND_ERR_CONNECT_TIMEOUT')).kind, 'timeout');
    const wrapped = apiError(undefined, { cause: withCode('read ETIMEDOUT', 'ETIMEDOUT'), isRetryable: true });
    assert.deepEqual([classifyModelError(wrapped).kind, classifyModelError(wrapped).retryable], ['timeout', true]);
  });

  it('classifies an unparseable response as malformed, worth one more try', () => {
    const errors = [
      new JSONParseError({ text: '{"choices": [', cause: new SyntaxError('Unexpected end') }),
      new TypeValidationError({ value: { choices: null }, cause: new Error('expected array') }),
      new InvalidResponseDataError({ data: {}, message: 'no choices' }),
      new EmptyResponseBodyError(),
    ];
    for (const e of errors) assert.deepEqual([classifyModelError(e).kind, classifyModelError(e).retryable], ['malformed', true], e.name);
  });

  it('classifies refused and reset connections as retryable network errors', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: withCode('connect ECONNREFUSED 127.0.0.1:11434', 'ECONNREFUSED') });
    const failure = classifyModelError(fetchFailed);
    assert.equal(failure.kind, 'network');
    assert.equal(failure.retryable, true);
    assert.match(failure.message, /ECONNREFUSED/);
    assert.equal(classifyModelError(withCode('socket hang up', 'ECONNRESET')).kind, 'network');
    assert.equal(classifyModelError(apiError(undefined, { cause: withCode('getaddrinfo ENOTFOUND', 'ENOTFOUND'), isRetryable: true })).kind, 'network');
  });

  it('treats anything else, such as a missing API key, as a client error that retrying cannot fix', () => {
    const failure = classifyModelError(new LoadAPIKeyError({ message: 'OpenAI API key is missing.' }));
    assert.deepEqual(failure, { kind: 'client_error', retryable: false, message: 'OpenAI API key is missing.' });
  });

  it('looks through the ai package RetryError to the last attempt', () => {
    const retryError = Object.assign(new Error('Failed after 3 attempts'), { name: 'AI_RetryError', lastError: apiError(503) });
    assert.equal(classifyModelError(retryError).kind, 'server_error');
  });

  it('returns the failure a ModelCallError already carries', () => {
    const failure = { kind: 'malformed' as const, retryable: true, message: 'no content' };
    assert.equal(classifyModelError(new ModelCallError(failure)), failure);
  });
});

describe('retryAfterMs', () => {
  it('reads milliseconds, seconds and HTTP dates, preferring milliseconds', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(retryAfterMs({ 'retry-after-ms': '250.5' }, now), 250.5);
    assert.equal(retryAfterMs({ 'retry-after': '7' }, now), 7000);
    assert.equal(retryAfterMs({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }, now), 30_000);
    assert.equal(retryAfterMs({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }, now), 0);
    assert.equal(retryAfterMs({ 'retry-after': 'soon' }, now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
});

describe('mayBeBilled', () => {
  const cases: [string, unknown, boolean][] = [
    ['429', apiError(429), false],
    ['401', apiError(401), false],
    ['400', apiError(400), false],
    ['408', apiError(408), false],
    ['503 overloaded', apiError(503), false],
    ['529 overloaded', apiError(529), false],
    ['500', apiError(500), true],
    ['502', apiError(502), true],
    ['504', apiError(504), true],
    ['a missing API key (thrown before sending)', new LoadAPIKeyError({ message: 'no key' }), false],
    ['a connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false],
    ['a DNS failure', apiError(undefined, { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) }), false],
    ['a connection reset after sending', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
    ['a timeout after sending', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    ['a 200 with a malformed body', new JSONParseError({ text: '{', cause: new SyntaxError('bad') }), true],
    ['an abort mid-call', Object.assign(new Error('aborted'), { name: 'AbortError' }), true],
    ['anything else thrown', new Error('a bug in a custom provider'), true],
  ];
  for (const [what, error, billed] of cases) {
    it(`says ${what} ${billed ? 'may have been billed' : 'was not billed'}`, () => {
      assert.equal(mayBeBilled(classifyModelError(error), error), billed);
    });
  }

  it('refusals that never reached the provider are free', () => {
    assert.equal(mayBeBilled({ kind: 'breaker_open', retryable: true, message: 'open' }), false);
    assert.equal(mayBeBilled({ kind: 'retry_budget', retryable: false, message: 'spent' }), false);
  });
});
