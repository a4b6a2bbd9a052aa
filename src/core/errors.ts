/**
 * One error root for everything Warden throws. The `code` is a stable string that survives
 * serialization (HTTP bodies, CLI JSON, the event log), so callers check codes, not classes:
 *
 * @example
 * try { await warden.run(agent, 'hi') } catch (e) { if (isWardenError(e, 'BUDGET_EXCEEDED')) … }
 */

/** Who is at fault decides how an error is reported and whether retrying can help. */
export type ErrorFault = 'user' | 'model' | 'tool' | 'system' | 'policy';

export interface ErrorSpec {
  fault: ErrorFault;
  /** HTTP status the server answers with. */
  http: number;
  /** Process exit code the CLI ends with. */
  exit: number;
}

/** The single table that maps every code to its HTTP status and CLI exit code. */
export const ERROR_CODES = {
  INVALID_CONFIG: { fault: 'user', http: 400, exit: 2 },
  INVALID_ARGUMENT: { fault: 'user', http: 400, exit: 2 },
  AGENT_LOAD_FAILED: { fault: 'user', http: 400, exit: 2 },
  UNKNOWN_MODEL_PRICE: { fault: 'user', http: 400, exit: 2 },
  NOT_FOUND: { fault: 'user', http: 404, exit: 2 },
  CONFLICT: { fault: 'system', http: 409, exit: 1 },
  PAYLOAD_TOO_LARGE: { fault: 'user', http: 413, exit: 2 },
  UNAUTHENTICATED: { fault: 'user', http: 401, exit: 2 },
  FORBIDDEN: { fault: 'policy', http: 403, exit: 2 },
  QUEUE_FULL: { fault: 'system', http: 429, exit: 1 },
  RATE_LIMITED: { fault: 'system', http: 429, exit: 1 },
  BREAKER_OPEN: { fault: 'system', http: 503, exit: 1 },
  HALTED: { fault: 'policy', http: 409, exit: 6 },
  /** An approval's deadline passed before the decision: it expired (denied or escalated) and cannot be approved. */
  APPROVAL_EXPIRED: { fault: 'policy', http: 409, exit: 1 },
  UNKNOWN_TOOL: { fault: 'model', http: 422, exit: 1 },
  INVALID_TOOL_ARGS: { fault: 'model', http: 422, exit: 1 },
  MALFORMED_MODEL_OUTPUT: { fault: 'model', http: 502, exit: 1 },
  MODEL_CALL_FAILED: { fault: 'model', http: 502, exit: 1 },
  TOOL_FAILED: { fault: 'tool', http: 502, exit: 1 },
  TOOL_TIMEOUT: { fault: 'tool', http: 504, exit: 1 },
  /** A tool's `costUsd` function threw or gave no valid price: the call failed unreserved, unrun. */
  TOOL_COST_INVALID: { fault: 'tool', http: 502, exit: 1 },
  BUDGET_EXCEEDED: { fault: 'policy', http: 402, exit: 3 },
  /** A fleet budget (`budgets` on createWarden) has no room left in its window: new runs are refused, running ones stop. */
  BUDGET_EXHAUSTED: { fault: 'policy', http: 429, exit: 7 },
  /**
   * A reservation would take a conversation past `limits.maxConversationCostUsd` (every turn's spend
   * together): the commit is refused whole and the turn stops with `conversation_ceiling`.
   */
  CONVERSATION_CEILING: { fault: 'policy', http: 402, exit: 3 },
  /** A message past `limits.maxConversationTurns`, or to a conversation that was cancelled: refused, nothing written. */
  CONVERSATION_CLOSED: { fault: 'policy', http: 409, exit: 8 },
  /** A budget to store (`warden budgets set`, PUT /v1/budgets) is malformed: bad scope, window, maximum or alert fractions. */
  INVALID_BUDGET: { fault: 'user', http: 400, exit: 2 },
  /** A content guard blocked a tool's result (the call fails with it and the run stops with `guard_blocked`). */
  GUARD_BLOCKED: { fault: 'policy', http: 422, exit: 3 },
  STALE_WRITER: { fault: 'system', http: 409, exit: 1 },
  LEASE_HELD: { fault: 'system', http: 409, exit: 1 },
  STORE_UNAVAILABLE: { fault: 'system', http: 503, exit: 1 },
  STORE_CORRUPT: { fault: 'system', http: 500, exit: 1 },
  INTERNAL: { fault: 'system', http: 500, exit: 1 },
  /** A callback of the agent or its tools (schema transform, lockKey, compensate, a rule…) threw. */
  CALLBACK_FAILED: { fault: 'user', http: 500, exit: 1 },
  /** A webhook endpoint did not accept a message (`warden webhooks test`): refused, timed out or not 2xx. */
  WEBHOOK_FAILED: { fault: 'system', http: 502, exit: 1 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorContext {
  runId?: string;
  step?: number;
  tool?: string;
  [key: string]: unknown;
}

/** The root of every error Warden throws on purpose. */
export class WardenError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WardenError';
    this.code = code;
    this.context = options.context ?? {};
  }

  get fault(): ErrorFault {
    return ERROR_CODES[this.code].fault;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** The shape sent over HTTP, printed by `--json` and stored in events. */
  toJSON(): { code: ErrorCode; message: string; context: ErrorContext } {
    return { code: this.code, message: this.message, context: this.context };
  }
}

/**
 * True when `e` is a Warden error (optionally with the given code). Works on plain objects that
 * crossed a process boundary, since it checks the code, not the class.
 */
export function isWardenError(e: unknown, code?: ErrorCode): e is WardenError {
  if (e === null || typeof e !== 'object') return false;
  let c: unknown;
  try {
    c = (e as { code?: unknown }).code;
  } catch {
    return false; // a revoked Proxy, or a `code` getter that throws: not one of ours
  }
  if (typeof c !== 'string' || !Object.hasOwn(ERROR_CODES, c)) return false;
  return code === undefined || c === code;
}

/**
 * Short, one-line description of any thrown value, for traces and logs. It never throws itself:
 * a revoked Proxy, a `message` getter or `toString` that throws, a Symbol, null — each gets words.
 *
 * @example
 * describeError(new Error('boom')); // 'boom'
 * describeError(Symbol('x'));       // 'Symbol(x)'
 */
export function describeError(e: unknown): string {
  try {
    if (typeof e === 'string') return e;
    if (typeof e === 'symbol') return e.toString();
    if (e instanceof Error) {
      const message: unknown = e.message;
      if (typeof message === 'string' && message !== '') return message;
      const name: unknown = e.name;
      return typeof name === 'string' && name !== '' ? name : 'Error';
    }
    const json = JSON.stringify(e);
    if (typeof json === 'string') return json;
    return String(e);
  } catch {
    try {
      return String(e);
    } catch {
      return `a thrown ${typeof e} that cannot be described (its getters or toString throw, or it is a revoked Proxy)`;
    }
  }
}

/**
 * `value`, or an INTERNAL error when it is missing. For a lookup that an invariant guarantees
 * (a call the folded state must hold, the record just written), so that a miss — a Warden bug —
 * fails with a clear code and message instead of a TypeError further on.
 */
export function mustExist<T>(value: T, what: string): NonNullable<T> {
  if (value === undefined || value === null) throw new WardenError('INTERNAL', `Invariant broken: ${what} is missing`);
  return value;
}
