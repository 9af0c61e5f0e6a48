import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/** The test files that touch storage: the postgres project runs them on PostgreSQL too. */
const POSTGRES_FILES = [
  'test/e2e/**/*.test.ts',
  'test/security/**/*.test.ts',
  'test/app/**/*.test.ts',
  'test/cluster/**/*.test.ts',
  // The README's events consumer: its deliveries come from the store's events and cursors.
  'test/examples/events-consumer.test.ts',
];
/**
 * What is about the SQLite file itself (its bytes on disk, its mode, a CLI on the file), or about no
 * storage at all: run once, on SQLite.
 */
const SQLITE_ONLY = [
  // The SQLite file's bytes and modes on disk.
  'test/security/database-files.test.ts',
  // `npm start` and its shutdown on a file of their own: the process, not the store.
  'test/e2e/start.test.ts',
  'test/e2e/start-secret.test.ts',
  'test/e2e/shutdown.test.ts',
];

export default defineConfig({
  resolve: {
    // graphql ships both CJS and ESM builds; Node (and so @graphql-tools, Apollo) loads the CJS
    // one. Point Vite's transformed code at the same file, or instanceof checks fail across realms.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/browser/**', 'test/cluster/**'] } },
      // The same storage-touching tests again on PostgreSQL (TEST_DATABASE_URL, default the machine's
      // server; each gateway in a schema of its own, test/helpers/database.ts), and the cluster tests.
      {
        extends: true,
        test: {
          name: 'postgres',
          include: POSTGRES_FILES,
          exclude: [...configDefaults.exclude, ...SQLITE_ONLY],
          env: { TEST_STORE: 'postgres' },
        },
      },
      // The browser tests' setup finds Chromium or installs Debian's; it runs only when they are selected.
      { extends: true, test: { name: 'browser', include: ['test/browser/**/*.test.ts'], globalSetup: ['test/browser/setup.ts'] } },
    ],
  },
});
