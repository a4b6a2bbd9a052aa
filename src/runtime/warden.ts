import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Agent } from '../agent/agent.ts';
import { WardenError } from '../errors.ts';
import { resolvePricing, usdToNano } from '../model/pricing.ts';
import type { InterventionRecord, Store } from '../store/store.ts';
import { hashValue } from './canonical.ts';
import { sleep as defaultSleep } from './backoff.ts';
import { type AnyNewEvent, type AnyRunEvent, newEvent, PARKED_STATUSES, TERMINAL_STATUSES } from './events.ts';
import { foldRun } from './fold.ts';
import { RunContext } from './run-context.ts';
import { driveRun } from './run-loop.ts';
import { toRunResult, type RunResult } from './run-result.ts';

export interface WardenOptions {
  store: Store;
  /** Identifies this process in leases and traces. Default `host:pid:random`. */
  worker?: string;
  /** How long a lease lasts without a heartbeat. Default 30 s. */
  leaseTtlMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Draws the backoff jitter (default `Math.random`); a rehearsal seeds it so a seed replays exactly. */
  random?: () => number;
  /** Every committed event, as it is committed. */
  onEvent?: (event: AnyRunEvent) => void;
}

export interface SubmitOptions {
  tenant?: string;
  runId?: string;
  /** Absolute path of the agent module, so `warden resume` can load it. */
  agentFile?: string;
}

export interface ExecuteOptions {
  /** Take the run over even if another live worker seems to hold it. */
  force?: boolean;
}

export interface ApprovalDecision {
  by: string;
  reason?: string;
}

export interface EscalationDecision {
  decision: 'approve' | 'edit' | 'takeover' | 'stop';
  by: string;
  reason?: string;
  /** New arguments, with `edit`. */
  args?: unknown;
  /** The final answer, with `takeover`. */
  output?: string;
}

export function newRunId(): string {
  return `run_${randomBytes(8).toString('hex')}`;
}

/**
 * The runtime: submits runs to a store and drives them. Embedded use needs nothing else:
 *
 * @example
 * const warden = createWarden({ store: createSqliteStore({ path: '.warden/warden.db' }) });
 * const result = await warden.run(agent, 'Where is order 1042?');
 * if (result.status === 'waiting_approval') await warden.approve(result.pending!.id, { by: 'ana' });
 */
export class Warden {
  readonly store: Store;
  readonly worker: string;
  private readonly leaseTtlMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly onEvent?: (event: AnyRunEvent) => void;
  private readonly random?: () => number;
  private readonly active = new Map<string, AbortController>();

  constructor(options: WardenOptions) {
    this.store = options.store;
    this.worker = options.worker ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.onEvent = options.onEvent;
    this.random = options.random;
  }

  /** Records a new run (status `queued`) and returns its id. Nothing runs yet. */
  async submit(agent: Agent, input: string, options: SubmitOptions = {}): Promise<string> {
    if (typeof input !== 'string') throw new WardenError('INVALID_ARGUMENT', `input must be a string, got ${typeof input}`);
    const pricing = resolvePricing(agent.model, agent.pricing);
    const runId = options.runId ?? newRunId();
    const tenant = options.tenant ?? 'default';
    const at = this.now();
    const submitted = newEvent(
      'run.submitted',
      {
        agent: agent.name,
        input,
        tenant,
        limits: { ...agent.limits },
        rootRunId: runId,
        parentRunId: null,
        ...(options.agentFile ? { agentFile: options.agentFile } : {}),
        model: { provider: agent.model.provider, modelId: agent.model.modelId, inputPerMTok: pricing.inputPerMTok, outputPerMTok: pricing.outputPerMTok },
      },
      at,
    );
    await this.store.createRun({
      runId,
      agent: agent.name,
      tenant,
      input,
      parentRunId: null,
      rootRunId: runId,
      ceilingNano: usdToNano(agent.limits.maxCostUsd),
      status: 'queued',
      createdAt: at,
      submitted,
    });
    return runId;
  }

  /** Submits and drives a run until it ends or waits for a person. Never blocks on a person. */
  async run(agent: Agent, input: string, options: SubmitOptions = {}): Promise<RunResult> {
    const runId = await this.submit(agent, input, options);
    return this.execute(agent, runId);
  }

