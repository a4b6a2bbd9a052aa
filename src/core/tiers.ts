/** What a tool may do: read data, change it, or delete it. Least privilege is decided by tier. */
export type Tier = 'read' | 'write' | 'delete';
export const TIERS: readonly Tier[] = ['read', 'write', 'delete'];

/** What policy decides for one tool call. The strictest decision among all matching rules wins. */
export type PolicyDecision = 'allow' | 'approve' | 'deny';
