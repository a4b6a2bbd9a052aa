/**
 * Writes examples/what-if/support-desk.learned.json: the behaviour model learned from a recorded
 * pilot of the example support desk (test/rehearse/pilot.ts, 300 runs, seed 3). The README's
 * learned-model rehearsal runs on it.
 *
 *   node --conditions=warden-source scripts/learned-example.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import supportDesk from '../examples/support-desk.ts';
import { learnBehaviour } from '../src/rehearse/learn.ts';
import { saveLearnedModel } from '../src/rehearse/learned-model.ts';
import { recordPilot } from '../test/rehearse/pilot.ts';

const dir = mkdtempSync(join(tmpdir(), 'warden-pilot-'));
try {
  const logs = await recordPilot({ runs: 300, seed: 3, db: join(dir, 'pilot.db') });
  const model = learnBehaviour(logs, { agent: supportDesk, description: 'a recorded pilot of the support desk', now: Date.UTC(2026, 10, 3) });
  saveLearnedModel(resolve(import.meta.dirname, '../examples/what-if/support-desk.learned.json'), model);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
