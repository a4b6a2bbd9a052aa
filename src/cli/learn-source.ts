import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyRunEvent } from '../core/events.ts';
import { WardenError } from '../core/errors.ts';
import { parseDuration } from '../core/duration.ts';
import { readRunExport } from '../observe/replay/run-export.ts';
import { isPostgresUrl } from '../store/store-url.ts';
import { openStore } from './open-store.ts';

export interface LearnSource {
  /** A store (SQLite file or postgres:// URL), an export file (one run, a JSON array, or JSON lines), or a folder of export files. */
  from: string;
  agent: string;
  since?: string;
  until?: string;
  limit: number;
}

function isExport(path: string): boolean {
  if (!existsSync(path)) return false;
  if (statSync(path).isDirectory()) return true;
  const head = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 200).trimStart();
  return head.startsWith('{') || head.startsWith('[');
}

function exportsIn(path: string): AnyRunEvent[][] {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .filter((f) => /\.jsonl?$/.test(f))
      .sort()
      .flatMap((f) => exportsIn(join(path, f)));
  }
  const text = readFileSync(path, 'utf8').trim();
  if (text.startsWith('[')) {
    const docs = JSON.parse(text) as unknown[];
    return docs.map((d, i) => readRunExport(JSON.stringify(d), `${path}[${i}]`).events);
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => readRunExport(line, lines.length > 1 ? `${path}:${i + 1}` : path).events);
}

/**
 * The recorded runs `--learn-from` names: the agent's runs in a store (live and shadow, not
 * rehearsals) created within `--since` / `--until`, or the runs in export files.
 */
export async function loadLearnSource(source: LearnSource, now = Date.now()): Promise<{ logs: AnyRunEvent[][]; description: string }> {
  const since = source.since ? now - parseDuration(source.since, '--since') : undefined;
  const until = source.until ? now - parseDuration(source.until, '--until') : undefined;
  const inWindow = (at: number) => (since === undefined || at >= since) && (until === undefined || at <= until);
  if (!isPostgresUrl(source.from) && isExport(source.from)) {
    const logs = exportsIn(source.from).filter((events) => {
      const first = events[0];
      return first?.type === 'run.submitted' && first.data.agent === source.agent && inWindow(first.at);
    });
    return { logs, description: `${logs.length} exported runs of ${source.agent} in ${source.from}` };
  }
  if (!isPostgresUrl(source.from) && !existsSync(source.from)) {
    throw new WardenError('NOT_FOUND', `--learn-from ${source.from}: no such store or export file`);
  }
  const store = await openStore(source.from);
  try {
    const rows = (await store.listRuns({ agent: source.agent, limit: source.limit, ...(since !== undefined ? { since } : {}) })).filter(
      (row) => row.mode !== 'rehearsal' && inWindow(row.createdAt),
    );
    const logs: AnyRunEvent[][] = [];
    for (const row of rows.reverse()) logs.push(await store.loadEvents(row.runId));
    const window =
      source.since || source.until
        ? ` (${source.since ? `since ${source.since} ago` : ''}${source.since && source.until ? ', ' : ''}${source.until ? `until ${source.until} ago` : ''})`
        : '';
    return { logs, description: `${source.agent} runs in ${source.from.replace(/\/\/[^@/]*@/, '//')}${window}` };
  } finally {
    await store.close();
  }
}
