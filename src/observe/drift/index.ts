export { checkDrift, raiseDriftAlerts, DRIFT_EVENT, DRIFT_EVENT_VERSION } from './monitor.ts';
export type { DriftOptions, DriftReport } from './monitor.ts';
export { compareProfiles } from './compare.ts';
export type { DimensionDrift, DriftDimension, CompareOptions } from './compare.ts';
export { profileRun } from './profile.ts';
export type { RunProfile } from './profile.ts';
export { jsDivergenceBits, driftThresholdBits } from './divergence.ts';
export { formatDriftReport } from './format.ts';
