import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { tempDir } from '../helpers.ts';

/**
 * Warden as a user gets it: packed into a tarball, installed with production dependencies only
 * into an empty project that is not Warden's repository, and used from there — a TypeScript agent,
 * a plain JavaScript program, the `warden` command, and a typecheck against the shipped `.d.ts`.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const NODE_DIR = dirname(process.execPath);
const ENV = { ...process.env, PATH: `${NODE_DIR}${delimiter}${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false', NODE_OPTIONS: '' };

const AGENT_TS = `import { z } from 'zod';
import { defineAgent, defineTool, simulated, type Tier } from 'warden';

const tier: Tier = 'read';
const lookup = defineTool({
  name: 'lookup_order',
  description: 'Find an order by id.',
  tier,
  input: z.object({ orderId: z.string() }),
  execute: ({ orderId }) => ({ orderId, total: 42 }),
});

export default defineAgent({
  name: 'installed-agent',
  instructions: 'Look the order up, then answer.',
  model: simulated.script([
    { toolCalls: [{ tool: 'lookup_order', args: { orderId: 'A-1' } }] },
    { text: 'Order A-1 totals $42.' },
  ]),
  tools: [lookup],
  limits: { maxSteps: 6, maxCostUsd: 0.05 },
});
`;

const PROGRAM_JS = `import { createWarden, createSqliteStore, isWardenError } from 'warden';
import agent from './agent.ts';

const warden = createWarden({ store: createSqliteStore({ path: ':memory:' }) });
const result = await warden.run(agent, 'Where is order A-1?');
console.log(JSON.stringify({ status: result.status, output: result.output, typed: typeof isWardenError }));
`;

const CHECK_TS = `import { defineAgent, defineTool, simulated, isWardenError, type RunResult } from 'warden';
import { z } from 'zod';

const echo = defineTool({
  name: 'echo',
  description: 'Echo',
  tier: 'read',
  input: z.object({ text: z.string() }),
  execute: ({ text }) => ({ text: text.toUpperCase() }),
});
defineAgent({ name: 'typed', instructions: 'x', model: simulated.script([{ text: 'hi' }]), tools: [echo] });

// The shipped types are real, not \`any\`: each line below must be a type error.
// @ts-expect-error a tier is read, write or delete
defineTool({ name: 'bad', description: 'x', tier: 'admin', input: z.object({}), execute: () => 1 });
// @ts-expect-error the arguments are typed from the input schema
defineTool({ name: 'bad2', description: 'x', tier: 'read', input: z.object({ n: z.number() }), execute: ({ n }) => n.toUpperCase() });

export function summary(r: RunResult): string {
  return \`\${r.runId} \${r.status}\`;
}
export const check: (e: unknown) => boolean = (e) => isWardenError(e, 'BUDGET_EXCEEDED');
`;

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', timeout: 180_000 });
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.status, 0, `${what} exited ${result.status}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

describe('the packed package, installed into a project of its own', { timeout: 600_000 }, () => {
  let project: string;
  let tarball: string;

  before(() => {
    const work = tempDir('warden-pack-');
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
      cwd: ROOT,
      env: ENV,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    tarball = join(work, packed.trim().split('\n').at(-1)!);
    project = join(work, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2));
    ok(run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock', tarball, 'zod@4'], project), 'npm install');
    writeFileSync(join(project, 'agent.ts'), AGENT_TS);
    writeFileSync(join(project, 'program.js'), PROGRAM_JS);
    writeFileSync(join(project, 'check.ts'), CHECK_TS);
  });

  after(() => {
    if (project) rmSync(dirname(project), { recursive: true, force: true });
  });

  it('ships compiled JavaScript, declarations and the dashboard, and no sources or tests', () => {
    const pkg = join(project, 'node_modules/warden');
    const top = readdirSync(pkg).sort();
    assert.ok(!top.includes('src') && !top.includes('test') && !top.includes('bench'), `unexpected files: ${top.join(', ')}`);
    const dist = readdirSync(join(pkg, 'dist'));
    assert.ok(dist.includes('index.js') && dist.includes('index.d.ts'));
    assert.ok(readdirSync(join(pkg, 'dist/server/dashboard')).includes('index.html'));
    assert.ok(!readdirSync(join(pkg, 'dist/runtime')).some((f) => f.includes('.test.')));
  });

  it('runs a plain JavaScript program that imports the public API (and a .ts agent)', () => {
    const out = JSON.parse(ok(run(process.execPath, ['program.js'], project), 'node program.js').trim());
    assert.deepEqual(out, { status: 'completed', output: 'Order A-1 totals $42.', typed: 'function' });
  });

  it("serves the dashboard's chart library from the installed chart.js dependency, and the chart code beside the dashboard", () => {
    writeFileSync(
      join(project, 'dashboard.js'),
      `import { Hono } from 'hono';
import { chartJsFile, serveDashboard } from './node_modules/warden/dist/server/dashboard.js';
const app = new Hono();
serveDashboard(app);
const out = {};
for (const path of ['/vendor/chart.umd.min.js', '/charts.js']) {
  const res = await app.request(path);
  const text = await res.text();
  out[path] = { status: res.status, type: res.headers.get('content-type'), head: text.slice(0, 40), size: text.length };
}
console.log(JSON.stringify({ out, file: chartJsFile() }));
`,
    );
    const { out, file } = JSON.parse(ok(run(process.execPath, ['dashboard.js'], project), 'node dashboard.js').trim());
    assert.ok(file.startsWith(join(project, 'node_modules/chart.js/')), `resolved from the project's node_modules: ${file}`);
    assert.equal(out['/vendor/chart.umd.min.js'].status, 200);
    assert.match(out['/vendor/chart.umd.min.js'].type, /^text\/javascript/);
    assert.match(out['/vendor/chart.umd.min.js'].head, /Chart\.js v4\./);
    assert.ok(out['/vendor/chart.umd.min.js'].size > 100_000);
    assert.equal(out['/charts.js'].status, 200);
    assert.match(out['/charts.js'].head, /Overview/);
  });

  it('runs `npx warden run` on an agent written in the project', () => {
    const out = JSON.parse(ok(run('npx', ['warden', 'run', 'agent.ts', '--input', 'Where is A-1?', '--json', '--db', 'warden.db'], project), 'warden run'));
    assert.equal(out.status, 'completed');
    assert.equal(out.output, 'Order A-1 totals $42.');
  });

  it('audits the agent and rehearses 200 requests', () => {
    const audit = run('npx', ['warden', 'audit', 'agent.ts'], project);
    assert.ok(audit.status === 0 || audit.status === 3, `audit exited ${audit.status}: ${audit.stderr}`);
    assert.match(audit.stdout, /installed-agent/);
    const rehearsal = ok(run('npx', ['warden', 'rehearse', 'agent.ts', '--requests', '200'], project), 'warden rehearse');
    assert.match(rehearsal, /200 requests/);
    assert.match(rehearsal, /ceiling breaches\s+0/);
  });

  for (const version of ['22.20.0', '26.10.0']) {
    it(`runs on Node ${version} too (the engines range claims it)`, () => {
      const nodeDir = join(dirname(project), `node-${version}`);
      mkdirSync(nodeDir);
      ok(
        run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', nodeDir, `node@${version}`], nodeDir),
        `npm install node@${version}`,
      );
      const node = join(nodeDir, 'node_modules/.bin/node');
      assert.equal(ok(run(node, ['--version'], project), 'node --version').trim(), `v${version}`);
      const out = JSON.parse(ok(run(node, ['program.js'], project), `node ${version} program.js`).trim());
      assert.equal(out.status, 'completed');
      const cli = run(node, ['node_modules/warden/bin/warden.js', 'run', 'agent.ts', '--input', 'A-1?', '--json', '--db', `v${version}.db`], project);
      assert.equal(JSON.parse(ok(cli, `warden run on ${version}`)).status, 'completed');
      assert.doesNotMatch(cli.stderr, /ExperimentalWarning/);
    });
  }

  it('typechecks a program against the shipped declarations', () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2024',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: true,
          typeRoots: [join(ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['check.ts', 'agent.ts'],
      }),
    );
    ok(run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project), 'tsc');
  });
});
