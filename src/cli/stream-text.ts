import type { TextDelta, TextListener } from '../runtime/text-stream.ts';

/**
 * Prints a run's streamed text to `out` as it arrives, each model call on its own line (a retried
 * call says so), and `end()` closes the block with a blank line before the trace.
 */
export function textPrinter(out: { write(text: string): unknown }): { onText: TextListener; end(): void } {
  let current: TextDelta | null = null;
  return {
    onText(d) {
      if (current && (current.step !== d.step || current.attempt !== d.attempt)) out.write(d.step === current.step ? '\n(retry) ' : '\n');
      current = d;
      out.write(d.delta);
    },
    end() {
      if (current) out.write('\n\n');
      current = null;
    },
  };
}

/** Whether `warden run` streams: `--stream`/`--no-stream` when given, else when stdout is a terminal; never with `--json`. */
export function shouldStream(opts: { stream?: boolean; json?: boolean }, isTTY: boolean | undefined): boolean {
  if (opts.json) return false; // stdout must stay one JSON document
  return opts.stream ?? isTTY === true;
}
