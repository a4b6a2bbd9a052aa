/**
 * The README shows what commands print. This script runs the README's tour on a scratch store —
 * the same commands, in the same order, with the run ids they produce threaded through — and
 * rewrites every output block marked `<!-- readme-output: NAME -->` with what they printed now.
 *
 *   node --conditions=warden-source scripts/readme-outputs.ts --write   # rewrite README.md
 *   node --conditions=warden-source scripts/readme-outputs.ts --check   # exit 1 if README drifted
 *
 * `--check` compares with volatile figures masked (ids, times, durations, throughput, CPU), so it
 * fails when what a command says changes, not when the machine is faster today. CI runs it as a test
 * (test/readme-outputs.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const README = join(ROOT, 'README.md');
const CLI = join(ROOT, 'bin/warden.js');
const EXAMPLE = 'examples/support-desk.ts';
const STRICT = 'examples/what-if/support-desk-strict.ts';

interface Tour {
  db: string;
  dir: string;
}

function warden(tour: Tour, args: string[]): string {
  const out = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WARDEN_DB: tour.db, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '', NO_COLOR: '1' },
    timeout: 300_000,
  });
  if (out.error) throw out.error;
  return out.stdout.replace(/\s+$/, '');
}

function runIdOf(output: string): string {
  const id = /^run\s+(run_[0-9a-z]+)/m.exec(output)?.[1];
  if (!id) throw new Error(`no run id in:\n${output}`);
  return id;
}

function approvalIdOf(output: string): string {
  const id = /approval (apr_[0-9a-z_]+)/.exec(output)?.[1];
  if (!id) throw new Error(`no approval id in:\n${output}`);
  return id;
}

/** Each marked block, by name: the commands that make it, run against the tour's store. */
function generate(): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-readme-'));
  const tour: Tour = { db: join(dir, 'warden.db'), dir };
  const blocks = new Map<string, string>();
  try {
    // The five-minute tour: one request that waits for a person.
    const tourRun = warden(tour, ['run', EXAMPLE, '--input', 'Refund order 1042, it arrived broken']);
    blocks.set('tour-run', tourRun);
    blocks.set('approvals-show', `$ npx warden approvals show ${approvalIdOf(tourRun)}\n${warden(tour, ['approvals', 'show', approvalIdOf(tourRun)])}`);
    // A follow-up message: the second turn of a conversation answers from the first. On a store of
    // its own, so the runs the later blocks count (shadow report, what-if) are the tour's as before.
    const chat = { ...tour, db: join(dir, 'conversation.db') };
    warden(chat, ['run', EXAMPLE, '--conversation', 'chat-2001', '--input', 'Refund order 2001, please']);
    warden(chat, ['run', EXAMPLE, '--conversation', 'chat-2001', '--input', 'Thanks! When will I see the money?']);
    blocks.set('tour-follow-up', `$ npx warden conversations show chat-2001\n${warden(chat, ['conversations', 'show', 'chat-2001'])}`);

    // Rehearsal and audit.
    blocks.set('rehearse', warden({ ...tour, db: join(dir, 'rehearsal.db') }, ['rehearse', EXAMPLE]).replace(/^rehearsal \d.*\n/gm, ''));
    // The same agent on the behaviour learned from its recorded pilot: observed next to rehearsed, and the people it takes.
    const learnedArgs = ['rehearse', EXAMPLE, '--model', 'examples/what-if/support-desk.learned.json', '--requests', '1000', '--reviewers', '3'];
    const learned = warden({ ...tour, db: join(dir, 'learned.db') }, learnedArgs).replace(/^rehearsal \d.*\n/gm, '');
    const keep = learned.split('\n\n').filter((part, i) => i < 2 || part.startsWith('People:'));
    blocks.set('rehearse-learned', `$ npx warden ${learnedArgs.join(' ')}\n${keep.join('\n…\n\n')}`);
    // Fallbacks: the primary model down for 30% of the requests, and what answering from the fallback cost.
    const outageArgs = ['rehearse', 'examples/fallback-desk.ts', '--faults', 'outage', '--requests', '2000'];
    const outage = warden({ ...tour, db: join(dir, 'outage.db') }, outageArgs);
    const models = outage.split('\n\n').find((part) => part.trimStart().startsWith('Models'));
    if (!models) throw new Error(`no Models section in:\n${outage}`);
    blocks.set('fallback-rehearse', `$ npx warden ${outageArgs.join(' ')}\n…\n${models.replace(/^\n+/, '')}`);
    const audit = warden(tour, ['audit', 'examples/careless-agent.ts']);
    blocks.set('audit-careless', `$ npx warden audit examples/careless-agent.ts\n…\n${audit.slice(audit.indexOf('Push back on:'))}`);

    // Shadow mode.
    warden(tour, ['run', EXAMPLE, '--input', 'Refund order 1042', '--shadow']);
    blocks.set('shadow-report', warden(tour, ['shadow', 'report', '--since', '7d']));

    // The decision trace of a run a person approved, then replay and what-if on it.
    const parked = warden(tour, ['run', EXAMPLE, '--input', 'Refund order 1042']);
    const runId = runIdOf(parked);
    warden(tour, ['approvals', 'approve', approvalIdOf(parked), '--by', 'ana', '--reason', 'receipt checked']);
    blocks.set('trace-show', `$ npx warden runs show ${runId}\n${warden(tour, ['runs', 'show', runId])}`);
    const exported = join(dir, 'run.json');
    writeFileSync(exported, warden(tour, ['runs', 'export', runId]));
    blocks.set(
      'replay',
      [
        `$ npx warden replay ${runId}`,
        warden(tour, ['replay', runId]),
        `$ npx warden runs export ${runId} > run.json     # versioned: { format, version, run, events }`,
        '$ npx warden replay run.json                                 # on any machine with the agent file',
        warden(tour, ['replay', exported]),
      ].join('\n'),
    );
    blocks.set(
      'what-if',
      [
        `$ npx warden replay ${runId} --agent ${STRICT}`,
        warden(tour, ['replay', runId, '--agent', STRICT]),
        `$ npx warden replay --all --since 24h --agent ${STRICT}   # --json for a machine`,
        warden(tour, ['replay', '--all', '--since', '24h', '--agent', STRICT]),
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return blocks;
}

const MARK = /<!-- readme-output: ([a-z-]+) -->\n(```[a-z]*\n)([\s\S]*?)\n```/g;

function rewrite(readme: string, blocks: Map<string, string>): { text: string; names: string[] } {
  const names: string[] = [];
  const text = readme.replace(MARK, (_whole, name: string, fence: string) => {
    const body = blocks.get(name);
    if (body === undefined) throw new Error(`README marks a block "${name}" that this script does not make`);
    names.push(name);
    return `<!-- readme-output: ${name} -->\n${fence}${body}\n\`\`\``;
  });
  return { text, names };
}

/** What may differ between two honest runs of the same commands. */
function mask(text: string): string {
  return text
    .replace(/\b(run|apr|esc)_[0-9a-z_]+/g, '$1_…')
    .replace(/\bvm:\d+:[0-9a-f]+|\b[\w.-]+:\d+:[0-9a-f]{6}\b/g, 'WORKER')
    .replace(/\b[0-9a-f]{32}\b/g, 'TRACE')
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, 'TIME')
    .replace(/— [\d.]+ s$/gm, '— T')
    .replace(/finished in \d+ ms/g, 'finished in N ms')
    .replace(/^waited {4}.*$/gm, 'waited    T')
    .replace(/throughput .*$/gm, 'throughput …')
    .replace(/runtime overhead .*$/gm, 'runtime overhead …')
    .replace(/queueing delay .*$/gm, 'queueing delay …');
}

const mode = process.argv[2];
if (mode !== '--write' && mode !== '--check') {
  console.error('usage: readme-outputs.ts --write | --check');
  process.exit(2);
}
const readme = readFileSync(README, 'utf8');
const { text, names } = rewrite(readme, generate());
if (mode === '--write') {
  writeFileSync(README, text);
  console.log(`rewrote ${names.length} output blocks: ${names.join(', ')}`);
} else {
  const before = [...readme.matchAll(MARK)];
  const after = [...text.matchAll(MARK)];
  const drifted = before.filter((b, i) => mask(b[3]!) !== mask(after[i]![3]!)).map((b) => b[1]!);
  if (drifted.length > 0) {
    for (const name of drifted) {
      const was = mask(before.find((b) => b[1] === name)![3]!).split('\n');
      const now = mask(after.find((b) => b[1] === name)![3]!).split('\n');
      const line = was.findIndex((l, i) => l !== now[i]);
      console.error(`README block "${name}" drifted at line ${line + 1}:\n  README: ${was[line] ?? '(end)'}\n  now:    ${now[line] ?? '(end)'}`);
    }
    console.error('Run `node --conditions=warden-source scripts/readme-outputs.ts --write` and review the diff.');
    process.exit(1);
  }
  console.log(`README output blocks match the commands: ${names.join(', ')}`);
}
