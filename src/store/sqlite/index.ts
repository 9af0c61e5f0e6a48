// The SQLite store: the embedded default. better-sqlite3 is synchronous, so each write is one
// synchronous transaction (SQLite serialises writers), wrapped in the async Store interface.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { Store } from '../types.js';
import { sqliteAudit, sqliteOutbox } from './audit.js';
import { sqliteDeliveries, sqliteEvents, sqliteWebhooks } from './events.js';
import { preparingOnce, registerStatements, Statements } from './raw.js';
import * as t from './tables.js';
import { sqliteConnections } from './connections.js';
import { sqliteOrganizations } from './organizations.js';
import { sqliteUsers } from './users.js';
import { sqliteInvitations, sqliteTickets } from './tickets.js';
import { type Db, cursorKeyOf, idHasher } from './shared.js';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:'. */
  path: string;
  migrationsFolder: string;
  /** Called with every SQL statement run (the statement-count tests use it). */
  onStatement?: (sql: string) => void;
  /**
   * The key of erased ids' hashes and audit pseudonyms (PSEUDONYM_SECRET); without it, a random
   * key kept beside the database file (`pseudonym-secret`, mode 0600), or one per process in memory.
   */
  pseudonymSecret?: string | null;
}

/** The database file, created if missing, readable and writable by its owner only (0600). */
function ownerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

function pseudonymSecretBeside(path: string): string {
  if (path === ':memory:') return randomBytes(32).toString('base64url');
  const file = join(dirname(path), 'pseudonym-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process (a CLI beside the server) made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
  return secret;
}

export function openSqliteStore(opts: SqliteStoreOptions): Store {
  const fresh = opts.path === ':memory:' || !existsSync(opts.path);
  if (opts.path !== ':memory:') ownerOnly(opts.path);
  const sqlite = new Database(opts.path);
  sqlite.pragma('journal_mode = WAL');
  // SQLite gives -wal and -shm the database file's mode; files left by an older start are fixed here.
  if (opts.path !== ':memory:') for (const side of ['-wal', '-shm']) if (existsSync(opts.path + side)) chmodSync(opts.path + side, 0o600);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  // Erased data is overwritten, not just unlinked from the b-tree.
  sqlite.pragma('secure_delete = ON');
  const logger = opts.onStatement ? { logQuery: (q: string) => opts.onStatement?.(q) } : false;
  const db: Db = drizzle(preparingOnce(sqlite), { schema: t, logger });
  const migrationsRun = () =>
    (sqlite.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = '__drizzle_migrations'").get() as { n: number }).n === 0
      ? 0
      : (sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n;
  const migrationsBefore = migrationsRun();
  migrate(db, { migrationsFolder: opts.migrationsFolder });
  const migrationsApplied = migrationsRun() - migrationsBefore;
  const statements = new Statements(sqlite, opts.onStatement);
  registerStatements(db, statements);
  const serverSecret = opts.pseudonymSecret || pseudonymSecretBeside(opts.path);
  const hashId = idHasher(serverSecret);
  const connections = sqliteConnections(db, statements);
  const users = sqliteUsers({ db, sqlite, statements, hashId });
  const organizations = sqliteOrganizations(db, statements);

  return {
    dialect: 'sqlite',
    routesReads: false,
    location: opts.path,
    fresh,
    migrationsApplied,
    connections,
    users,
    organizations,
    outbox: sqliteOutbox(db),
    tickets: sqliteTickets(db),
    invitations: sqliteInvitations(db),
    audit: sqliteAudit(db),
    events: sqliteEvents(db),
    webhooks: sqliteWebhooks(db),
    deliveries: sqliteDeliveries(db),
    cursorKey: cursorKeyOf(serverSecret),
    secretBoxKey: null,
    async ping() {
      sqlite.prepare('SELECT 1').get();
    },
    async close() {
      if (sqlite.open) sqlite.close();
    },
  };
}
