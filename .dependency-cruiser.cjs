// The one direction of imports in src/ (docs/architecture.md draws it). `npm run check:deps`
// runs these rules in CI; `npm run deps:graph` redraws docs/dependency-graph.md from the code.
//
// Layers, lowest first. A folder may import its own files and any folder in a lower layer, never
// one in its own layer or above: that is what keeps the folders free of circles.
const LAYERS = [
  ['core'], // events, fold, money, ids, ports: imports nothing else from src/
  ['model'], // model ports' adapters: the AI SDK bridge, pricing, the simulated model
  ['agent'], // the user's declarations: defineAgent, defineTool, loading an agent file
  ['guard', 'tools', 'store'], // pure checks; tool adapters (MCP, AI SDK); store adapters
  ['runtime'], // the governed run loop, on core's ports
  ['scheduler', 'observe', 'rehearse'], // workers; traces, metrics, replay, drift; rehearsal and audit
  ['server'], // HTTP API and dashboard
  ['cli'], // the warden command
];

const layerOf = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i])));
const above = (folder) => {
  const mine = layerOf.get(folder);
  return [...layerOf].filter(([f, i]) => i >= mine && f !== folder).map(([f]) => f);
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No file reaches itself through its imports, type imports included: a cycle is a layer waiting to knot.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-imports-only-core',
      comment: 'core/ is what every layer speaks; it imports nothing else from src/.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'store-never-imports-runtime',
      comment: 'Stores implement core\'s ports; the runtime depends on the ports, never the other way.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/runtime/' },
    },
    {
      name: 'runtime-reaches-stores-through-ports',
      comment: 'The run loop talks to core/ports; store and tool adapters are chosen by whoever builds it.',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(store|tools)/' },
    },
    {
      name: 'only-cli-imports-cli',
      comment: 'Nothing below the command line imports it (a library user never loads commander).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    ...[...layerOf.keys()]
      .filter((folder) => above(folder).length > 0)
      .map((folder) => ({
        name: `layer-${folder}`,
        comment: `${folder}/ may import only folders in lower layers (.dependency-cruiser.cjs lists them).`,
        severity: 'error',
        from: { path: `^src/${folder}/` },
        to: { path: `^src/(${above(folder).join('|')})/` },
      })),
    {
      name: 'no-orphans-in-src',
      comment: 'A file nothing imports is dead code (entry points and tests aside).',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: ['^src/server/dashboard/', '\\.test\\.ts$', '^src/index\\.ts$', '^src/cli/main\\.ts$', '\\.d\\.ts$'] },
      to: {},
    },
  ],
  options: {
    includeOnly: '^src/',
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
