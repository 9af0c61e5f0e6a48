// Migrations at start, several instances at once: under a session advisory lock, so one instance
// applies what is missing while the others wait, then find nothing left to do. drizzle's own
// migrator keeps its table in a fixed schema; this one keeps drizzle's table layout in the schema
// the connection works in (search_path), so several gateways (or test files) can share one server.
//
// Waits are bounded: the migration lock (another instance migrating) for `lockWaitMs`
// (DATABASE_MIGRATION_LOCK_WAIT_MS, default 10 minutes: a long migration elsewhere is waited
// for), every statement's wait for a table lock for STATEMENT_LOCK_TIMEOUT_MS (a migration's DDL
// queued behind a stuck transaction would hold off every query of that table meanwhile). Either
// ends the start with an error that says what was waited for, instead of a start that never ends.
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type pg from 'pg';
import { pgError } from './shared.js';

/** What a start found and did. */
export interface MigrationOutcome {
  /** No migration had run before: the schema was created now. */
  fresh: boolean;
  /** How many migrations this start applied (0 when another instance, or an earlier start, had). */
  applied: number;
}

export const DEFAULT_MIGRATION_LOCK_WAIT_MS = 600_000;
/** How long one migration statement waits for a lock on a table before the start fails. */
export const STATEMENT_LOCK_TIMEOUT_MS = 30_000;

export class MigrationLockTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationLockTimeoutError';
  }
}

const lockNotAvailable = (err: unknown) => pgError(err)?.code === '55P03';

export async function migratePg(pool: pg.Pool, migrationsFolder: string, opts: { lockWaitMs?: number } = {}): Promise<MigrationOutcome> {
  const lockWaitMs = opts.lockWaitMs ?? DEFAULT_MIGRATION_LOCK_WAIT_MS;
  const migrations = readMigrationFiles({ migrationsFolder });
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    const schema = (await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s;
    if (!schema) throw new Error('PostgreSQL: no schema to work in (search_path names none that exists)');
    const lockKey = `profile-gateway:migrations:${schema}`;
    await client.query(`SET lock_timeout = ${Math.max(1, Math.round(lockWaitMs))}`);
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
    } catch (err) {
      if (!lockNotAvailable(err)) throw err;
      const holder = await client
        .query<{ pid: number; application_name: string | null; state: string | null }>(
          `SELECT a.pid, a.application_name, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
          [lockKey],
        )
        .then((r) => r.rows[0])
        .catch(() => undefined);
      const who = holder ? ` (held by server process ${holder.pid}${holder.application_name ? `, "${holder.application_name}"` : ''}, ${holder.state ?? 'state unknown'})` : '';
      throw new MigrationLockTimeoutError(
        `PostgreSQL: waited ${lockWaitMs} ms (DATABASE_MIGRATION_LOCK_WAIT_MS) for the migration lock of schema "${schema}"${who}: another instance is migrating it, or one is stuck holding the lock; start again once it is done, or end that session (pg_terminate_backend).`,
      );
    }
    try {
      await client.query(`SET lock_timeout = ${STATEMENT_LOCK_TIMEOUT_MS}`);
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
          await client.query('ROLLBACK').catch(() => undefined);
          if (lockNotAvailable(err)) {
            throw new MigrationLockTimeoutError(
              `PostgreSQL: a migration statement waited ${STATEMENT_LOCK_TIMEOUT_MS} ms for a lock on a table of schema "${schema}" that another session holds (a long transaction, an older instance): nothing was applied; end that transaction and start again.`,
            );
          }
          throw err;
        }
      }
      await client.query('RESET lock_timeout');
      return { fresh: last === null, applied: pending.length };
    } finally {
      // Best effort: should it fail, the client is discarded below, and the lock goes with its session.
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]).catch((err: unknown) => {
        failure ??= err instanceof Error ? err : new Error(String(err));
      });
    }
  } catch (err) {
    failure ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // A client that failed is discarded (its connection may be broken, or hold the lock or a
    // transaction still), never handed to the next request.
    client.release(failure);
  }
}
