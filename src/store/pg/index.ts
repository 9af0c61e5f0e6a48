// The PostgreSQL store: DATABASE_URL=postgres://… selects it. node-postgres with a pool; every
// write one transaction that locks what it reads (SELECT … FOR UPDATE), so several gateway
// instances on one database decide each write as one process would. The SQLite store
// (../sqlite) is the reference: each method here has the same observable behaviour.
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { cursorKeyOf, idHasher, secretBoxKeyOf } from '../pseudonyms.js';
import type { Store } from '../types.js';
import { pgAudit, pgOutbox } from './audit.js';
import { pgDeliveries, pgEvents, pgWebhooks } from './events.js';
import { migratePg } from './migrate.js';
import { DEFAULT_POOL, poolConfig, type PoolSettings, withClearTimeouts } from './pool.js';
import { openReplicaRouting } from './replica.js';
import { type Db } from './shared.js';
import * as t from './tables.js';
import { pgConnections } from './connections.js';
import { pgOrganizations } from './organizations.js';
import { pgUsers } from './users.js';
import { pgInvitations, pgTickets } from './tickets.js';

export interface PgStoreOptions {
  /** postgres://USER@HOST:PORT/DB (a search_path in `options` picks the schema). */
  url: string;
  migrationsFolder: string;
  onStatement?: (sql: string) => void;
  onPool?: (name: string, pool: { totalCount: number; idleCount: number; waitingCount: number }) => void;
  pseudonymSecret?: string | null;
  /** The pools' size and acquire timeout (DATABASE_POOL_SIZE, DATABASE_POOL_TIMEOUT_MS; the replica's pool alike). */
  pool?: PoolSettings;
  /** DATABASE_MIGRATION_LOCK_WAIT_MS: how long a start waits for another instance's migration (./migrate.ts). */
  migrationLockWaitMs?: number;
  /** Import keys held in memory before the TEMP table (default 200,000: ./users.ts). */
  importKeysInMemory?: number;
  /** DATABASE_READ_URL: a streaming replica for a request's plain reads (./replica.ts). */
  readUrl?: string | null;
  /** Where callers' last write positions are shared between instances (else in this process). */
  redisUrl?: string | null;
  redisPrefix?: string;
}

/** The pseudonym key kept in the database: the first instance to start makes it, every other reads it. */
async function pseudonymSecretIn(db: Db): Promise<string> {
  await db
    .insert(t.storeSettings)
    .values({ name: 'pseudonym_secret', value: randomBytes(32).toString('base64url') })
    .onConflictDoNothing();
  const [row] = await db.select().from(t.storeSettings).where(eq(t.storeSettings.name, 'pseudonym_secret'));
  if (!row) throw new Error('pseudonym secret missing after insert');
  return row.value;
}

export async function openPgStore(opts: PgStoreOptions): Promise<Store> {
  const poolSettings = opts.pool ?? DEFAULT_POOL;
  const routing = opts.readUrl
    ? openReplicaRouting({ primaryUrl: opts.url, replicaUrl: opts.readUrl, pool: poolSettings, redisUrl: opts.redisUrl, redisPrefix: opts.redisPrefix })
    : null;
  const pool = routing?.pool ?? withClearTimeouts(new pg.Pool(poolConfig(opts.url, poolSettings)), 'primary', poolSettings);
  // An idle client's error (the server restarted) must not take the process down; the next query reconnects.
  pool.on('error', () => undefined);
  let migration;
  try {
    await routing?.ready();
    migration = await migratePg(pool, opts.migrationsFolder, { lockWaitMs: opts.migrationLockWaitMs });
  } catch (err) {
    await pool.end();
    await routing?.close();
    throw err;
  }
  const logger = opts.onStatement ? { logQuery: (q: string) => opts.onStatement?.(q) } : false;
  const db: Db = drizzle({ client: pool, schema: t, logger });
  if (routing) {
    // Every transaction is the primary's (connect()); once one commits, the request reads the
    // primary and its caller's write position is kept for their next requests.
    const transaction = db.transaction.bind(db);
    db.transaction = async (fn, config) => {
      const result = await transaction(fn, config);
      await routing.wrote();
      return result;
    };
  }
  /** The caller check's reads: never a lagging copy. */
  const onPrimary = <T>(fn: () => Promise<T>): Promise<T> => (routing ? routing.onPrimary(fn) : fn());
  const serverSecret = opts.pseudonymSecret || (await pseudonymSecretIn(db));
  const hashId = idHasher(serverSecret);
  opts.onPool?.('primary', pool);
  if (routing) opts.onPool?.('replica', routing.replica);

  const connections = pgConnections(db, pool);
  const users = pgUsers({ db, hashId, onPrimary, url: opts.url, poolSettings, importKeysInMemory: opts.importKeysInMemory });
  const organizations = pgOrganizations(db);

  return {
    dialect: 'postgres',
    routesReads: routing !== null && routing !== undefined,
    location: describe(opts.url),
    fresh: migration.fresh,
    migrationsApplied: migration.applied,
    connections,
    users,
    organizations,
    outbox: pgOutbox(db),
    tickets: pgTickets(db),
    invitations: pgInvitations(db),
    audit: pgAudit(db),
    events: pgEvents(db),
    webhooks: pgWebhooks(db),
    deliveries: pgDeliveries(db),
    cursorKey: cursorKeyOf(serverSecret),
    secretBoxKey: secretBoxKeyOf(serverSecret),
    async ping() {
      await db.execute(sql`SELECT 1`);
    },
    async close() {
      await pool.end();
      await routing?.close();
    },
  };
}

/** The server and database of a URL, for a log line: never the password. */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'postgres';
  }
}

