// Which store the tests run on: the one place that chooses. The `postgres` vitest project sets
// TEST_STORE=postgres; each gateway then gets a schema of its own on TEST_DATABASE_URL (default the
// machine's server), so test files run in parallel on one database. Otherwise: a SQLite file.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
  /**
   * Runs one SQL statement on the database, whichever it is: `?` placeholders (numbered for
   * PostgreSQL here), a Date parameter bound as the store keeps timestamps (ms on SQLite).
   */
  query<R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** The gateway's tables (not the migrations' own). */
  tables(): Promise<string[]>;
  drop(): Promise<void>;
}

/** A new, empty database for one gateway: a file in `dir`, or a fresh schema on the server. */
export async function createTestDatabase(dir: string, store: 'sqlite' | 'postgres' = TEST_STORE): Promise<TestDatabase> {
  if (store === 'sqlite') {
    const path = join(dir, 'gateway.db');
    const query = async <R,>(text: string, params: unknown[] = []): Promise<R[]> => {
      const db = new Database(path);
      try {
        const statement = db.prepare(text);
        const values = params.map((p) => (p instanceof Date ? p.getTime() : typeof p === 'boolean' ? Number(p) : p));
        return (statement.reader ? statement.all(...values) : (statement.run(...values), [])) as R[];
      } finally {
        db.close();
      }
    };
    return {
      url: `file:${path}`,
      path,
      schema: null,
      query,
      async tables() {
        const rows = await query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__drizzle_migrations'");
        return rows.map((r) => r.name);
      },
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
  const database: TestDatabase = {
    url,
    path: null,
    schema,
    async query(text, params) {
      if (!client) {
        client = new pg.Client({ connectionString: url });
        await client.connect();
      }
      let n = 0;
      return (await client.query(text.replace(/\?/g, () => `$${(n += 1)}`), params)).rows;
    },
    async tables() {
      const rows = await database.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' AND table_name <> '__drizzle_migrations'",
        [schema],
      );
      return rows.map((r) => r.name);
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
  return database;
}
