// Which store the tests run on: the one place that chooses. The `postgres` vitest project sets
// TEST_STORE=postgres; each gateway then gets a schema of its own on TEST_DATABASE_URL (default the
// machine's server), so test files run in parallel on one database. Otherwise: a SQLite file.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';

export const TEST_STORE: 'sqlite' | 'postgres' = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** A URL whose connections work in `schema` (search_path, sent at connection start). */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export interface TestDatabase {
  /** DATABASE_URL for a gateway (or a CLI) on this database. */
  url: string;
  /** The SQLite file, when the store is SQLite. */
  path: string | null;
  /** The PostgreSQL schema, when the store is PostgreSQL. */
  schema: string | null;
  /** Runs SQL on the database (PostgreSQL only: SQLite tests open the file). */
  query<R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** A new, empty database for one gateway: a file in `dir`, or a fresh schema on the server. */
export async function createTestDatabase(dir: string): Promise<TestDatabase> {
  if (TEST_STORE === 'sqlite') {
    const path = join(dir, 'gateway.db');
    return {
      url: `file:${path}`,
      path,
      schema: null,
      query: () => Promise.reject(new Error('query() is for PostgreSQL; open the SQLite file')),
      drop: async () => undefined,
    };
  }
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const url = withSchema(TEST_DATABASE_URL, schema);
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  let client: pg.Client | null = null;
  return {
    url,
    path: null,
    schema,
    async query(text, params) {
      if (!client) {
        client = new pg.Client({ connectionString: url });
        await client.connect();
      }
      return (await client.query(text, params)).rows;
    },
    async drop() {
      if (client) await client.end();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
