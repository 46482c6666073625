// ESLint flat config. Type-aware rules for all TypeScript (tsconfig.eslint.json covers every .ts file, tests and
// prisma/prisma.config.ts included); the JS recommended rules with Node globals for the plain scripts in bench/,
// scripts/ and bin/. `npm test` runs it, so CI enforces it.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The Node globals the plain .js/.mjs scripts use (the `globals` package is not a dependency).
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'AbortSignal',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextDecoder',
    'TextEncoder',
    'clearInterval',
    'clearTimeout',
    'console',
    'fetch',
    'global',
    'globalThis',
    'performance',
    'process',
    'queueMicrotask',
    'setImmediate',
    'setInterval',
    'setTimeout',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);

// What workflow code may not import: the house rule is that it imports only the runbook model,
// @temporalio/workflow and activity types. The workflow bundler refuses most of these too, but only at bundle time.
const workflowForbidden = {
  patterns: [
    {
      group: ['node:*'],
      message: 'Workflow code is deterministic: no Node built-ins (use @temporalio/workflow or the runbook model).',
    },
    { group: ['@prisma/*', 'prisma'], message: 'Workflow code cannot touch the database: do it in an activity.' },
    { group: ['express', 'ink'], message: 'Workflow code does not render or serve anything.' },
    {
      group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
      message: 'Workflow code imports only @temporalio/workflow (and activity types with `import type`).',
    },
  ],
  // Node built-ins without the `node:` prefix.
  paths: [
    'assert',
    'async_hooks',
    'buffer',
    'child_process',
    'cluster',
    'crypto',
    'dgram',
    'dns',
    'events',
    'fs',
    'fs/promises',
    'http',
    'http2',
    'https',
    'module',
    'net',
    'os',
    'path',
    'perf_hooks',
    'process',
    'readline',
    'stream',
    'timers',
    'timers/promises',
    'tls',
    'tty',
    'url',
    'util',
    'v8',
    'vm',
    'worker_threads',
    'zlib',
  ].map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins.' })),
};

// The layers, written down where a machine checks them: each folder lists the project folders it may import from.
// Anything else is a wrong-way import (test/lint.test.ts proves the rule bites). `lib/` knows nothing of cutover;
// the runbook document, the run state machine, timing and presentation are pure layers above it; `common/` is what
// clients and workers share; the page never imports the CLI and the CLI never imports activities.
const PROJECT_FOLDERS = [
  'lib',
  'reconcile',
  'runbook',
  'run',
  'timing',
  'present',
  'plans',
  'common',
  'notify',
  'prisma',
  'workflows',
  'activities',
  'worker',
  'web',
  'cli',
];
const MAY_IMPORT = {
  lib: [],
  reconcile: ['lib'],
  runbook: ['lib', 'reconcile'],
  run: ['lib', 'reconcile', 'runbook'],
  timing: ['lib', 'reconcile', 'runbook', 'run'],
  present: ['lib', 'reconcile', 'runbook', 'run', 'timing', 'prisma/records.ts'],
  // Plans as spreadsheets (import, export): the runbook document and the timing, read and written as files.
  plans: ['lib', 'reconcile', 'runbook', 'run', 'timing', 'prisma/records.ts'],
  prisma: ['lib', 'reconcile', 'runbook', 'run', 'timing'],
  // Workflow code: the model, and activity *types* (their modules are never bundled: `import type` only).
  workflows: [
    'lib',
    'reconcile',
    'runbook',
    'run',
    'activities/index.ts',
    'activities/types.ts',
    // The pure parts of notifications: the events, their routes and what each delivery needs.
    'notify/event.ts',
    'notify/plan.ts',
    'notify/deliveries.ts',
    'notify/run-events.ts',
  ],
  common: ['lib', 'reconcile', 'runbook', 'run', 'workflows/messages.ts'],
  // Notifications (issue 20): events, rendering per channel and sending; the delivery activity and the CLI use it.
  notify: ['lib', 'runbook', 'run', 'common'],
  activities: ['lib', 'reconcile', 'runbook', 'run', 'timing', 'common', 'notify', 'prisma'],
  worker: ['lib', 'reconcile', 'runbook', 'run', 'common', 'prisma', 'activities', 'workflows'],
  web: ['lib', 'reconcile', 'runbook', 'run', 'timing', 'present', 'common', 'prisma', 'workflows/messages.ts'],
  // The CLI hosts a worker in-process for `rehearse` and `cutover worker` (cli/temporal.ts loads it on demand) and
  // serves the page (`cutover web`), so it reaches those two entry points and nothing else of them.
  cli: [
    'lib',
    'reconcile',
    'runbook',
    'run',
    'timing',
    'present',
    'plans',
    'common',
    'notify',
    'prisma',
    'workflows/messages.ts',
    'worker/create-worker.ts',
    'web/server.ts',
  ],
};

