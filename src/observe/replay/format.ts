import { figuresLine } from '../../core/projection.ts';
import type { ReplaySummary } from './replay-many.ts';
import type { DivergenceKind, ReplayReport, RunOutcome } from './replay-run.ts';

const KIND_WORDS: Record<DivergenceKind, string> = {
  now_denied: 'a call is now denied',
  would_wait_for_approval: 'a call would wait for approval',
  now_allowed: 'a call is now allowed',
  now_rejected: 'a call no longer fits the tools',
  loop_caught: 'a loop is now caught',
  ceiling_hit: 'the cost ceiling is now hit',
  limit_hit: 'a limit is now hit',
  limit_lifted: 'a limit no longer stops the run',
  recording_exhausted: 'the recording has no answer for what follows',
  changed: 'a decision changed',
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function outcome(o: RunOutcome): string {
  return `${o.status}${o.stopReason ? ` (${o.stopReason})` : ''} · ${figuresLine(o.summary)} · $${o.costUsd.toFixed(6)}`;
}

/** A replay report in words: "reproduced: N steps identical", or the first difference. */
export function formatReplayReport(r: ReplayReport): string {
  const lines: string[] = [];
  if (r.identical) {
    lines.push(`reproduced: ${plural(r.identicalSteps, 'step')} identical (${plural(r.decisions, 'decision')}) — run ${r.runId}, agent ${r.agent}`);
  } else {
    const d = r.divergence!;
    const head = r.mode === 'replay' ? 'diverged' : 'differs';
    lines.push(`${head} at step ${d.step}: ${KIND_WORDS[d.kind]} — run ${r.runId}, agent ${r.agent}`);
    lines.push(`  ${plural(r.identicalSteps, 'step')} (${plural(r.decisions, 'decision')}) identical before that`);
    lines.push(`  recorded: ${d.recorded ?? '(nothing: the recorded run had ended)'}`);
    lines.push(`  ${r.mode === 'replay' ? 'replayed' : 'what-if '}: ${d.replayed ?? '(nothing: the replay had ended)'}`);
  }
  lines.push(`  outcome recorded: ${outcome(r.recorded)}`);
  lines.push(`  outcome ${r.mode === 'replay' ? 'replayed' : 'what-if '}: ${outcome(r.replayed)}`);
  for (const note of r.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

/** The summary of `warden replay --all`: counts, then one line per run that went another way. */
export function formatReplaySummary(s: ReplaySummary): string {
  const lines = [
    `${s.mode === 'what-if' ? 'what-if' : 'replay'} over ${plural(s.runs, 'run')} of ${s.agent}: ${s.identical} identical, ${s.differing} differ, ${s.outcomeChanged} end differently${s.errors.length ? `, ${s.errors.length} could not be replayed` : ''}`,
  ];
  for (const [kind, n] of Object.entries(s.byKind).sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(5)}  ${KIND_WORDS[kind as DivergenceKind]}`);
  for (const r of s.reports.filter((x) => !x.identical)) {
    lines.push(
      `  ${r.runId}  step ${r.divergence!.step}: ${KIND_WORDS[r.divergence!.kind]}; ${r.recorded.status}${r.recorded.stopReason ? `/${r.recorded.stopReason}` : ''} → ${r.replayed.status}${r.replayed.stopReason ? `/${r.replayed.stopReason}` : ''}`,
    );
  }
  for (const e of s.errors) lines.push(`  ${e.runId}  could not be replayed: ${e.message}`);
  return lines.join('\n');
}
