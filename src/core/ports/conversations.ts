/**
 * The conversations part of the `Store` port: a conversation is the ordered list of runs (its
 * turns) that answer one exchange with one agent, with a ledger of its own. The rows are written
 * with the runs: a turn's row is created by `createRun` (see `NewRun.conversation`) and the
 * conversation's spend moves with each commit's budget operations (`BudgetOp.conversation`). Money
 * is integer nano-USD; times are ms since the epoch.
 */
export interface Conversations {
  getConversation(conversationId: string): Promise<ConversationRecord | undefined>;
  /** Conversations matching `filter`, most recently updated first; default 100. */
  listConversations(filter?: ConversationFilter): Promise<ConversationRecord[]>;
  /**
   * Closes an open conversation (`cancelled`): no turn may be added to it after. Says whether this
   * call closed it. Its turns are the runtime's to cancel.
   */
  closeConversation(conversationId: string, at: number): Promise<boolean>;
}

export type ConversationStatus = 'open' | 'cancelled';

export interface ConversationRecord {
  conversationId: string;
  tenant: string;
  agent: string;
  status: ConversationStatus;
  /** Turns created so far (their runs carry `turn` 1..turns). */
  turns: number;
  /** The conversation's ceiling as its latest turn set it (`limits.maxConversationCostUsd`); null for none. */
  ceilingNano: number | null;
  /** Settled spend of every turn and their children, nano-USD. */
  spentNano: number;
  /** Held by reservations not yet settled, nano-USD. */
  reservedNano: number;
  createdAt: number;
  updatedAt: number;
}

export interface ConversationFilter {
  tenant?: string;
  agent?: string;
  status?: ConversationStatus;
  limit?: number;
}

/**
 * What `createRun` needs to make a run a conversation's turn. The store creates the conversation
 * with its first turn; each turn must be the next (`turn` = turns so far + 1, else `CONFLICT`), of
 * the same tenant and agent, and the conversation must be open (else `CONVERSATION_CLOSED`).
 */
export interface NewTurn {
  conversationId: string;
  turn: number;
  /** The conversation's ceiling from now on, nano-USD; null for none. */
  ceilingNano: number | null;
}
