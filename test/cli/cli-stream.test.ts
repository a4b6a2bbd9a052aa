import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers.ts';

const AGENT = 'test/fixtures/chatty-agent.ts';

describe('warden run streams the model text', () => {
  it('prints the text of each model call as it arrives, then the trace and summary', async () => {
    const run = await runCli(['run', AGENT, '--input', 'Where is order 1042?', '--db', join(tempDir(), 'w.db'), '--stream']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.startsWith('Looking up order 1042.\nOrder 1042 shipped on Monday.\n\n'), run.stdout.slice(0, 200));
    assert.match(run.stdout, /output {3}Order 1042 shipped on Monday\./, 'the summary follows');
  });

  it('keeps stdout one JSON document with --json, even when asked to stream', async () => {
    const run = await runCli(['run', AGENT, '--input', 'Where is order 1042?', '--db', join(tempDir(), 'w.db'), '--json', '--stream']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).output, 'Order 1042 shipped on Monday.');
  });

  it('prints no text before the trace with --no-stream (the default when stdout is not a terminal)', async () => {
    for (const flags of [['--no-stream'], []]) {
      const run = await runCli(['run', AGENT, '--input', 'Where is order 1042?', '--db', join(tempDir(), 'w.db'), ...flags]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^ {3}1 {2}/, `${flags.join(' ') || 'no flag'}: the trace comes first`);
    }
  });
});
