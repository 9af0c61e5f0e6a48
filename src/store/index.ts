// The store factory: the one place that picks and opens a store implementation from the
// configuration. The runtime and every CLI open their store here; a second dialect is a branch here
// and a folder beside ./sqlite, with no change elsewhere.
import { MIGRATIONS_FOLDER, MIGRATIONS_FOLDER_PG } from '../config.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './types.js';

/** What the factory needs of the configuration (a Config has it). */
export interface StoreConfig {
  /** The SQLite file, or ':memory:'. */
  databasePath: string;
  /** postgres://…: the PostgreSQL store instead (null or absent: SQLite). */
  databaseUrl?: string | null;
  /** DATABASE_READ_URL: a streaming replica of databaseUrl, for requests' reads (./pg/replica.ts). */
  databaseReadUrl?: string | null;
  /** REDIS_URL and its key prefix: where callers' last write positions are shared (else per process). */
  guard?: { redisUrl: string | null; redisPrefix: string };
  /** PSEUDONYM_SECRET: the key of erased ids' hashes and audit pseudonyms (else a key file beside the database). */
  pseudonymSecret?: string | null;
  /** How many import keys the PostgreSQL store holds in memory before its TEMP table (default 200,000). */
  importKeysInMemory?: number;
  /** DATABASE_POOL_SIZE and DATABASE_POOL_TIMEOUT_MS: the PostgreSQL pools' size and acquire timeout (default 10, 5000 ms). */
  databasePool?: { size: number; timeoutMs: number };
  /** DATABASE_MIGRATION_LOCK_WAIT_MS: how long a PostgreSQL start waits for another instance's migration. */
  databaseMigrationLockWaitMs?: number;
}

export interface OpenStoreOptions {
  /** Called with every SQL statement run (the statement-count tests and the benchmark use it). */
  onStatement?: (sql: string) => void;
  /**
   * The hook for a connection pool (#15: PostgreSQL): a store with a pool passes it here once open,
   * and the runtime exports its in-use, idle and waiting counts as `gateway_db_pool_connections`
   * (observability/metrics.ts, Metrics.registerDbPool). SQLite has no pool and never calls it.
   */
  onPool?: (name: string, pool: { totalCount: number; idleCount: number; waitingCount: number }) => void;
}

/** Opens the configured store, migrated to the current schema. */
export async function openStore(config: StoreConfig, opts: OpenStoreOptions = {}): Promise<Store> {
  if (config.databaseUrl) {
    // Loaded only here: the PostgreSQL driver and store cost a SQLite gateway memory for nothing.
    const { openPgStore } = await import('./pg/index.js');
    return openPgStore({ url: config.databaseUrl, migrationsFolder: MIGRATIONS_FOLDER_PG, onStatement: opts.onStatement, onPool: opts.onPool, pseudonymSecret: config.pseudonymSecret, importKeysInMemory: config.importKeysInMemory, pool: config.databasePool, migrationLockWaitMs: config.databaseMigrationLockWaitMs, readUrl: config.databaseReadUrl, redisUrl: config.guard?.redisUrl, redisPrefix: config.guard?.redisPrefix });
  }
  return openSqliteStore({ path: config.databasePath, migrationsFolder: MIGRATIONS_FOLDER, onStatement: opts.onStatement, pseudonymSecret: config.pseudonymSecret });
}

/** How the configured store names itself in a log line. */
export const DIALECT_LABELS: Record<Store['dialect'], string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
