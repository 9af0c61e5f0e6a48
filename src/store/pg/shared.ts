// Helpers shared by the PostgreSQL store's modules (the counterparts of ../sqlite/shared.ts).
import { createHash } from 'node:crypto';
import { and, eq, isNull, type SQL, sql } from 'drizzle-orm';
import type { NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import { changedFields } from '../changes.js';
import type { AuditEntry, LoginBookkeeping, UserChanges, UserKey, UserRow } from '../types.js';
import * as t from './tables.js';
import { StaleRow } from '../states.js';

/** The pool's database or a transaction on one of its clients: the same query builder. */
export type Db = PgDatabase<NodePgQueryResultHKT, typeof t>;

export { changedFields };

/** Columns of a UserRow: everything but the password hash. */
export const userColumns = {
  id: t.users.id,
  connectionId: t.users.connectionId,
  email: t.users.email,
  emailVerified: t.users.emailVerified,
  username: t.users.username,
  phoneNumber: t.users.phoneNumber,
  phoneVerified: t.users.phoneVerified,
  name: t.users.name,
  nickname: t.users.nickname,
  givenName: t.users.givenName,
  familyName: t.users.familyName,
  picture: t.users.picture,
  userMetadata: t.users.userMetadata,
  appMetadata: t.users.appMetadata,
  blocked: t.users.blocked,
  blockedByOrganizationId: t.users.blockedByOrganizationId,
  migrated: t.users.migrated,
  version: t.users.version,
  createdAt: t.users.createdAt,
  updatedAt: t.users.updatedAt,
  lastLogin: t.users.lastLogin,
  lastIp: t.users.lastIp,
  loginsCount: t.users.loginsCount,
  profileSyncedAt: t.users.profileSyncedAt,
} as const;

export async function recordAudit(tx: Db, entry: AuditEntry, at: Date): Promise<void> {
  await tx.insert(t.auditEvents).values({
    at,
    actorId: entry.actorId,
    operation: entry.operation,
    targetUserId: entry.targetUserId ?? null,
    organizationId: entry.organizationId ?? null,
    fields: entry.fields ?? [],
  });
}

/** The PostgreSQL error behind `err` (drizzle wraps the driver's in its own: the cause is followed). */
export function pgError(err: unknown): { code?: string; constraint?: string } | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return e as { code?: string; constraint?: string };
  }
  return null;
}

/** The name of the unique constraint (or index) an insert or update broke, or null for any other error. */
export function violatedConstraint(err: unknown): string | null {
  const e = pgError(err);
  return e?.code === '23505' ? (e.constraint ?? '') : null;
}

/** Which user key a broken constraint protects, by the constraint's name (never the message). */
const USER_KEY_CONSTRAINTS: Record<string, UserKey> = {
  users_pkey: 'id',
  users_connection_username: 'username',
};

export function violatedUserKey(err: unknown): UserKey | null {
  const name = violatedConstraint(err);
  return name === null ? null : (USER_KEY_CONSTRAINTS[name] ?? null);
}

/** True when `err` is a serialization failure or deadlock: the transaction may simply be run again. */
export function isRetryable(err: unknown): boolean {
  const code = pgError(err)?.code;
  return code === '40001' || code === '40P01';
}

/**
 * Runs a transaction again when PostgreSQL broke a deadlock by failing it (two logins of a legacy
 * database each releasing an address the other's row holds, say): its work was rolled back whole.
 */
export async function retrying<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err;
    }
  }
}

/**
 * The user-key locks: every email or username key (`email:<connection>:<normalised>`,
 * `username:<connection>:<normalised>`) is hashed into one of USER_KEY_BUCKETS buckets, and a
 * writer holds the transaction-scoped advisory lock (USER_KEY_LOCK_CLASS, bucket) of each bucket
 * its keys fall in. One lock per key would let an import batch (up to 1000 keys) take 1000 locks,
 * and a few concurrent imports exhaust the server's lock table (`max_locks_per_transaction` ×
 * connections); buckets bound the whole gateway's user-key locks at USER_KEY_BUCKETS held at once,
 * whatever the concurrency. Two keys sharing a bucket only serialise their writers a little more.
 * Every writer of an email or username (create, update, invitation accept and logins through
 * them, imports) goes through userKeyBuckets and lockUserKeyBuckets: the same key function
 * everywhere, so they serialise with each other.
 *
 * Above those, one lock per connection (CONNECTION_LOCK_CLASS): a writer of a key holds it shared
 * (writers of one connection do not wait for each other), and an import batch holds it
 * exclusively (lockConnectionKeys) instead of any bucket, so a batch never holds buckets other
 * connections' writers need: it waits for the connection's key writers, and they for it. Both are
 * taken before any row lock.
 */
export const USER_KEY_BUCKETS = 1024;
/** The first key of the two-int advisory locks (its own space, apart from the bigint locks of events and migrations). */
export const USER_KEY_LOCK_CLASS = 0x70676b79;
/** The first key of the per-connection locks above the buckets. */
export const CONNECTION_LOCK_CLASS = 0x70676b63;


