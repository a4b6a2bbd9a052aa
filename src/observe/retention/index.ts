export { applyRetention, previewRetention, RETENTION_LOG, type ApplyRetentionOptions, type RetentionOutcome, type RetentionPreview } from './retention.ts';
