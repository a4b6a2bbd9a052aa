import { z } from 'zod';
import { WardenError } from '../../core/errors.ts';
import { EVENT_SCHEMA_VERSION, type AnyRunEvent } from '../../core/events.ts';
import type { RunRecord, Store } from '../../core/ports/store.ts';

/** Names the document kind, so a stray JSON file is refused with a clear message. */
export const RUN_EXPORT_FORMAT = 'warden.run-export';

/**
 * Version of the export document. v1: `{ format, version, exportedAt, eventSchemaVersion, run,
 * events }`. A reader accepts every version up to its own; bump it when the shape changes and
 * keep a v1 fixture in the tests.
 */
export const RUN_EXPORT_VERSION = 1;

/** One run, portable: its row and its whole event log. `warden runs export` writes it. */
export interface RunExport {
  format: typeof RUN_EXPORT_FORMAT;
  version: number;
  /** ISO time of the export. */
  exportedAt: string;
  /** `EVENT_SCHEMA_VERSION` of the Warden that exported it. */
  eventSchemaVersion: number;
  run: RunRecord;
  events: AnyRunEvent[];
}

/**
 * Reads a run out of a store as a versioned, self-contained document.
 *
 * @example
 * writeFileSync('run.json', JSON.stringify(await exportRun(store, 'run_1a2b')));
 */
export async function exportRun(store: Store, runId: string, now = Date.now()): Promise<RunExport> {
  const run = await store.getRun(runId);
  if (!run) throw new WardenError('NOT_FOUND', `No run with id "${runId}"`, { context: { runId } });
  const events = await store.loadEvents(runId);
  return {
    format: RUN_EXPORT_FORMAT,
    version: RUN_EXPORT_VERSION,
    exportedAt: new Date(now).toISOString(),
    eventSchemaVersion: EVENT_SCHEMA_VERSION,
    run,
    events,
  };
}

const eventSchema = z.object({
  runId: z.string(),
  seq: z.number().int().positive(),
  type: z.string(),
  at: z.number().int().nonnegative(),
  v: z.number().int().positive(),
  data: z.record(z.string(), z.unknown()),
});

const exportSchema = z.object({
  format: z.literal(RUN_EXPORT_FORMAT),
  version: z.number().int().positive(),
  exportedAt: z.string(),
  eventSchemaVersion: z.number().int().positive(),
  run: z.object({ runId: z.string(), agent: z.string() }).passthrough(),
  events: z.array(eventSchema).min(1),
});

/**
 * Parses and checks an export document: its format and version, and that the events are one
 * run's whole log (same run id, seq 1, 2, 3, … starting with `run.submitted`).
 *
 * @example
 * const doc = readRunExport(readFileSync('run.json', 'utf8'), 'run.json');
 */
export function readRunExport(text: string, source = 'the export'): RunExport {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new WardenError('INVALID_ARGUMENT', `${source} is not JSON (${(e as Error).message}); expected a file written by \`warden runs export\``);
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (format !== RUN_EXPORT_FORMAT) {
    throw new WardenError('INVALID_ARGUMENT', `${source} is not a Warden run export: expected format "${RUN_EXPORT_FORMAT}", found ${JSON.stringify(format)}`);
  }
  const parsed = exportSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WardenError('INVALID_ARGUMENT', `${source} is a damaged run export: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const doc = parsed.data;
  if (doc.version > RUN_EXPORT_VERSION) {
    throw new WardenError('INVALID_ARGUMENT', `${source} is a run export v${doc.version}; this Warden reads up to v${RUN_EXPORT_VERSION}. Upgrade Warden.`);
  }
  const runId = doc.run.runId;
  doc.events.forEach((e, i) => {
    if (e.runId !== runId || e.seq !== i + 1) {
      throw new WardenError('INVALID_ARGUMENT', `${source}: event ${i + 1} is seq ${e.seq} of run ${e.runId}; expected seq ${i + 1} of run ${runId}`);
    }
  });
  const first = doc.events[0];
  if (first?.type !== 'run.submitted')
    throw new WardenError('INVALID_ARGUMENT', `${source}: the log must start with run.submitted, found ${first?.type ?? 'no events'}`);
  return doc as unknown as RunExport;
}
