import type { Store } from '../core/ports/store.ts';
import type { ExpiredApproval } from '../runtime/approval-expiry.ts';
import type { Warden } from '../runtime/warden.ts';

export interface ApprovalSweeperOptions {
  warden: Warden;
  store: Store;
  /** How often to look for approvals past their deadline, ms. Default 1,000. */
  intervalMs?: number;
  /** Told the root run of each approval that expired, so the process that drives runs carries it on. */
  onExpired?: (rootRunId: string, expired: ExpiredApproval) => void;
  onError?: (error: unknown) => void;
}

/**
 * Expires approvals nobody decided by their deadline, every `intervalMs`, in `warden serve` and
 * `warden worker`. Several processes may sweep one store: the store closes each approval once
 * (the expiry is conditional on it still being pending), so each expires exactly once.
 *
 * @example
 * const sweeper = startApprovalSweeper({ warden, store, onExpired: (root) => executor.enqueue(root) });
 * // …
 * await sweeper.stop();
 */
export function startApprovalSweeper(options: ApprovalSweeperOptions): { stop(): Promise<void> } {
  const intervalMs = options.intervalMs ?? 1_000;
  let sweeping: Promise<void> | null = null;
  let stopped = false;
  const sweep = async () => {
    try {
      for (const expired of await options.warden.expireApprovals({ limit: 500 })) {
        const run = await options.store.getRun(expired.approval.runId);
        options.onExpired?.(run?.rootRunId ?? expired.approval.runId, expired);
      }
    } catch (e) {
      options.onError?.(e);
    }
  };
  const timer = setInterval(() => {
    // One sweep at a time: a slow store never piles sweeps up.
    if (stopped || sweeping) return;
    sweeping = sweep().finally(() => {
      sweeping = null;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await sweeping;
    },
  };
}
