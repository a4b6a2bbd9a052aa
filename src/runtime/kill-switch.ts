import { WardenError } from '../core/errors.ts';
import type { Store } from '../core/ports/store.ts';

/** Where a kill switch applies: everything, one agent, or one tenant. */
export type SwitchScope = 'all' | `agent:${string}` | `tenant:${string}`;

export interface EngagedSwitch {
  scope: SwitchScope;
  by: string;
  reason: string;
  at: number;
}

const NS = 'kill-switch';

export function parseScope(scope: string): SwitchScope {
  if (scope === 'all' || /^(agent|tenant):.{1,200}$/.test(scope)) return scope as SwitchScope;
  throw new WardenError('INVALID_ARGUMENT', `A kill-switch scope is "all", "agent:NAME" or "tenant:NAME", got ${JSON.stringify(scope)}`);
}

/** The runs a scope covers, as `Warden.stop` takes them. */
export function switchTarget(scope: SwitchScope): { all: true } | { agent: string } | { tenant: string } {
  if (scope === 'all') return { all: true };
  return scope.startsWith('agent:') ? { agent: scope.slice('agent:'.length) } : { tenant: scope.slice('tenant:'.length) };
}

/** Engages a durable kill switch: until it is lifted, matching runs may not be submitted or resumed. */
export async function engageSwitch(store: Store, scope: SwitchScope, by: string, reason: string): Promise<EngagedSwitch> {
  const engaged: EngagedSwitch = { scope: parseScope(scope), by, reason, at: Date.now() };
  await store.putRecord(NS, scope, engaged);
  await announceSwitch(store, { engaged: true, ...engaged });
  return engaged;
}

export async function liftSwitch(store: Store, scope: SwitchScope): Promise<boolean> {
  const lifted = await store.deleteRecord(NS, parseScope(scope));
  if (lifted) await announceSwitch(store, { engaged: false, scope, at: Date.now() });
  return lifted;
}

/**
 * Queues `kill_switch.changed` for webhooks. A switch is a record, not a run event, so this is a
 * second write after it: a crash between the two loses the message, never the switch.
 */
async function announceSwitch(store: Store, data: { engaged: boolean; scope: SwitchScope; at: number; by?: string; reason?: string }): Promise<void> {
  const payload = { type: 'kill_switch.changed', timestamp: new Date(data.at).toISOString(), data };
  await store.enqueueWebhook('kill_switch.changed', `msg_ks_${data.engaged ? 'on' : 'off'}_${data.scope}_${data.at}`, payload);
}

export async function listSwitches(store: Store): Promise<EngagedSwitch[]> {
  return (await store.listRecords(NS)).map((r) => r.value as EngagedSwitch);
}

/** The engaged switch that stops runs of `agent` for `tenant`, if any. */
export async function switchFor(store: Store, agent: string, tenant: string): Promise<EngagedSwitch | null> {
  const switches = await listSwitches(store);
  return switches.find((s) => s.scope === 'all' || s.scope === `agent:${agent}` || s.scope === `tenant:${tenant}`) ?? null;
}

/** Throws HALTED when a kill switch covers this agent and tenant. */
export async function assertNotHalted(store: Store, agent: string, tenant: string): Promise<void> {
  const s = await switchFor(store, agent, tenant);
  if (s) {
    throw new WardenError(
      'HALTED',
      `The kill switch "${s.scope}" is engaged (by ${s.by}: ${s.reason}), so ${agent} may not run for ${tenant}. ` +
        `Lift it with \`warden stop lift ${s.scope}\` (or from the dashboard's kill switch) once it is safe.`,
    );
  }
}
