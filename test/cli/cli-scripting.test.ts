import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { COMMANDS } from '../../src/cli/command-table.ts';
import { runCli, tempDir } from '../helpers.ts';

const CLI = resolve('bin/warden.js');

/** The npm packages a CLI invocation loads, read by a module hook (no timing involved). */
function packagesLoaded(args: string[]): Set<string> {
  const hook = join(tempDir(), 'hook.mjs');
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
registerHooks({ load(url, context, next) {
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url);
  if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
  return next(url, context);
} });
`,
  );
  const out = spawnSync(process.execPath, ['--import', hook, CLI, ...args], { encoding: 'utf8' });
  return new Set(
    out.stderr
      .split('\n')
      .filter((l) => l.startsWith('LOADED '))
      .map((l) => l.slice(7)),
  );
}

describe('the CLI as a tool people pipe and script', () => {
  it('loads only what the command needs: --help, runs list and approvals list start without the AI SDK, OpenTelemetry, the server or MCP', () => {
    const heavy = [
      'ai',
      '@opentelemetry/sdk-trace',
      '@opentelemetry/exporter-trace-otlp-http',
      'hono',
      '@hono/node-server',
      '@modelcontextprotocol/sdk',
      'prom-client',
    ];
    const db = join(tempDir(), 'w.db');
    for (const args of [['--help'], ['runs', 'list', '--db', db], ['approvals', 'list', '--db', db]]) {
      const loaded = packagesLoaded(args);
      assert.ok(loaded.has('commander'), `the hook saw nothing for ${args.join(' ')}`);
      for (const name of heavy) assert.ok(!loaded.has(name), `warden ${args.join(' ')} loaded ${name}`);
    }
    assert.ok(!packagesLoaded(['runs', 'list', '--db', db]).has('pg'), 'a SQLite store does not load the PostgreSQL driver');
  });

  it('lists every command in --help with the summary its own module registers', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const entry of COMMANDS) {
      const program = new Command('warden');
      (await entry.load())(program);
      const registered = program.commands.find((c) => c.name() === entry.name);
      assert.ok(registered, `${entry.name} is not defined by the module the table names`);
      assert.equal(entry.summary, registered.description(), `summary of ${entry.name}`);
      assert.match(help.stdout, new RegExp(`\\n  ${entry.name}\\s`));
    }
    const version = await runCli(['--version']);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  it('answers errors in JSON under --json, with the same exit codes as the text form', async () => {
    const cases: { args: string[]; code: string; exit: number }[] = [
      { args: ['run', 'no-such-agent.ts', '--input', 'x'], code: 'AGENT_LOAD_FAILED', exit: 2 },
      { args: ['runs', 'show', 'run_nope', '--db', join(tempDir(), 'w.db')], code: 'NOT_FOUND', exit: 2 },
      { args: ['runs', 'list', '--bogus-flag'], code: 'INVALID_ARGUMENT', exit: 2 },
    ];
    for (const c of cases) {
      const text = await runCli(c.args);
      const json = await runCli([...c.args, '--json']);
      assert.equal(text.code, c.exit, `${c.args.join(' ')}: ${text.stderr}`);
      assert.equal(json.code, c.exit);
      assert.match(text.stderr, new RegExp(`^(warden: ${c.code}|error:)`));
      const body = JSON.parse(json.stderr.trim().split('\n').at(-1)!);
      assert.equal(body.error.code, c.code);
      assert.equal(typeof body.error.message, 'string');
    }
  });

  it('exits quietly when the reader of its output goes away (warden runs list | head)', async () => {
    const db = join(tempDir(), 'w.db');
    const seed = await runCli(['rehearse', 'examples/support-desk.ts', '--requests', '400', '--db', db]);
    assert.equal(seed.code, 0, seed.stderr);
    const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [CLI, 'runs', 'list', '--db', db, '--limit', '400', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.once('data', () => child.stdout.destroy()); // like `head -c 1`
      child.on('exit', (code) => done({ code, stderr }));
    });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /EPIPE|at .*\(/);
  });

  it('reports a syntax error in an agent file with its file, line and column', async () => {
    const dir = tempDir();
    for (const [name, text, where] of [
      ['agent.ts', "import { z } from 'zod';\nconst x: number = 1;\nexport default {\n  a: ,\n};\n", 'agent.ts:4:'],
      ['agent.js', 'const x = 1;\nexport default {\n  a: ;\n};\n', 'agent.js:3:6'],
    ] as const) {
      writeFileSync(join(dir, name), text);
      const out = await runCli(['audit', join(dir, name)]);
      assert.equal(out.code, 2);
      assert.match(out.stderr, /AGENT_LOAD_FAILED/);
      assert.ok(out.stderr.includes(`${dir}/${where}`), out.stderr);
      assert.match(out.stderr, /\^/);
    }
  });

  it('refuses a store URL it does not know instead of creating a file with that name', async () => {
    const dir = tempDir();
    for (const db of ['mysql://root@127.0.0.1/warden', 'postgress://localhost/test', 'sqlite://x.db']) {
      const flag = await runCli(['runs', 'list', '--db', db]);
      assert.equal(flag.code, 2, db);
      assert.match(flag.stderr, /INVALID_ARGUMENT: --db is a \w+:\/\/ URL/);
      const env = await runCli(['runs', 'list'], { WARDEN_DB: db });
      assert.match(env.stderr, /WARDEN_DB is a/);
    }
    assert.deepEqual(readdirSync(dir), []);
    assert.ok(!existsSync('mysql:'), 'no file was created for the URL');
  });

  it('refuses a durability other than process or power, from --durability or WARDEN_DURABILITY', async () => {
    const db = join(tempDir(), 'w.db');
    const flag = await runCli(['run', 'test/fixtures/looping-agent.ts', '--input', 'go', '--db', db, '--durability', 'disk']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /INVALID_ARGUMENT: --durability must be "process" or "power", got "disk"/);
    const env = await runCli(['runs', 'list', '--db', db], { WARDEN_DURABILITY: 'fsync' });
    assert.match(env.stderr, /WARDEN_DURABILITY must be "process" or "power"/);
    const ok = await runCli(['runs', 'list', '--db', db, '--json'], { WARDEN_DURABILITY: 'power' });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('refuses a SQLite database of another application and leaves it as it was', async () => {
    const file = join(tempDir(), 'crm.db');
    const db = new DatabaseSync(file);
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'Ana')");
    db.close();
    const size = statSync(file).size;
    const out = await runCli(['runs', 'list', '--db', file]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /INVALID_ARGUMENT: .*crm\.db is a SQLite database of something else \(tables: customers\)/);
    const after = new DatabaseSync(file);
    const tables = after
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
      .all()
      .map((r) => (r as { name: string }).name);
    after.close();
    assert.deepEqual(tables, ['customers']);
    assert.equal(statSync(file).size, size);
  });

  it('fails fast on a module that is not an agent, even one that started a server on import', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'service.ts'),
      "import { createServer } from 'node:http';\ncreateServer(() => {}).listen(0, '127.0.0.1');\nsetInterval(() => {}, 1000);\nexport const notAnAgent = 1;\n",
    );
    for (const args of [
      ['audit', join(dir, 'service.ts')],
      ['run', join(dir, 'service.ts'), '--input', 'x', '--db', join(dir, 'w.db')],
      ['serve', '--agents', dir, '--port', '0', '--db', join(dir, 'w.db')],
    ]) {
      const out = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(out.signal, null, `warden ${args[0]} hung on what the module started`);
      assert.equal(out.status, 2, `${args[0]}: ${out.stderr}`);
      assert.match(out.stderr, /AGENT_LOAD_FAILED: .*service\.ts must have a default export made with defineAgent/);
    }
  });

  it('refuses an empty file and an empty SQLite database at the store path, and leaves them as they were', async () => {
    const dir = tempDir();
    const emptyFile = join(dir, 'empty.db');
    writeFileSync(emptyFile, '');
    const emptyDb = join(dir, 'blank.db');
    new DatabaseSync(emptyDb).close();
    for (const file of [emptyFile, emptyDb]) {
      const size = statSync(file).size;
      const out = await runCli(['runs', 'list', '--db', file]);
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr, /INVALID_ARGUMENT: .* exists but is empty \(no tables\): it is not a Warden store/);
      assert.equal(statSync(file).size, size);
    }
  });

  it('creates a new store atomically: four processes opening the same new path at once all get the one store', async () => {
    const db = join(tempDir(), 'new', 'w.db');
    const outs = await Promise.all([1, 2, 3, 4].map(() => runCli(['runs', 'list', '--db', db, '--json'])));
    for (const out of outs) assert.equal(out.code, 0, out.stderr);
    const store = new DatabaseSync(db);
    const migrations = store.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number };
    store.close();
    assert.ok(migrations.n > 0);
    assert.deepEqual(
      readdirSync(join(db, '..')).filter((f) => f.includes('.creating-')),
      [],
      'no temporary files left',
    );
  });
});
