// ESLint flat config: typescript-eslint's recommended rules, react-hooks for the React side, and
// the rooms' import rules (see docs/ARCHITECTURE.md), written as no-restricted-imports options
// generated per room and per folder depth, so a relative import is judged by the room it lands in.
import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/** Every room under src/. `main.tsx` belongs to `app`. */
const ROOMS = ['core', 'onnx', 'compress', 'bench', 'graph', 'testing', 'workers', 'state', 'ui', 'app', 'cli'];
const ALGORITHMS = ['onnx', 'compress', 'bench', 'graph'];

/**
 * What each room may import from the other rooms. `allow`: freely; `types`: with `import type`
 * only; every other room is forbidden. `packages`: bare imports that are forbidden.
 */
const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'crypto', 'events', 'fs', 'fs/promises', 'module', 'os', 'path',
  'perf_hooks', 'process', 'stream', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];
const UI_PACKAGES = ['react', 'react-dom', 'zustand', 'comlink'];
const noNode = { regex: '^node:', message: 'Node built-ins belong in src/cli, scripts/ and tests.' };
const noNodeBare = { regex: `^(${NODE_BUILTINS.join('|')})$`.replaceAll('/', '\\/'), message: noNode.message };
const noOrt = { regex: '^onnxruntime-', message: 'onnxruntime is used only from src/workers (web) and src/cli (node).' };
const noUiPackages = {
  regex: `^(${UI_PACKAGES.join('|')})(\\/|$)`,
  message: 'React, zustand and comlink belong to the page (app, ui, state, workers).',
};
const noOrtWeb = { regex: '^onnxruntime-web(\\/|$)', message: 'onnxruntime-web is loaded only by src/workers.' };
const noOrtNode = { regex: '^onnxruntime-node(\\/|$)', message: 'onnxruntime-node is for the CLI and tests only.' };
const noBare = { regex: '^(?![./])', message: 'src/core has no dependencies.' };

/**
 * Algorithm files the page (`state`, `ui`) may import as values: the recipe format and the
 * compression methods' settings entries (`meta.ts`), small and pure, so that every edit, undo
 * and import is checked by the very code the CLI and the compressor use (docs/ARCHITECTURE.md,
 * "Methods"); the operator documentation lookup (`onnx/op-docs.ts`); and the few bench modules the page runs on its own thread where a worker round
 * trip would not do. `*` is one path segment. Nothing in src/workers re-exports algorithm code
 * for the page.
 */
const SHARED_WITH_PAGE = [
  'compress/recipe',
  'compress/methods',
  'compress/method',
  'compress/*/meta',
  'bench/describe-inputs', // the Benchmark tab's input description (symbolic dims, image defaults)
  'bench/dataset', // the Data place's description (data.json): parse, serialize, defaults
  'bench/explore/sensitivity', // the explorer's probes and per-layer sensitivity
  'bench/explore/search', // the explorer's Pareto front
  'bench/explore/score', // the explorer's metric labels
  'onnx/op-docs', // the node inspector's operator documentation (its data is a lazily imported chunk)
];

const RULES = {
  core: { allow: [], types: [], packages: [noBare] },
  onnx: { allow: ['core'], types: [], packages: [noUiPackages, noOrt, noNode, noNodeBare] },
  compress: { allow: ['core', 'onnx'], types: [], packages: [noUiPackages, noOrt, noNode, noNodeBare] },
  bench: { allow: ['core', 'onnx', 'compress'], types: [], packages: [noUiPackages, noOrt, noNode, noNodeBare] },
  graph: { allow: ['core', 'onnx'], types: [], packages: [noUiPackages, noOrt, noNode, noNodeBare] },
  testing: { allow: ['core', ...ALGORITHMS], types: [], packages: [noUiPackages, noOrt, noNode, noNodeBare] },
  workers: { allow: ['core', ...ALGORITHMS, 'testing'], types: [], packages: [noOrtNode, noNode, noNodeBare] },
  state: { allow: ['core', 'workers'], types: ALGORITHMS, shared: SHARED_WITH_PAGE, packages: [noOrt, noNode, noNodeBare] },
  ui: { allow: ['core', 'state'], types: [...ALGORITHMS, 'workers'], shared: SHARED_WITH_PAGE, packages: [noOrt, noNode, noNodeBare] },
  app: { allow: ['core', 'ui', 'state'], types: [...ALGORITHMS, 'workers'], packages: [noOrt, noNode, noNodeBare] },
  cli: { allow: ['core', ...ALGORITHMS, 'testing'], types: [], packages: [noUiPackages, noOrtWeb] },
};

/**
 * Tests (`*.test.ts`) and a room's own test helpers (files under a `testing/` folder inside the
 * room, e.g. src/compress/testing/) may also use src/testing, Node built-ins and onnxruntime-node.
 */
