export { replayRun } from './replay-run.ts';
export type { ReplayReport, ReplayOptions, DivergenceKind, RunOutcome } from './replay-run.ts';
export { replayMany } from './replay-many.ts';
export type { ReplaySummary } from './replay-many.ts';
export { exportRun, readRunExport, RUN_EXPORT_FORMAT, RUN_EXPORT_VERSION } from './run-export.ts';
export type { RunExport } from './run-export.ts';
export { decisionsOf } from './decisions.ts';
export { formatReplayReport, formatReplaySummary } from './format.ts';
