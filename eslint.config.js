// Lint rules for Salvo: typescript-eslint with type information, plus the architecture's
// bans (no real clock, timers, randomness or I/O under src/cluster and src/nodes).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const simulatedOnly = {
  'no-restricted-imports': [
    'error',
    {
      paths: [
        'net',
        'dgram',
        'fs',
        'tls',
        'timers',
        'node:net',
        'node:dgram',
        'node:fs',
        'node:tls',
        'node:timers',
        'node:fs/promises',
        'fs/promises',
        'node:child_process',
        'node:worker_threads',
      ].map((name) => ({
        name,
        message: 'src/cluster and src/nodes reach the world only through the Runtime.',
      })),
    },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Use the Runtime timers.' },
    { name: 'setInterval', message: 'Use the Runtime timers.' },
    { name: 'setImmediate', message: 'Use the Runtime timers.' },
    { name: 'performance', message: 'Use the Runtime clock.' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'Use the Runtime seeded RNG.' },
    { object: 'Date', property: 'now', message: 'Use the Runtime clock.' },
    { object: 'process', property: 'hrtime', message: 'Use the Runtime clock.' },
  ],
};

export default tseslint.config(
  {
    // Workflow files (test fixtures, examples, bench loads) are bundled and type-checked by
    // salvo's own loader at run time; some fixtures are broken on purpose.
    ignores: [
      'dist/**',
      'node_modules/**',
      'bench/results/**',
      'bench/workflows/**',
      'salvo-results/**',
      'examples/**',
      'bin/**',
      'test/fixtures/workflows/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },
  {
    // node:test's test()/describe() return promises the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: [
                'test',
                'describe',
                'it',
                'suite',
                'before',
                'after',
                'beforeEach',
                'afterEach',
              ],
            },
          ],
        },
      ],
    },
  },
  { files: ['src/cluster/**/*.ts', 'src/nodes/**/*.ts'], rules: simulatedOnly },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
