import type { RehearsalProgress } from './rehearsal.ts';

const BAR = 28;

function counts(p: RehearsalProgress): string {
  return Object.entries(p.byStatus)
    .sort((a, b) => b[1] - a[1])
    .map(([status, n]) => `${status} ${n.toLocaleString('en-US')}`)
    .join(' · ');
}

/**
 * Reports a rehearsal's progress on `out` (stderr, so stdout stays the report): a bar with live
 * counts redrawn in place on a terminal, a plain line every tenth of the way otherwise.
 */
export function progressReporter(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): {
  update: (p: RehearsalProgress) => void;
  /** A line of its own (an interruption), below the bar rather than over it. */
  note: (text: string) => void;
  finish: () => void;
} {
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return {
    update(p) {
      const rate = p.elapsedMs > 0 ? Math.round((p.done / p.elapsedMs) * 1000) : 0;
      const head = `${p.done.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} · ${rate.toLocaleString('en-US')}/s · ${counts(p)}`;
      if (out.isTTY) {
        if (p.done !== p.total && p.elapsedMs - lastDraw < 100) return;
        lastDraw = p.elapsedMs;
        const filled = Math.round((p.done / p.total) * BAR);
        const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${head}`;
        out.write(`\r\x1b[2K${line.slice(0, Math.max(20, (out.columns ?? 120) - 1))}`);
        drawn = true;
        return;
      }
      const tenth = Math.floor((p.done / p.total) * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      out.write(`rehearsal ${head}\n`);
    },
    note(text) {
      if (drawn) out.write('\n');
      drawn = false;
      out.write(`${text}\n`);
    },
    finish() {
      if (drawn) out.write('\n');
    },
  };
}
