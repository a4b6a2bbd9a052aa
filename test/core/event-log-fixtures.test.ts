import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EVENT_SCHEMA_VERSION } from '../../src/core/events.ts';
import { foldRun } from '../../src/core/fold.ts';
import { readRunExport } from '../../src/observe/replay/run-export.ts';
import { summarizeRunState } from './run-state-summary.ts';

/**
 * Every event log a past Warden wrote must still fold to the state it folded to then: a schema
 * change that strands stored runs fails here. Fixtures live in test/fixtures/event-logs/v<N>/ and
 * are written by scripts/event-log-fixtures.ts; see the README there.
 */
const ROOT = resolve(import.meta.dirname, '..', 'fixtures', 'event-logs');

const versions = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

const logsIn = (dir: string) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();

describe('event-log fixtures', () => {
  it(`has fixtures for the current schema version (v${EVENT_SCHEMA_VERSION}) and none from a newer one`, () => {
    assert.ok(
      versions.includes(`v${EVENT_SCHEMA_VERSION}`),
      `bumped EVENT_SCHEMA_VERSION? run scripts/event-log-fixtures.ts to add test/fixtures/event-logs/v${EVENT_SCHEMA_VERSION}/`,
    );
    for (const dir of versions) {
      const match = /^v(\d+)$/.exec(dir);
      assert.ok(match, `${dir}: version folders are named v<N>`);
      assert.ok(Number(match[1]) <= EVENT_SCHEMA_VERSION, `${dir} is newer than this Warden's schema v${EVENT_SCHEMA_VERSION}`);
      assert.ok(logsIn(dir).length > 0, `${dir} holds no event logs`);
    }
  });

  for (const dir of versions) {
    const version = Number(dir.slice(1));
    for (const name of logsIn(dir)) {
      it(`${dir}/${name} folds to the state it was recorded with`, () => {
        const path = join(ROOT, dir, `${name}.json`);
        const expectedPath = join(ROOT, dir, `${name}.expected.json`);
        assert.ok(existsSync(expectedPath), `${dir}/${name}.json has no ${name}.expected.json beside it`);
        const doc = readRunExport(readFileSync(path, 'utf8'), path);
        assert.equal(doc.eventSchemaVersion, version, `${dir}/${name}.json was exported by schema v${doc.eventSchemaVersion}`);
        for (const e of doc.events) assert.equal(e.v, version, `${dir}/${name}.json event ${e.seq} (${e.type}) is v${e.v}`);

        const actual = summarizeRunState(foldRun(doc.events));
        const expected = JSON.parse(readFileSync(expectedPath, 'utf8')) as Record<string, unknown>;
        // Only the fields the fixture recorded: a field added to the summary later does not strand it.
        for (const key of Object.keys(expected)) assert.deepEqual(actual[key], expected[key], `${dir}/${name}: ${key}`);
        assert.equal(expected.runId, doc.run.runId);
        assert.equal(expected.status, doc.run.status, 'the store row and the fold agreed when it was recorded');
      });
    }
  }

  it('covers the run endings and the events that park, undo, plan and delegate', () => {
    const statuses = new Set<unknown>();
    const types = new Set<string>();
    for (const name of logsIn(`v${EVENT_SCHEMA_VERSION}`)) {
      const dir = join(ROOT, `v${EVENT_SCHEMA_VERSION}`);
      statuses.add((JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8')) as { status: unknown }).status);
      for (const e of readRunExport(readFileSync(join(dir, `${name}.json`), 'utf8')).events) types.add(e.type);
    }
    assert.deepEqual([...statuses].sort(), ['cancelled', 'completed', 'stopped']);
    const needed = [
      'approval.decided',
      'escalation.decided',
      'plan.verified',
      'plan.rejected',
      'child.spawned',
      'undo.completed',
      'compensation.succeeded',
      'budget.overrun',
      'limit.hit',
      'run.cancelled',
      'approval.expired',
    ];
    assert.deepEqual(
      needed.filter((t) => !types.has(t)),
      [],
    );
  });
});
