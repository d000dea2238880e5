// ESLint flat config: typescript-eslint's type-aware rules over the TypeScript sources (src/, test/, scripts/),
// plain ESLint rules over the few JavaScript files (bin/, test/ops/). `npm run lint`.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.data/', 'test-results/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // One TypeScript program per tsconfig.json, the same one `npm run typecheck` builds.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its rejection: the service must never drop an error on the floor.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function where a void callback is expected (an Express handler, an event listener) rejects unseen.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      // An async function that never awaits still turns a throw into a rejection, which is what a caller of a
      // Promise-returning port (a store, a sink, a fake in a test) handles; dropping `async` would make it throw instead.
      '@typescript-eslint/require-await': 'off',
      // Passing on what a catch received (typed unknown) is propagation, not a new non-Error rejection.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // `_`-prefixed names are the house way to say "deliberately unused" (a parameter a signature requires).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.test.ts'],
    rules: {
      // supertest's `res.body` and vitest's asymmetric matchers (`expect.any(String)`) are typed `any` by those
      // libraries: a test reads them only to assert on them, and the assertion is the check. no-explicit-any and
      // no-unsafe-argument still hold, so a test adds no `any` of its own and passes none into the code under test.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
);
