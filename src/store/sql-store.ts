import { WardenError } from '../core/errors.ts';
import type { AnyNewEvent, AnyRunEvent } from '../core/events.ts';
import {
  DEFAULT_LIST_LIMIT,
  runMode,
  type BudgetRecord,
  type ConversationFilter,
  type ConversationRecord,
  type FleetBudgetRecord,
  type StoredBudgetRecord,
  type ClaimOptions,
  type DeleteExpiredOptions,
  type ExpiredTree,
  type ExpiryCutoffs,
  type ExpiryReport,
  type ExpirySummary,
  type ListExpiredOptions,
  type CommitBatch,
  type ExternalAppendOptions,
  type InterventionFilter,
  type InterventionRecord,
  type LockAttempt,
  type NewRun,
  type RunFilter,
  type RunRecord,
  type NewWebhookEndpoint,
  type Store,
  type WebhookAttempt,
  type WebhookEndpoint,
  type WebhookEventType,
  type WebhookMessage,
  type WebhookMessageFilter,
} from '../core/ports/store.ts';
import type { Dialect, RunQuery } from './dialect.ts';
import {
  checkBudgetOps,
  checkClaim,
  checkDecision,
  checkEvents,
  checkInterventions,
  checkNewRun,
  checkRecordKey,
  checkRunPatch,
  checkStoredBudget,
  checkTtl,
  requireInteger,
} from './input-checks.ts';
import { encodeJson, toBudgetRecord, toConversationRecord, toInterventionRecord, toRunEvent, toRunRecord } from './rows.ts';
import { rootWithoutBudget, runExists, turnRefused } from './store-errors.ts';
import { checkEndpoint, toWebhookEndpoint, toWebhookMessage } from './webhook-rows.ts';
import { deleteExpiredRuns, listExpiredRuns, summarizeExpired } from './retention-steps.ts';
import { appendStep, commitStep } from './write-steps.ts';

/**
 * The `Store` port over any SQL `Dialect`: the checks on what it is asked to write, the times and
 * rounding, the errors, the listings' filters and the records' JSON. The SQLite and PostgreSQL
 * stores are this class with their dialect (and what only one of them offers).
 */
