import type { DriftReport } from './monitor.ts';

const span = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 60_000)}m`);

/** One agent's drift verdict: a headline line, then one line per dimension. */
export function formatDriftReport(r: DriftReport): string {
  const head = `${r.agent}  ${r.status === 'drift' ? 'DRIFT' : r.status === 'ok' ? 'ok' : 'not enough runs'}  recent ${r.recent.runs} runs (${span(r.recent.to - r.recent.from)}) vs baseline ${r.baseline.runs} runs (${span(r.baseline.to - r.baseline.from)} before)`;
  const lines = [head];
  for (const d of r.dimensions) {
    const verdict = d.drifted ? `> ${d.thresholdBits.toFixed(3)}  DRIFT` : `≤ ${Number.isFinite(d.thresholdBits) ? d.thresholdBits.toFixed(3) : '∞'}`;
    lines.push(`  ${d.dimension.padEnd(16)} ${d.divergenceBits.toFixed(3)} bits ${verdict.padEnd(14)} ${d.detail}`);
  }
  return lines.join('\n');
}
