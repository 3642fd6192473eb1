// The linter: guard-rails, not style. `npm run lint` (and .ci/run) runs it on the whole tree.
//
// - typescript-eslint's type-checked recommended rules, which catch bugs the compiler lets
//   through (a promise nobody awaits or catches, an async function where a callback must not
//   throw, `any` leaking into typed code), less the few that only restate taste.
// - Import boundaries: the pure core (src/calls, src/policy, src/messages, src/numbers,
//   src/plans) takes plain data and returns plain data, so it imports no adapter, ledger or I/O
//   module; src/sms speaks to the ledger only through src/records' types. A new import that
//   crosses a boundary fails here, with the reason.

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const IO_MESSAGE = 'the pure core does no I/O: it gets what it needs as arguments (and the time as a parameter).';

/**
 * I/O modules, by exact name (`paths`: a pattern without a slash would match a folder or file of
 * that name anywhere, like .gitignore).
 */
const IO_MODULES = [
  ...['fs', 'net', 'tls', 'dgram', 'http', 'https', 'http2', 'child_process', 'worker_threads', 'readline'].flatMap((m) => [m, `node:${m}`]),
  'sqlite3',
  'ws',
  'serialport',
  'smpp',
  'asterisk-manager',
  'ari-client',
];

/** What the pure core never imports: the adapters, the ledger, the daemon, and any I/O. */
const CORE_FORBIDDEN = [
  {
    group: ['**/ledger', '**/ledger/**'],
    message: 'the pure core takes plain data: no ledger (types it shares are in src/records).',
  },
  {
    group: ['**/asterisk', '**/asterisk/**', '**/sms', '**/sms/**', '**/health', '**/health/**', '**/cli', '**/cli/**', '**/demo', '**/demo/**', '**/link', '**/link/**', '**/adapters'],
    message: 'the pure core takes plain data: no adapter, command or demo (the daemon wires them).',
  },
  { group: ['**/daemon', '**/notify/webhook*'], message: 'the pure core takes plain data: no daemon or webhook worker.' },
  {
    // With a slash, a pattern is anchored: these are the subpaths of I/O packages.
    group: ['fs/*', 'node:fs/*', '@serialport/*'],
    message: IO_MESSAGE,
  },
];

const PURE_CORE = ['src/calls/**/*.ts', 'src/policy/**/*.ts', 'src/messages/**/*.ts', 'src/numbers/**/*.ts', 'src/plans/**/*.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results.json', 'bench/profile.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Bugs: a promise dropped on the floor, or handed where nobody awaits it.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `_name` marks a parameter or binding kept on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // A catch passes on what it caught (unknown): that is not a non-Error rejection.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Taste, or noise on code that is fine: off. Control characters in a regular expression are
      // what the code that escapes hostile caller IDs and texts looks for.
      'no-control-regex': 'off',
      'no-regex-spaces': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  // Tests poke into parsed JSON (`any`) and hand methods to chai (`to.be.a('function')`), and
  // read package.json with require (an import would make tsc copy it into dist/).
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  // Plain JavaScript (this file, test/support/reporter.js): no type information, CommonJS.
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // The console's own script runs in the browser (a classic script, no modules).
  {
    files: ['src/console/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', location: 'readonly', setTimeout: 'readonly', EventSource: 'readonly', Notification: 'readonly', htmx: 'readonly', encodeURIComponent: 'readonly', JSON: 'readonly' },
    },
  },
  // Import boundaries.
  {
    files: PURE_CORE,
    rules: {
      'no-restricted-imports': ['error', { paths: IO_MODULES.map((name) => ({ name, message: IO_MESSAGE })), patterns: CORE_FORBIDDEN }],
    },
  },
  {
    files: ['src/sms/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/ledger', '**/ledger/**'], message: 'src/sms does not reach into the ledger: use the row types and states in src/records.' }] },
      ],
    },
  },
);
