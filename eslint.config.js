// ESLint with typescript-eslint (type-aware rules where they catch real bugs: floating promises).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.tmp/', 'src/graphql/generated/', 'drizzle/', 'data/', 'bench/results/', 'examples/**/dist/', 'examples/**/src/gql/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  // The layers (README "Architecture"): dependencies point inwards, graphql → app → domain, app → store,
  // and the store knows only the domain's types. A forbidden import fails CI here.
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: '^\\.\\./', message: 'src/domain imports only its own files: the caller passes in the data a rule needs.' },
          { regex: '^(graphql|graphql-.*|@graphql-.*|@apollo/.*|drizzle-orm|drizzle-orm/.*|better-sqlite3|pg)$', message: 'src/domain is pure: no GraphQL, no SQL.' },
        ],
      }],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: '^\\.\\.?/(.*/)?(app|graphql|auth|connectors|outbox|seed|cli)(/|$)', message: 'src/store reports what happened; the app decides what it means.' },
          { regex: '^\\.\\.?/(.*/)?domain(/(?!keys\\.js$)|$)', allowTypeImports: true, message: "src/store imports only the domain's types (import type), and domain/keys.js (the comparison form its indexes hold): rules live in src/domain, and the app applies them." },
        ],
      }],
    },
  },
  {
    files: ['src/app/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: '^\\.\\.?/(.*/)?graphql(/|$)', message: 'src/app knows no GraphQL: resolvers call the app, never the reverse.' },
          { regex: '^(graphql|graphql-.*|@graphql-.*|@apollo/.*)$', message: 'src/app knows no GraphQL.' },
        ],
      }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly' } },
  },
);