/** import-x/no-restricted-paths zones from {@link MAY_IMPORT}: for each folder, every other folder it may not reach. */
function layerZones() {
  const zones = [];
  for (const [target, allowed] of Object.entries(MAY_IMPORT)) {
    for (const from of PROJECT_FOLDERS) {
      if (from === target) continue;
      const files = allowed.filter((entry) => entry.startsWith(`${from}/`)).map((entry) => `./${entry.slice(from.length + 1)}`);
      if (allowed.includes(from)) continue;
      zones.push({
        target: `./${target}`,
        from: `./${from}`,
        ...(files.length > 0 ? { except: files } : {}),
        message: `${target}/ may import only from ${allowed.join(', ') || 'no other folder of cutover'} (see MAY_IMPORT in eslint.config.js).`,
      });
    }
  }
  return zones;
}

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', '.tools/', 'schema/', 'coverage/', 'test/histories/', '**/generated/', '.cutover/'],
  },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
  },
  {
    // CommonJS scripts (bin/cached-bundle.cjs): require and module are theirs.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { ...nodeGlobals, require: 'readonly', module: 'writable', __filename: 'readonly', __dirname: 'readonly' },
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      // import-x parses only .js files unless told: no-cycle must follow imports through the .ts sources.
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      // NodeNext sources import `./x.js` for `./x.ts`: map the extension so no-cycle can follow the imports.
      'import-x/resolver-next': [
        createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'], extensionAlias: { '.js': ['.ts', '.tsx', '.js'] } }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones() }],
      // Off: `async` without `await` is how activities, recorder fakes and Prisma's adapter factory implement
      // Promise-returning interfaces, and it turns a synchronous throw into the rejection callers handle.
      '@typescript-eslint/require-await': 'off',
      // Off: String(unknown) is used on parsed YAML scalars and error codes after checks the rule cannot follow
      // (it flags every `unknown`); objects are described separately wherever they can reach it.
      '@typescript-eslint/no-base-to-string': 'off',
      // `_`-prefixed parameters and destructured leftovers are deliberate (handler signatures, omit-by-rest).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'test/**/*.tsx'],
    rules: {
      // Off in tests: they destructure activities from their factories exactly as the worker does, and activity
      // objects never use `this`.
      '@typescript-eslint/unbound-method': 'off',
      // Off in tests: response bodies, parsed JSON and `expect.any(...)` matchers are `any` on purpose; the
      // assertions that follow are the type check.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // Every folder the workflow bundle takes files from (test/workflow-bundle.test.ts checks the bundle's inputs
    // against this list).
    files: [
      'workflows/**/*.ts',
      'run/**/*.ts',
      'runbook/**/*.ts',
      'lib/**/*.ts',
      'worker/failure-converter.ts',
      'worker/payload-converter.ts',
      'notify/event.ts',
      'notify/plan.ts',
      'notify/deliveries.ts',
      'notify/run-events.ts',
    ],
    rules: { 'no-restricted-imports': ['error', workflowForbidden] },
  },
);
