import type { RunStatus } from '../core/events.ts';

/**
 * Exit codes of commands that drive a run. A contract: scripts branch on them.
 * 0 completed · 1 failed · 2 bad usage or configuration · 3 stopped by a limit (every stop
 * reason, `crashed` included) · 4 waiting for approval · 5 escalated to a person · 6 cancelled
 * (also an interrupted `warden rehearse`: Ctrl-C or SIGTERM, its partial report printed).
 */
export const RUN_EXIT_CODES: Readonly<Record<RunStatus, number>> = Object.freeze({
  completed: 0,
  failed: 1,
  stopped: 3,
  waiting_approval: 4,
  escalated: 5,
  cancelled: 6,
  queued: 1,
  running: 1,
});
