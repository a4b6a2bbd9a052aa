import type { Role } from './api-keys.ts';

/** Every action the API offers, and the roles that may take it. `admin` may take all of them. */
export const PERMISSIONS = {
  'runs:read': ['viewer', 'submitter', 'approver', 'operator'],
  'runs:submit': ['submitter'],
  'runs:cancel': ['operator'],
  'interventions:read': ['viewer', 'approver', 'operator'],
  'interventions:decide': ['approver'],
  'switch:read': ['viewer', 'submitter', 'approver', 'operator'],
  'switch:write': ['operator'],
  'metrics:read': ['viewer', 'operator'],
  'budgets:read': ['viewer', 'submitter', 'approver', 'operator'],
  'budgets:write': ['operator'],
  /** Webhook deliveries span every tenant: admin only, and only with a key of every tenant (routes-observe.ts). */
  'webhooks:read': [],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function allows(role: Role, permission: Permission): boolean {
  return role === 'admin' || (PERMISSIONS[permission] as readonly Role[]).includes(role);
}