/** The lock key of one email or username of a connection. */
export function userKeyOf(kind: 'email' | 'username', connectionId: string, value: string): string {
  return `${kind}:${connectionId}:${kind === 'email' ? normalizeEmail(value) : normalizeUsername(value)}`;
}

/** The distinct buckets of `keys`, ascending: the one order every writer takes them in, so none deadlock on them. */
export function userKeyBuckets(keys: Iterable<string>): number[] {
  const buckets = new Set<number>();
  for (const key of keys) buckets.add(createHash('sha256').update(key).digest().readUInt32BE(0) % USER_KEY_BUCKETS);
  return [...buckets].sort((a, b) => a - b);
}

/**
 * Every email and username of the connection, to the end of the transaction (an import batch): its
 * lock exclusively, so no key writer of the connection runs meanwhile, and no bucket is held.
 */
export async function lockConnectionKeys(tx: Db, connectionId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${CONNECTION_LOCK_CLASS}::int, hashtext(${connectionId}))`);
}

/** Takes, to the end of the transaction, the connection's lock shared and the buckets' locks in ascending order. */
export async function lockUserKeyBuckets(tx: Db, connectionId: string, keys: Iterable<string>): Promise<void> {
  const buckets = userKeyBuckets(keys);
  if (buckets.length === 0) return;
  await tx.execute(sql`SELECT pg_advisory_xact_lock_shared(${CONNECTION_LOCK_CLASS}::int, hashtext(${connectionId}))`);
  await tx.execute(
    sql`SELECT count(pg_advisory_xact_lock(${USER_KEY_LOCK_CLASS}::int, b)) FROM (SELECT b FROM unnest(${sql.param(buckets)}::int[]) AS b ORDER BY b) AS buckets`,
  );
}

/**
 * Serialises, to the end of the transaction, the writers of one email or username of a connection:
 * the check that no other user of a database connection holds it, then the write, cannot interleave
 * with another writer's (usernames have a unique index too; emails are unique only in database
 * connections, which the users table alone cannot say).
 */
export async function lockUserKeys(tx: Db, connectionId: string, values: { email?: string | null; username?: string | null }): Promise<void> {
  const keys: string[] = [];
  if (values.email) keys.push(userKeyOf('email', connectionId, values.email));
  if (values.username) keys.push(userKeyOf('username', connectionId, values.username));
  await lockUserKeyBuckets(tx, connectionId, keys);
}

/**
 * Writes a decision's changes (and a login's bookkeeping) to a user inside a transaction: bumps
 * `version` when one of `changes` really changed the row (bookkeeping never does), keeps the
 * lower-cased lookup columns in step. A compare-and-set on `current`'s version and logins count:
 * a row that moved on is not written (StaleRow).
 */
export async function applyUserChanges(
  tx: Db,
  current: UserRow,
  changes: UserChanges,
  now: Date,
  bookkeeping: LoginBookkeeping = {},
): Promise<{ user: UserRow; changed: string[] }> {
  const profileChanged = changedFields(current, changes).length > 0;
  const changed = changedFields(current, { ...changes, ...bookkeeping });
  if (changed.length === 0) return { user: current, changed };
  const { passwordSetInCustomDatabase: _external, ...columns } = changes;
  const { passwordRehash, ...logged } = bookkeeping;
  const values: Record<string, unknown> = {
    ...columns,
    ...logged,
    ...(passwordRehash !== undefined ? { passwordHash: passwordRehash } : {}),
    updatedAt: now,
    version: profileChanged ? current.version + 1 : current.version,
  };
  if ('email' in changes) values.emailLower = changes.email ? normalizeEmail(changes.email) : null;
  if ('username' in changes) values.usernameLower = changes.username ? normalizeUsername(changes.username) : null;
  const [user] = await tx.update(t.users).set(values).where(unchangedRow(current)).returning(userColumns);
  if (!user) throw new StaleRow(current.id);
  // A password change, by any path, voids every other outstanding reset ticket of the user.
  if (changed.includes('password')) {
    await tx
      .update(t.tickets)
      .set({ usedAt: now })
      .where(and(eq(t.tickets.userId, current.id), eq(t.tickets.kind, 'password_reset'), isNull(t.tickets.usedAt)));
  }
  return { user, changed };
}

/** Rows in the order of `ids` (null for a missing one). */
export const inOrder = <T>(ids: readonly string[], rows: T[], key: (row: T) => string): (T | null)[] => {
  const byId = new Map(rows.map((r) => [key(r), r]));
  return ids.map((id) => byId.get(id) ?? null);
};
export const grouped = <T>(ids: readonly string[], rows: T[], key: (row: T) => string): T[][] => {
  const byId = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const r of rows) byId.get(key(r))?.push(r);
  return ids.map((id) => byId.get(id) ?? []);
};
export const anyOf = (column: SQL | typeof t.users.id, ids: readonly string[]) => sql`${column} = ANY(${sql.param([...ids])}::text[])`;

/** The row `current` still is: its id at its version and logins count. */
const unchangedRow = (current: UserRow) =>
  and(eq(t.users.id, current.id), eq(t.users.version, current.version), eq(t.users.loginsCount, current.loginsCount));