export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  protected readonly dialect: Dialect;
  #closed = false;

  constructor(dialect: Dialect) {
    this.dialect = dialect;
    this.kind = dialect.kind;
  }

  async createRun(run: NewRun): Promise<void> {
    return this.use(`Creating run ${run.runId}`, async () => {
      checkNewRun(run);
      const e = run.submitted;
      const outcome = await this.dialect.createRun(run, runMode(run), encodeJson(e.data, `The data of ${e.type} event`));
      if (outcome === 'exists') throw runExists(run.runId);
      if (outcome === 'no-root-budget') throw rootWithoutBudget(run.runId, run.rootRunId);
      if (outcome !== 'created' && run.conversation) throw turnRefused(run.runId, run.conversation.conversationId, run.conversation.turn, outcome);
      if (run.status === 'queued') this.dialect.announce(run.runId);
    });
  }

  /**
   * Not `async`, and not through `use`: the commit is the hottest call of a run, and on SQLite a
   * promise fewer per commit is measurable. Errors are mapped as `use` maps them.
   */
  commit(batch: CommitBatch): Promise<void> {
    const runId = batch?.runId;
    try {
      this.#checkOpen(`Commit to run ${runId}`);
      requireInteger(batch.expectedSeq, 'expectedSeq', 0, { runId });
      checkEvents(batch.events, runId);
      checkRunPatch(batch.run, runId);
      checkBudgetOps(batch.budget, runId);
      checkInterventions(batch.interventions, runId);
      return this.dialect
        .commit(batch, (tx) => commitStep(tx, batch, Date.now()))
        .then(undefined, (e: unknown) => {
          throw this.dialect.toStoreError(e, `Commit to run ${runId}`);
        });
    } catch (e) {
      return Promise.reject(this.dialect.toStoreError(e, `Commit to run ${runId}`));
    }
  }

  async appendExternal(runId: string, events: AnyNewEvent[], options: ExternalAppendOptions = {}): Promise<number> {
    return this.use(`External append to run ${runId}`, async () => {
      checkEvents(events, runId);
      checkRunPatch(options.run, runId);
      checkDecision(options.intervention, runId);
      checkInterventions(options.interventions, runId);
      const lastSeq = await this.dialect.transaction((tx) => appendStep(tx, runId, events, options, Date.now()));
      if (options.run?.status === 'queued') this.dialect.announce(runId);
      return lastSeq;
    });
  }

  async loadEvents(runId: string, afterSeq = 0): Promise<AnyRunEvent[]> {
    return this.use(`Loading events of run ${runId}`, async () => {
      requireInteger(afterSeq, 'afterSeq', 0, { runId });
      return (await this.dialect.events(runId, afterSeq)).map((row) => toRunEvent(runId, row));
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.use(`Reading run ${runId}`, async () => {
      const row = await this.dialect.run(runId);
      return row && toRunRecord(row);
    });
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.use('Listing runs', async () => {
      const query: RunQuery = { equals: [], limit: 0 };
      for (const [column, value] of [
        ['agent', filter.agent],
        ['tenant', filter.tenant],
        ['stop_reason', filter.stopReason],
        ['root_run_id', filter.rootRunId],
        ['mode', filter.mode],
        ['conversation_id', filter.conversationId],
      ] as const) {
        if (value !== undefined) query.equals.push([column, value]);
      }
      if (Array.isArray(filter.status)) {
        if (filter.status.length === 0) return [];
        query.statusIn = filter.status;
      } else if (filter.status !== undefined) {
        query.equals.push(['status', filter.status]);
      }
      if (filter.since !== undefined) query.since = requireInteger(filter.since, 'since', 0);
      if (filter.withoutText === true) query.withoutText = true;
      query.limit = requireInteger(filter.limit ?? DEFAULT_LIST_LIMIT, 'limit', 1);
      return (await this.dialect.runs(query)).map(toRunRecord);
    });
  }

  async getBudget(rootRunId: string): Promise<BudgetRecord | undefined> {
    return this.use(`Reading the budget of run ${rootRunId}`, async () => {
      const row = await this.dialect.budget(rootRunId);
      return row && toBudgetRecord(row);
    });
  }

  async claimFleetAlert(key: string, threshold: number): Promise<boolean> {
    return this.use(`Claiming the ${threshold} alert of fleet budget ${key}`, async () => this.dialect.claimFleetAlert(key, threshold));
  }

  async listStoredBudgets(): Promise<StoredBudgetRecord[]> {
    return this.use('Reading stored budgets', async () =>
      (await this.dialect.storedBudgets()).map((r) => ({
        scope: r.scope,
        window: r.budget_window,
        limitNano: Number(r.limit_nano),
        alertAt: parseAlertAt(r.alert_at),
        updatedAt: Number(r.updated_at),
      })),
    );
  }

  async putStoredBudget(budget: StoredBudgetRecord): Promise<void> {
    checkStoredBudget(budget);
    const alertAt = [...budget.alertAt].sort((a, b) => a - b);
    return this.use(`Storing the ${budget.window} budget of ${budget.scope}`, async () =>
      this.dialect.putStoredBudget(budget.scope, budget.window, budget.limitNano, JSON.stringify(alertAt), budget.updatedAt),
    );
  }

  async removeStoredBudgets(scope: string, window?: string): Promise<number> {
    if (typeof scope !== 'string' || scope === '') throw new WardenError('INVALID_ARGUMENT', `scope must be a non-empty string, got ${JSON.stringify(scope)}`);
    return this.use(`Removing the stored budgets of ${scope}`, async () => this.dialect.removeStoredBudgets(scope, window));
  }

  async getFleetBudgets(keys: readonly string[]): Promise<FleetBudgetRecord[]> {
    return this.use('Reading fleet budgets', async () =>
      (await this.dialect.fleetBudgets(keys)).map((r) => ({
        key: r.key,
        limitNano: Number(r.limit_nano),
        spentNano: Number(r.spent_nano),
        reservedNano: Number(r.reserved_nano),
      })),
    );
  }

  async getConversation(conversationId: string): Promise<ConversationRecord | undefined> {
    return this.use(`Reading conversation ${conversationId}`, async () => {
      const row = await this.dialect.conversation(conversationId);
      return row && toConversationRecord(row);
    });
  }

  async listConversations(filter: ConversationFilter = {}): Promise<ConversationRecord[]> {
    return this.use('Listing conversations', async () => {
      const equals: [string, string][] = [];
      for (const [column, value] of [
        ['tenant', filter.tenant],
        ['agent', filter.agent],
        ['status', filter.status],
      ] as const) {
        if (value !== undefined) equals.push([column, value]);
      }
      const limit = requireInteger(filter.limit ?? DEFAULT_LIST_LIMIT, 'limit', 1);
      return (await this.dialect.conversations({ equals, limit })).map(toConversationRecord);
    });
  }

  async closeConversation(conversationId: string, at: number): Promise<boolean> {
    return this.use(`Closing conversation ${conversationId}`, async () => this.dialect.closeConversation(conversationId, requireInteger(at, 'at', 0)));
  }

  async listInterventions(filter: InterventionFilter = {}): Promise<InterventionRecord[]> {
    return this.use('Listing interventions', async () => {
      const equals: [string, string][] = [];
      for (const [column, value] of [
        ['kind', filter.kind],
        ['status', filter.status],
        ['run_id', filter.runId],
        ['tenant', filter.tenant],
        ['agent', filter.agent],
      ] as const) {
        if (value !== undefined) equals.push([column, value]);
      }
      const limit = requireInteger(filter.limit ?? DEFAULT_LIST_LIMIT, 'limit', 1);
      const since = filter.since === undefined ? {} : { since: requireInteger(filter.since, 'since', 0) };
      const expiresBy = filter.expiresBy === undefined ? {} : { expiresBy: requireInteger(filter.expiresBy, 'expiresBy', 0) };
      return (await this.dialect.interventions({ equals, limit, ...since, ...expiresBy })).map(toInterventionRecord);
    });
  }

  async getIntervention(id: string): Promise<InterventionRecord | undefined> {
    return this.use(`Reading intervention ${id}`, async () => {
      const row = await this.dialect.intervention(id);
      return row && toInterventionRecord(row);
    });
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, options: { force?: boolean } = {}): Promise<boolean> {
    return this.use(`Taking the lease of run ${runId}`, () => {
      checkTtl(ttlMs, runId);
      const now = Date.now();
      return this.dialect.acquireLease(runId, owner, Math.ceil(now + ttlMs), options.force === true, now);
    });
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    return this.use(`Releasing the lease of run ${runId}`, () => this.dialect.releaseLease(runId, owner));
  }

  async renewLease(runId: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.use(`Renewing the lease of run ${runId}`, () => {
      checkTtl(ttlMs, runId);
      return this.dialect.renewLease(runId, owner, Math.ceil(Date.now() + ttlMs));
    });
  }

  async claimRuns(worker: string, options: ClaimOptions): Promise<RunRecord[]> {
    return this.use(`Claiming runs for ${worker}`, async () => {
      checkClaim(worker, options);
      const agents = options.agents ?? null;
      if (agents && agents.length === 0) return [];
      const now = Date.now();
      const rows = await this.dialect.claim(worker, Math.ceil(now + options.leaseMs), now, options.limit, agents);
      return rows.map(toRunRecord).sort((a, b) => a.createdAt - b.createdAt);
    });
  }

  async watchRunnable(listener: (runId: string) => void): Promise<() => Promise<void>> {
    return this.use('Watching for runnable runs', () => this.dialect.watch(listener));
  }

  async acquireLock(key: string, holder: string, ttlMs: number, options: { force?: boolean } = {}): Promise<LockAttempt> {
    return this.use(`Taking the lock "${key}"`, async () => {
      if (typeof key !== 'string' || key.length === 0 || key.length > 512) {
        throw new WardenError('INVALID_ARGUMENT', `A lock key must be a string of 1 to 512 characters, got ${JSON.stringify(key)}`);
      }
      checkTtl(ttlMs);
      const now = Date.now();
      if (await this.dialect.acquireLock(key, holder, Math.ceil(now + ttlMs), options.force === true, now)) return { acquired: true };
      const row = await this.dialect.lock(key);
      return row ? { acquired: false, holder: row.holder, expiresAt: Number(row.expires_at) } : { acquired: false, holder: '', expiresAt: 0 };
    });
  }

  async releaseLock(key: string, holder: string): Promise<void> {
    return this.use(`Releasing the lock "${key}"`, () => this.dialect.releaseLock(key, holder));
  }

  async getRecord(ns: string, key: string): Promise<unknown> {
    return this.use(`Reading record ${ns}/${key}`, async () => {
      const text = await this.dialect.getRecord(ns, key);
      return text === undefined ? undefined : JSON.parse(text);
    });
  }

  async putRecord(ns: string, key: string, value: unknown, options: { ifAbsent?: boolean } = {}): Promise<{ stored: boolean; value: unknown }> {
    return this.use(`Writing record ${ns}/${key}`, async () => {
      checkRecordKey(ns, key);
      const text = encodeJson(value, `Record ${ns}/${key}`);
      const ifAbsent = options.ifAbsent === true;
      if ((await this.dialect.putRecord(ns, key, text, Date.now(), ifAbsent)) || !ifAbsent) return { stored: true, value };
      return { stored: false, value: JSON.parse((await this.dialect.getRecord(ns, key)) as string) };
    });
  }

  async listRecords(ns: string): Promise<{ key: string; value: unknown }[]> {
    return this.use(`Listing records ${ns}`, async () => (await this.dialect.listRecords(ns)).map((r) => ({ key: r.key, value: JSON.parse(r.value) })));
  }

  async deleteRecord(ns: string, key: string): Promise<boolean> {
    return this.use(`Deleting record ${ns}/${key}`, () => this.dialect.deleteRecord(ns, key));
  }

  async addWebhookEndpoint(endpoint: NewWebhookEndpoint): Promise<WebhookEndpoint> {
    return this.use(`Adding webhook endpoint ${endpoint?.id}`, async () => {
      checkEndpoint(endpoint);
      requireInteger(endpoint.createdAt, 'createdAt');
      const row = { ...endpoint, events: endpoint.events.join(','), enabled: 1, created_at: endpoint.createdAt };
      if (!(await this.dialect.addWebhookEndpoint(row))) throw new WardenError('CONFLICT', `A webhook endpoint with id ${endpoint.id} exists already`);
      return toWebhookEndpoint(row);
    });
  }

  async listWebhookEndpoints(): Promise<WebhookEndpoint[]> {
    return this.use('Listing webhook endpoints', async () => (await this.dialect.webhookEndpoints()).map(toWebhookEndpoint));
  }

  async removeWebhookEndpoint(id: string): Promise<boolean> {
    return this.use(`Removing webhook endpoint ${id}`, () => this.dialect.removeWebhookEndpoint(id));
  }

  async enqueueWebhook(type: WebhookEventType, key: string, payload: Record<string, unknown>): Promise<number> {
    return this.use(`Queuing ${type} for webhooks`, () => {
      const message = { key, type, payload: encodeJson(payload, `The webhook payload of ${type}`), now: Date.now() };
      return this.dialect.transaction((tx) => tx.enqueueWebhooks(message));
    });
  }

  async claimWebhookMessages(limit: number, leaseMs: number): Promise<WebhookMessage[]> {
    return this.use('Claiming webhook messages', async () => {
      requireInteger(limit, 'limit', 1);
      checkTtl(leaseMs);
      const now = Date.now();
      const rows = await this.dialect.claimWebhookMessages(now, Math.ceil(now + leaseMs), limit);
      return rows.map(toWebhookMessage).sort((a, b) => a.createdAt - b.createdAt);
    });
  }

  async recordWebhookAttempt(id: string, outcome: WebhookAttempt): Promise<void> {
    return this.use(`Recording an attempt of webhook message ${id}`, () => {
      if (outcome.delivered) return this.dialect.recordWebhookAttempt(id, Date.now(), null, outcome.status, null);
      const retryAt = outcome.retryAt === null ? null : requireInteger(outcome.retryAt, 'retryAt');
      return this.dialect.recordWebhookAttempt(id, null, retryAt, outcome.status, outcome.error.slice(0, 2000));
    });
  }

  async listWebhookMessages(filter: WebhookMessageFilter = {}): Promise<WebhookMessage[]> {
    return this.use('Listing webhook messages', async () => {
      const limit = requireInteger(filter.limit ?? DEFAULT_LIST_LIMIT, 'limit', 1);
      return (await this.dialect.webhookMessages(filter.endpointId ?? null, filter.pending ?? null, filter.failed ?? null, limit)).map(toWebhookMessage);
    });
  }
  async settledWebhookMessages(before: number, options: { remove: false } | { remove: true; limit: number }): Promise<number> {
    requireInteger(before, 'before (ms since the epoch)');
    const limit = options.remove ? requireInteger(options.limit, 'limit', 1) : 0;
    return this.use(options.remove ? 'Deleting settled webhook messages' : 'Counting settled webhook messages', () =>
      this.dialect.settledWebhookMessages(before, options.remove, limit),
    );
  }

  async summarizeExpired(cutoffs: ExpiryCutoffs): Promise<ExpirySummary[]> {
    return this.use('Summarizing expired runs', () => summarizeExpired(this.dialect, cutoffs));
  }

  async listExpiredRuns(cutoffs: ExpiryCutoffs, options?: ListExpiredOptions): Promise<ExpiredTree[]> {
    return this.use('Listing expired runs', () => listExpiredRuns(this.dialect, cutoffs, options));
  }

  async deleteExpiredRuns(cutoffs: ExpiryCutoffs, options?: DeleteExpiredOptions): Promise<ExpiryReport> {
    return this.use('Deleting expired runs', () => deleteExpiredRuns(this.dialect, cutoffs, options));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.dialect.close();
  }

  /**
   * Runs `fn` on an open store and turns anything untyped it throws into a store error. `fn`
   * starts at once (on SQLite it runs to the end before this returns).
   */
  protected async use<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    this.#checkOpen(what);
    try {
      return await fn();
    } catch (e) {
      throw this.dialect.toStoreError(e, what);
    }
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new WardenError('STORE_UNAVAILABLE', `${what} failed: ${this.dialect.where} is closed`);
  }
}

/** A stored budget's `alert_at` column: a JSON array of fractions (anything else reads as none). */
function parseAlertAt(text: string): number[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((a): a is number => typeof a === 'number') : [];
}
