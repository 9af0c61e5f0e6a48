// Helpers shared by the SQLite store's modules.
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { and, eq, isNull, sql } from 'drizzle-orm';
import Database from 'better-sqlite3';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type { AuditEntry, LoginBookkeeping, UserChanges, UserKey, UserRow } from '../types.js';
import { changedFields } from '../changes.js';
import * as t from './tables.js';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { type RawUser, type Statements, statementsOf, USER_COLUMNS, userFromRaw } from './raw.js';
import { StaleRow } from '../states.js';

export type Db = BetterSQLite3Database<typeof t>;

/**
 * Moves the WAL into the database file and truncates it, so data just overwritten or deleted (with
 * secure_delete) leaves no copy in the side file. A reader holding an old snapshot can keep frames
 * for a moment; the next checkpoint takes them.
 */
export function checkpoint(db: Db): void {
  db.all(sql`PRAGMA wal_checkpoint(TRUNCATE)`);
}

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

export function inOrder<T>(ids: readonly string[], rows: T[], key: (row: T) => string): (T | null)[] {
  const byId = new Map(rows.map((r) => [key(r), r]));
  return ids.map((id) => byId.get(id) ?? null);
}

export function grouped<T>(ids: readonly string[], rows: T[], key: (row: T) => string): T[][] {
  const byId = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const r of rows) byId.get(key(r))?.push(r);
  return ids.map((id) => byId.get(id) ?? []);
}

export { cursorKeyOf, type IdHasher, idHasher } from '../pseudonyms.js';


const INSERT_AUDIT = 'INSERT INTO audit_events (at, actor_id, operation, target_user_id, organization_id, fields) VALUES (?, ?, ?, ?, ?, ?)';

/** One audit entry, in the transaction `tx` is part of (a prepared statement: every write makes one). */
export function recordAudit(tx: Db, entry: AuditEntry, at: Date): void {
  insertAudit(statementsOf(tx), entry, at.getTime());
}

/** recordAudit with the store's statements at hand (the import's per-record path); `at` in ms. */
export function insertAudit(statements: Statements, entry: AuditEntry, at: number): void {
  statements
    .get(INSERT_AUDIT)
    .run(at, entry.actorId, entry.operation, entry.targetUserId ?? null, entry.organizationId ?? null, JSON.stringify(entry.fields ?? []));
}

/**
 * The columns of the UNIQUE or PRIMARY KEY constraint an insert or update broke (drizzle wraps
 * the driver's error in its own: the cause is followed), or null when `err` is something else.
 * SQLite names a constraint only by its columns, in the message: "UNIQUE constraint failed:
 * users.connection_id, users.username_lower".
 */
export function violatedUniqueColumns(err: unknown): string[] | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (!(e instanceof Database.SqliteError)) continue;
    if (e.code !== 'SQLITE_CONSTRAINT_UNIQUE' && e.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return null;
    const at = e.message.indexOf(':');
    return at < 0 ? [] : e.message.slice(at + 1).split(',').map((c) => c.trim());
  }
  return null;
}

/** Which user key a broken constraint of the users table protects, if it is one. */
export function violatedUserKey(err: unknown): UserKey | null {
  const columns = violatedUniqueColumns(err);
  if (!columns) return null;
  if (columns.includes('users.id')) return 'id';
  if (columns.includes('users.username_lower')) return 'username';
  if (columns.includes('users.email_lower')) return 'email';
  return null;
}


/**
 * Writes a decision's changes (and a login's bookkeeping) to a user inside a transaction: bumps
 * `version` when one of `changes` really changed the row (bookkeeping never does), keeps the
 * lower-cased lookup columns in step. A compare-and-set on `current`'s version and logins count:
 * a row that moved on is not written (StaleRow).
 */
export function applyUserChanges(
  tx: Db,
  current: UserRow,
  changes: UserChanges,
  now: Date,
  bookkeeping: LoginBookkeeping = {},
): { user: UserRow; changed: string[] } {
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
  // The row as written, from the UPDATE itself (RETURNING): no second read. A prepared statement
  // per set of columns (a handful: what updates, logins and imports change), values converted by
  // drizzle's own column types.
  // As drizzle's set(): a key whose value is undefined is left out.
  // Sorted: the same columns make the same text whatever order the decision named them in.
  const keys = Object.keys(values)
    .filter((k) => values[k] !== undefined)
    .sort();
  const statement = statementsOf(tx).get(
    `UPDATE users SET ${keys.map((k) => `${userTable[k]?.name ?? unknownColumn(k)} = ?`).join(', ')} WHERE id = ? AND version = ? AND logins_count = ? RETURNING ${USER_COLUMNS}`,
  );
  const raw = statement.get(
    ...keys.map((k) => {
      const value = values[k];
      return value === null ? null : (userTable[k] as SQLiteColumn).mapToDriverValue(value);
    }),
    current.id,
    current.version,
    current.loginsCount,
  ) as RawUser | undefined;
  if (!raw) throw new StaleRow(current.id);
  const user = userFromRaw(raw);
  // A password change, by any path, voids every other outstanding reset ticket of the user (the
  // one being redeemed was claimed before).
  if (changed.includes('password')) {
    tx.update(t.tickets)
      .set({ usedAt: now })
      .where(and(eq(t.tickets.userId, current.id), eq(t.tickets.kind, 'password_reset'), isNull(t.tickets.usedAt)))
      .run();
  }
  return { user, changed };
}

export { changedFields } from '../changes.js';

/** The users table's columns by their property names (what a decision's changes are keyed by). */
const userTable = t.users as unknown as Record<string, SQLiteColumn | undefined>;
function unknownColumn(key: string): never {
  throw new Error(`users has no column ${key}`);
}

