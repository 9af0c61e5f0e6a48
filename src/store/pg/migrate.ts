// Migrations at start, several instances at once: under a session advisory lock, so one instance
// applies what is missing while the others wait, then find nothing left to do. drizzle's own
// migrator keeps its table in a fixed schema; this one keeps drizzle's table layout in the schema
// the connection works in (search_path), so several gateways (or test files) can share one server.
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type pg from 'pg';

/** What a start found and did. */
export interface MigrationOutcome {
  /** No migration had run before: the schema was created now. */
  fresh: boolean;
  /** How many migrations this start applied (0 when another instance, or an earlier start, had). */
  applied: number;
}

export async function migratePg(pool: pg.Pool, migrationsFolder: string): Promise<MigrationOutcome> {
  const migrations = readMigrationFiles({ migrationsFolder });
  const client = await pool.connect();
  try {
    const schema = (await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s;
    if (!schema) throw new Error('PostgreSQL: no schema to work in (search_path names none that exists)');
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`profile-gateway:migrations:${schema}`]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)');
      const done = await client.query<{ created_at: string }>('SELECT created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1');
      const last = done.rows[0] ? Number(done.rows[0].created_at) : null;
      const pending = migrations.filter((m) => last === null || m.folderMillis > last);
      if (pending.length > 0) {
        await client.query('BEGIN');
        try {
          for (const m of pending) {
            // drizzle-kit writes references as "public"."table": the tables are the connection's schema's.
            for (const statement of m.sql) if (statement.trim()) await client.query(statement.replaceAll('"public".', ''));
            await client.query('INSERT INTO __drizzle_migrations (hash, created_at) VALUES ($1, $2)', [m.hash, m.folderMillis]);
          }
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      return { fresh: last === null, applied: pending.length };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`profile-gateway:migrations:${schema}`]);
    }
  } finally {
    client.release();
  }
}
