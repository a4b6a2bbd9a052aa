import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { DEFAULT_LIMITS } from '../../../src/core/limits.ts';
import { isWardenError, type ErrorCode, type WardenError } from '../../../src/core/errors.ts';
import { newEvent, type AnyNewEvent, type AnyRunEvent, type RunStatus } from '../../../src/core/events.ts';
import type { NewIntervention, NewRun, Store } from '../../../src/core/ports/store.ts';

/**
 * Builders and helpers shared by the conformance sections. Every test uses fresh, random ids (and
 * a tenant of its own when it lists), so the suite also passes on a database other tests share.
 */

/** Declares a test that gets a fresh store and always closes it. */
export type StoreTest = (title: string, body: (store: Store) => Promise<void>) => void;

export interface ConformanceContext {
  test: StoreTest;
  /** Opens a second connection to the database behind `store`, when the adapter can. */
  reopen?: (store: Store) => Promise<Store>;
}

export function storeTest(makeStore: () => Promise<Store>): StoreTest {
  return (title, body) =>
    it(title, async () => {
      const store = await makeStore();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
}

export function uid(prefix = 'run'): string {
  return `${prefix}-${randomUUID()}`;
}

export interface RunSpec {
  runId?: string;
  agent?: string;
  tenant?: string;
  input?: string;
  parentRunId?: string | null;
  rootRunId?: string;
  ceilingNano?: number;
  status?: RunStatus;
  createdAt?: number;
  conversation?: NewRun['conversation'];
}

/** A `NewRun` (root unless `rootRunId` says otherwise) with a well-formed `run.submitted`. */
export function newRun(spec: RunSpec = {}): NewRun {
  const runId = spec.runId ?? uid();
  const rootRunId = spec.rootRunId ?? runId;
  const agent = spec.agent ?? 'support';
  const tenant = spec.tenant ?? 'acme';
  const input = spec.input ?? 'Where is my order?';
  const parentRunId = spec.parentRunId ?? (rootRunId === runId ? null : rootRunId);
  const createdAt = spec.createdAt ?? Date.now();
  return {
    runId,
    agent,
    tenant,
    input,
    parentRunId,
    rootRunId,
    ceilingNano: spec.ceilingNano ?? 1_000_000,
    status: spec.status ?? 'queued',
    createdAt,
    ...(spec.conversation ? { conversation: spec.conversation } : {}),
    submitted: newEvent(
      'run.submitted',
      {
        agent,
        input,
        tenant,
        limits: { ...DEFAULT_LIMITS },
        rootRunId,
        parentRunId,
        ...(spec.conversation ? { conversation: { id: spec.conversation.conversationId, turn: spec.conversation.turn } } : {}),
        model: { provider: 'simulated', modelId: 'sim-1', inputPerMTok: 1, outputPerMTok: 2 },
      },
      createdAt,
    ),
  };
}

/** Creates a run and returns what was asked for. */
export async function createRun(store: Store, spec: RunSpec = {}): Promise<NewRun> {
  const run = newRun(spec);
  await store.createRun(run);
  return run;
}

export function limitHit(detail = 'step limit'): AnyNewEvent {
  return newEvent('limit.hit', { limit: 'max_steps', detail });
}

export function toolDenied(callId = uid('call')): AnyNewEvent {
  return newEvent('tool.denied', { callId, tool: 'refund', by: 'policy', reason: 'tier delete needs approval' });
}

export function cancelRequested(by = 'ops'): AnyNewEvent {
  return newEvent('cancel.requested', { by, reason: 'customer withdrew' });
}

export function approvalRequest(overrides: Partial<NewIntervention> = {}): NewIntervention {
  return {
    id: uid('appr'),
    kind: 'approval',
    callId: uid('call'),
    tool: 'refund',
    args: { orderId: 'o-1', amount: 250, note: 'ünïcødé ✓' },
    argsHash: 'sha256:abc',
    reason: 'refunds above 100 need a person',
    evidence: { confidence: 0.42, signals: ['amount'] },
    requestedAt: Date.now(),
    ...overrides,
  };
}

/** Asserts that `promise` rejects with a Warden error of `code`, and returns it for more checks. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<WardenError> {
  let caught: unknown;
  await assert.rejects(promise, (e) => {
    caught = e;
    return true;
  });
  assert.ok(isWardenError(caught, code), `expected a WardenError ${code}, got ${describe(caught)}`);
  return caught as WardenError;
}

function describe(e: unknown): string {
  if (isWardenError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

export function seqs(events: AnyRunEvent[]): number[] {
  return events.map((e) => e.seq);
}

/** Contiguous 1..n. */
export function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

export { seededRandom } from '../../../src/model/seeded-random.ts';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until the clock the stores compare expiries with (`Date.now()`) is past `at`: how a test
 * lets a lease or a lock lapse without a sleep that hopes it was long enough.
 */
export async function clockPast(at: number, timeoutMs = 5_000): Promise<void> {
  if (at - Date.now() > timeoutMs) throw new Error(`expiry ${at} is more than ${timeoutMs} ms away`);
  while (Date.now() <= at) await sleep(1);
}