  /**
   * Drives a run from wherever its log says it is: a new run, a run whose approval was decided,
   * or a run whose process died (`resume`). Returns when it ends or parks.
   */
  async execute(agent: Agent, runId: string, options: ExecuteOptions = {}): Promise<RunResult> {
    await this.takeLease(runId, options.force === true);
    const controller = new AbortController();
    this.active.set(runId, controller);
    const heartbeat = setInterval(() => {
      this.store.acquireLease(runId, this.worker, this.leaseTtlMs).catch(() => {});
    }, Math.max(1_000, this.leaseTtlMs / 3));
    heartbeat.unref();
    try {
      const state = foldRun(await this.store.loadEvents(runId));
      if (state.agent !== agent.name) {
        throw new WardenError('INVALID_ARGUMENT', `Run ${runId} belongs to agent "${state.agent}", not "${agent.name}"`, { context: { runId } });
      }
      if (TERMINAL_STATUSES.has(state.status) || PARKED_STATUSES.has(state.status)) return toRunResult(state);
      const ctx = new RunContext({
        store: this.store,
        agent,
        pricing: resolvePricing(agent.model, agent.pricing),
        state,
        worker: this.worker,
        signal: controller.signal,
        now: this.now,
        sleep: this.sleep,
        random: this.random,
        onEvents: this.onEvent ? (events) => events.forEach(this.onEvent!) : undefined,
      });
      await driveRun(ctx);
      return toRunResult(ctx.state);
    } finally {
      clearInterval(heartbeat);
      this.active.delete(runId);
      await this.store.releaseLease(runId, this.worker).catch(() => {});
    }
  }

  /** Same as `execute`: continues a run whose process is gone, from its last committed event. */
  resume(agent: Agent, runId: string, options: ExecuteOptions = {}): Promise<RunResult> {
    return this.execute(agent, runId, options);
  }

  /** The run as its log says it is now. */
  async inspect(runId: string): Promise<RunResult> {
    return toRunResult(foldRun(await this.events(runId)));
  }

  async events(runId: string): Promise<AnyRunEvent[]> {
    const events = await this.store.loadEvents(runId);
    if (events.length === 0) throw new WardenError('NOT_FOUND', `No run with id "${runId}"`, { context: { runId } });
    return events;
  }

  /** Approves the exact arguments a waiting call was proposed with. The run can then go on. */
  approve(approvalId: string, decision: ApprovalDecision): Promise<InterventionRecord> {
    return this.decideApproval(approvalId, 'approved', decision);
  }

  deny(approvalId: string, decision: ApprovalDecision): Promise<InterventionRecord> {
    return this.decideApproval(approvalId, 'denied', decision);
  }

  private async decideApproval(id: string, verdict: 'approved' | 'denied', decision: ApprovalDecision): Promise<InterventionRecord> {
    const record = await this.pendingIntervention(id, 'approval', decision.by);
    const reason = decision.reason ?? '';
    const event = newEvent('approval.decided', {
      approvalId: id,
      callId: record.callId!,
      decision: verdict,
      by: decision.by,
      reason,
      argsHash: record.argsHash!,
    }, this.now());
    await this.store.appendExternal(record.runId, [event], {
      run: { status: 'queued' },
      intervention: { id, status: verdict, decidedBy: decision.by, decisionReason: reason, decidedAt: event.at },
    });
    return (await this.store.getIntervention(id))!;
  }

