import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { tempDir } from '../helpers.ts';
import { testServer, type TestServer } from './fixtures.ts';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');

// A user's script, written against types generated from the served document. It submits a run,
// lists runs, approves the approval the run waits for (a second decision conflicts) and cancels a second run, and prints what it
// saw. The @ts-expect-error lines fail the typecheck unless the generated types know the fields.
const PROGRAM = `import createClient from 'openapi-fetch';
import type { paths } from './schema.ts';

const url = process.env.WARDEN_URL!;
const keys = JSON.parse(process.env.WARDEN_KEYS!) as Record<string, string>;
const as = (role: string) => createClient<paths>({ baseUrl: url, headers: { authorization: \`Bearer \${keys[role]}\` } });

function typeErrors(): void {
  // @ts-expect-error "agnet" is not a field of a submission (and "agent" is missing)
  void as('submitter').POST('/v1/runs', { body: { agnet: 'desk', input: 'x' } });
  // @ts-expect-error "decision" is one of approve, edit, takeover, stop
  void as('approver').POST('/v1/escalations/{id}', { params: { path: { id: 'e' } }, body: { decision: 'maybe' } });
  void as('viewer').GET('/v1/runs/{id}', { params: { path: { id: 'r' } } }).then((r) => {
    // @ts-expect-error a run's "steps" is a number, not a string
    const steps: string | undefined = r.data?.steps;
    return steps;
  });
}
void typeErrors;

const submitted = await as('submitter').POST('/v1/runs', { body: { agent: 'desk', input: 'delete c-7' }, headers: { 'idempotency-key': 'typed-client-1' } });
if (!submitted.data) throw new Error(JSON.stringify(submitted.error));
const runId: string = submitted.data.runId;

async function approvalOf(id: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const { data } = await as('viewer').GET('/v1/runs/{id}', { params: { path: { id } } });
    if (data?.status === 'waiting_approval' && data.pending) return data.pending.id;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(\`run \${id} never waited for its approval\`);
}
const approvalId = await approvalOf(runId);

const listed = await as('viewer').GET('/v1/runs', { params: { query: { agent: 'desk', limit: '50' } } });
const approved = await as('approver').POST('/v1/approvals/{id}/approve', { params: { path: { id: approvalId } }, body: { reason: 'checked the account' } });
const refused = await as('approver2').POST('/v1/approvals/{id}/approve', { params: { path: { id: approvalId } } });

const second = await as('submitter').POST('/v1/runs', { body: { agent: 'desk', input: 'delete c-8' } });
await approvalOf(second.data!.runId);
const cancelled = await as('operator').POST('/v1/runs/{id}/cancel', { params: { path: { id: second.data!.runId } }, body: { reason: 'not needed' } });

console.log(JSON.stringify({
  submitted: { status: submitted.response.status, runId },
  listed: listed.data?.runs.map((r) => r.runId),
  approved: { status: approved.response.status, decision: approved.data?.status, by: approved.data?.decidedBy },
  refused: { status: refused.response.status, code: refused.error?.error.code },
  cancelled: { status: cancelled.response.status, run: cancelled.data?.status },
}));
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'es2024',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    types: ['node'],
    lib: ['es2024', 'dom'],
  },
  files: ['program.ts'],
};

describe('a typed client generated from the served OpenAPI document', () => {
  let t: TestServer;
  let dir = '';
  before(async () => {
    t = await testServer();
    dir = tempDir('warden-typed-client-');
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    writeFileSync(join(dir, 'program.ts'), PROGRAM);
  });
  after(() => t.close());

  it('typechecks a program against the generated types, and refuses wrong fields', async () => {
    const doc = await (await fetch(`${t.server.url}/v1/openapi.json`)).json();
    writeFileSync(join(dir, 'schema.ts'), astToString(await openapiTS(doc)));
    const checked = await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')]).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    assert.equal(checked.code, 0, checked.out);

    // Without its @ts-expect-error marks the same program fails: the types are real, not `any`.
    writeFileSync(join(dir, 'program.ts'), PROGRAM.replace(/ *\/\/ @ts-expect-error.*\n/g, ''));
    const loose = await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')]).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    writeFileSync(join(dir, 'program.ts'), PROGRAM);
    assert.notEqual(loose.code, 0);
    assert.match(loose.out, /agnet/);
    assert.match(loose.out, /"maybe"/);
    assert.match(loose.out, /program\.ts\(\d+,\d+\): error TS2322: Type 'number/);
  });

  it('runs that program against the live server: submit, list, approve, cancel', async () => {
    const { stdout } = await run(process.execPath, [join(dir, 'program.ts')], {
      cwd: dir,
      env: { ...process.env, WARDEN_URL: t.server.url, WARDEN_KEYS: JSON.stringify(t.keys) },
    });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.equal(seen.submitted.status, 201);
    assert.ok(seen.listed.includes(seen.submitted.runId), 'the listing has the submitted run');
    assert.deepEqual([seen.approved.status, seen.approved.decision], [200, 'approved']);
    assert.match(seen.approved.by, /^approver \(/);
    assert.deepEqual(seen.refused, { status: 409, code: 'CONFLICT' });
    assert.deepEqual(seen.cancelled, { status: 200, run: 'cancelled' });
  });
});