const TEST_PACKAGES = {
  core: [],
  onnx: [noUiPackages, noOrtWeb],
  compress: [noUiPackages, noOrtWeb],
  bench: [noUiPackages, noOrtWeb],
  graph: [noUiPackages, noOrtWeb],
  testing: [noUiPackages, noOrtWeb],
  workers: [],
  state: [noOrt],
  ui: [noOrt],
  app: [noOrt],
  cli: [noUiPackages, noOrtWeb],
};

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A negative lookahead that exempts the room's files listed in `shared` (e.g. `(?!\/(recipe|[^/]+\/meta)(\.ts)?$)`). */
function sharedExemption(room, shared = []) {
  const paths = shared.filter((p) => p.startsWith(`${room}/`)).map((p) => esc(p.slice(room.length + 1)).replaceAll('\\*', '[^/]+'));
  return paths.length === 0 ? '' : `(?!\\/(${paths.join('|')})(\\.ts)?$)`;
}

/** no-restricted-imports patterns for a file `depth` folders below src/ (src/x.ts is depth 0). */
function roomPatterns(room, depth, test) {
  const up = depth === 0 ? '\\.\\/' : `(\\.\\.\\/){${depth}}`;
  const spec = RULES[room];
  const allowed = new Set([room, ...spec.allow, ...(test ? ['testing'] : [])]);
  const patterns = [];
  for (const other of ROOMS) {
    if (allowed.has(other)) continue;
    const typeOnly = spec.types.includes(other);
    patterns.push({
      regex: `^${up}${esc(other)}${sharedExemption(other, spec.shared)}(\\/|$)`,
      message: typeOnly
        ? `src/${room} may use src/${other} through \`import type\` only${spec.shared?.some((p) => p.startsWith(`${other}/`)) ? `, except the files shared with the page (${spec.shared.join(', ')})` : ''} (rooms: docs/ARCHITECTURE.md).`
        : `src/${room} must not import src/${other} (rooms: docs/ARCHITECTURE.md).`,
      ...(typeOnly ? { allowTypeImports: true } : {}),
    });
  }
  return [...patterns, ...(test ? TEST_PACKAGES[room] : spec.packages)];
}

const MAX_DEPTH = 6;
const roomConfigs = [];
for (const room of ROOMS) {
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const dir = `src/${room}/${'*/'.repeat(depth - 1)}`;
    // Test helpers at this depth: a `testing` folder at any level between the room and the file.
    const helpers = [];
    for (let at = 0; at < depth - 1 && room !== 'testing'; at++) {
      const segments = Array.from({ length: depth - 1 }, (_, i) => (i === at ? 'testing' : '*'));
      helpers.push(`src/${room}/${segments.join('/')}/*.ts`);
    }
    for (const test of [false, true]) {
      roomConfigs.push({
        name: `rooms/${room}/depth-${depth}${test ? '/tests' : ''}`,
        files: test ? [`${dir}*.test.ts`, ...helpers] : [`${dir}*.ts`, `${dir}*.tsx`],
        ...(test ? {} : { ignores: ['**/*.test.ts', ...helpers] }),
        rules: {
          '@typescript-eslint/no-restricted-imports': ['error', { patterns: roomPatterns(room, depth, test) }],
        },
      });
    }
  }
}
roomConfigs.push({
  name: 'rooms/app/main',
  files: ['src/main.tsx'],
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: roomPatterns('app', 0, false) }] },
});

export default tseslint.config(
  { ignores: ['dist/', 'dist-e2e-*/', 'tmp/', 'node_modules/', 'test-results/', 'playwright-report/', '.cache/', '.gpu/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    name: 'project/base',
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    name: 'project/browser',
    files: ['src/app/**', 'src/ui/**', 'src/state/**', 'src/workers/**', 'src/main.tsx'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker } },
  },
  {
    name: 'project/react',
    files: ['src/app/**/*.tsx', 'src/ui/**/*.tsx', 'src/main.tsx', 'src/ui/**/use*.ts', 'src/app/**/use*.ts'],
    ...reactHooks.configs.flat['recommended-latest'],
  },
  {
    name: 'project/node',
    files: ['src/cli/**', 'scripts/**', 'e2e/**', '**/*.test.ts', '*.config.{js,ts}'],
    languageOptions: { globals: globals.node },
  },
  {
    // The service worker template (scripts/offline.ts builds dist/sw.js from it).
    name: 'project/service-worker',
    files: ['scripts/service-worker.js'],
    languageOptions: { globals: globals.serviceworker },
  },
  {
    name: 'project/ambient',
    files: ['**/*.d.ts'],
    rules: { 'no-var': 'off' },
  },
  {
    // Function length (docs/ARCHITECTURE.md, "Function length"): a function longer than 120
    // lines (blank lines and comments not counted) is split into named steps. Permanent
    // exceptions carry an `eslint-disable-next-line max-lines-per-function -- <why>` and are
    // listed in the docs. Tests (*.test.ts) and e2e/ are left out: a `describe` callback holds
    // its cases and is long by nature.
    name: 'project/function-length',
    files: ['src/**/*.{ts,tsx}', 'scripts/**/*.{ts,js}'],
    ignores: ['**/*.test.ts', 'e2e/**'],
    rules: {
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  ...roomConfigs,
  {
    // import('onnxruntime-…') is not seen by no-restricted-imports.
    name: 'rooms/dynamic-ort',
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['src/workers/**', 'src/cli/**', '**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/^onnxruntime-/]',
          message: 'onnxruntime is loaded only by src/workers (web) and src/cli (node).',
        },
      ],
    },
  },
);