  /** A person's answer to an escalation: run the step, run it with edited arguments, answer instead, or stop. */
  async decideEscalation(id: string, decision: EscalationDecision): Promise<InterventionRecord> {
    const record = await this.pendingIntervention(id, 'escalation', decision.by);
    const reason = decision.reason ?? '';
    const at = this.now();
    const events: AnyNewEvent[] = [];
    const data = { escalationId: id, decision: decision.decision, by: decision.by, reason };
    switch (decision.decision) {
      case 'approve':
        events.push(newEvent('escalation.decided', data, at));
        break;
      case 'edit':
        if (decision.args === undefined) throw new WardenError('INVALID_ARGUMENT', 'An edit needs the new arguments');
        events.push(newEvent('escalation.decided', { ...data, args: decision.args, argsHash: hashValue(decision.args) }, at));
        break;
      case 'takeover':
        if (typeof decision.output !== 'string') throw new WardenError('INVALID_ARGUMENT', 'A takeover needs the final answer (output)');
        events.push(newEvent('escalation.decided', { ...data, output: decision.output }, at));
        events.push(newEvent('run.completed', { output: decision.output }, at));
        break;
      case 'stop':
        events.push(newEvent('escalation.decided', data, at));
        events.push(newEvent('run.cancelled', { by: decision.by, reason: reason || 'stopped at escalation' }, at));
        break;
      default:
        throw new WardenError('INVALID_ARGUMENT', `Unknown escalation decision ${JSON.stringify((decision as { decision: unknown }).decision)}`);
    }
    const status = decision.decision === 'takeover' ? 'completed' : decision.decision === 'stop' ? 'cancelled' : 'queued';
    await this.store.appendExternal(record.runId, events, {
      run: { status, ...(decision.decision === 'takeover' ? { output: decision.output } : {}), ...(status === 'cancelled' ? { stopReason: 'cancelled' } : {}) },
      intervention: { id, status: 'decided', decidedBy: decision.by, decisionReason: `${decision.decision}${reason ? `: ${reason}` : ''}`, decidedAt: at },
    });
    return (await this.store.getIntervention(id))!;
  }

  private async pendingIntervention(id: string, kind: 'approval' | 'escalation', by: string): Promise<InterventionRecord> {
    if (typeof by !== 'string' || by.trim() === '') throw new WardenError('INVALID_ARGUMENT', 'A decision must say who made it (by)');
    const record = await this.store.getIntervention(id);
    if (!record) throw new WardenError('NOT_FOUND', `No ${kind} with id "${id}"`);
    if (record.kind !== kind) throw new WardenError('INVALID_ARGUMENT', `"${id}" is an ${record.kind}, not an ${kind}`);
    if (record.status !== 'pending') {
      throw new WardenError('CONFLICT', `${kind} "${id}" was already decided (${record.status} by ${record.decidedBy})`, { context: { runId: record.runId } });
    }
    return record;
  }

  /**
   * Cancels a run. A run this process is driving is aborted at once; a run parked or queued ends
   * cancelled right away; a run another worker drives stops at that worker's next step.
   */
  async cancel(runId: string, options: { by: string; reason?: string }): Promise<RunResult> {
    const state = foldRun(await this.events(runId));
    if (TERMINAL_STATUSES.has(state.status)) return toRunResult(state);
    const reason = options.reason ?? 'cancelled';
    const at = this.now();
    const events: AnyNewEvent[] = [newEvent('cancel.requested', { by: options.by, reason }, at)];
    const local = this.active.get(runId);
    const record = await this.store.getRun(runId);
    const heldElsewhere = !local && record?.leaseOwner && (record.leaseExpiresAt ?? 0) > at;
    if (!local && !heldElsewhere) events.push(newEvent('run.cancelled', { by: options.by, reason }, at));
    const pending = state.pending;
    await this.store.appendExternal(runId, events, {
      ...(events.length > 1 ? { run: { status: 'cancelled', stopReason: 'cancelled' } } : {}),
      ...(pending && events.length > 1
        ? { intervention: { id: pending.id, status: 'decided', decidedBy: options.by, decisionReason: `run cancelled: ${reason}`, decidedAt: at } }
        : {}),
    });
    local?.abort(new WardenError('CONFLICT', `Run ${runId} cancelled by ${options.by}`));
    return this.inspect(runId);
  }

  private async takeLease(runId: string, force: boolean): Promise<void> {
    if (await this.store.acquireLease(runId, this.worker, this.leaseTtlMs)) return;
    const record = await this.store.getRun(runId);
    if (!record) throw new WardenError('NOT_FOUND', `No run with id "${runId}"`, { context: { runId } });
    if (force || holderIsGone(record.leaseOwner)) {
      if (await this.store.acquireLease(runId, this.worker, this.leaseTtlMs, { force: true })) return;
    }
    throw new WardenError('LEASE_HELD', `Run ${runId} is being driven by ${record.leaseOwner}; use --force if that process is gone`, {
      context: { runId },
    });
  }
}

/** A lease held by a process on this machine that no longer exists can be taken over at once. */
function holderIsGone(owner: string | null): boolean {
  if (!owner) return true;
  const [host, pid] = owner.split(':');
  if (host !== hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function createWarden(options: WardenOptions): Warden {
  return new Warden(options);
}
