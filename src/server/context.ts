import type { InterventionRecord, Store } from '../core/ports/store.ts';
import type { WardenMetrics } from '../observe/metrics.ts';
import type { Warden } from '../runtime/warden.ts';
import type { AgentCatalog } from '../scheduler/agent-catalog.ts';
import type { ApiKey } from './api-keys.ts';
import type { RunExecutor } from './executor.ts';

// What every route of the server is given: its dependencies, and per request the caller's key.

export interface ServerDeps {
  warden: Warden;
  store: Store;
  agents: AgentCatalog;
  executor: RunExecutor;
  metrics?: WardenMetrics;
  /**
   * How often a live stream reads the log for other processes' commits while the store's feed
   * (`followRun`) is down or absent, ms. Default 1,000 (`STREAM_POLL_MS`).
   */
  streamPollMs?: number;
}

/** Per request: the authenticated key, and (decision routes) the intervention it decides. */
export type Env = { Variables: { key: ApiKey; intervention: { record: InterventionRecord; rootId: string } } };
