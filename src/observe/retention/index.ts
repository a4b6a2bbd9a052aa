export { applyRetention, previewRetention, type ApplyRetentionOptions, type RetentionOutcome, type RetentionPreview } from './retention.ts';
