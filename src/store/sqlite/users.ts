// Users on SQLite: reads in one statement each (a profile with its identities and memberships
// together), every write one synchronous transaction: the row read, the plan applied, keys checked,
// the audit entry, outbox messages and events written together.
import type Database from 'better-sqlite3';
import { and, count, eq, gt, gte, inArray, lte, or, type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Metadata } from '../../domain/types.js';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type { ApplyResult, UserFilter, UserKey, UserRow, UserStore, Visibility } from '../types.js';
import { recordEvents } from './events.js';
import { eraseUser, exportUser } from './erasure.js';
import { importBatch, importHolderRows } from './imports.js';
import { matcher } from '../imports.js';
import { afterCondition, attributeConditions, orderClause } from './search.js';
import {
  IN_JSON,
  identityFromRaw,
  type RawIdentity,
  type RawUser,
  type RawUserWithRelations,
  SUBJECT_STANDING,
  type Statements,
  standingFromRaw,
  USER_COLUMNS,
  USERS_WITH_RELATIONS,
  userFromRaw,
  userWithRelationsFromRaw,
  statementsOf,
} from './raw.js';
import { unchangedSince } from '../states.js';
import * as t from './tables.js';
import { enqueue, insertTicket } from './tickets.js';
import {
  checkpoint,
  type Db,
  grouped,
  inOrder,
  violatedUserKey,
  recordAudit,
  userColumns,
  applyUserChanges,
  changedFields,
} from './shared.js';

export interface SqliteUserParts {
  db: Db;
  sqlite: Database.Database;
  statements: Statements;
  hashId: (id: string) => string;
}

export function sqliteUsers({ db, sqlite, statements, hashId }: SqliteUserParts): UserStore {
  let importKeySets = 0;
  function conflictsIn(
    tx: Db,
    connectionId: string,
    values: { email?: string | null; username?: string | null },
    exceptUserId?: string,
  ): { email: boolean; username: boolean } {
    const clash = (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) => {
      const conds = [eq(t.users.connectionId, connectionId), eq(column, value)];
      if (exceptUserId) conds.push(sql`${t.users.id} <> ${exceptUserId}`);
      return (
        tx
          .select({ id: t.users.id })
          .from(t.users)
          .where(and(...conds))
          .limit(1)
          .get() !== undefined
      );
    };
    return {
      email: values.email ? clash(t.users.emailLower, normalizeEmail(values.email)) : false,
      username: values.username ? clash(t.users.usernameLower, normalizeUsername(values.username)) : false,
    };
  }

  /**
   * A legacy database owns its users' emails and usernames: when a login brings a value another
   * cached (not migrated) user of the connection still holds, that cached value is stale and goes.
   */
  function releaseLegacyClaims(tx: Db, user: Pick<UserRow, 'id' | 'connectionId'>, values: { email?: string | null; username?: string | null }): void {
    // A change of that user's profile like any other: its version moves, so a write decided on the
    // row before (compare-and-set on version) is decided again.
    const released = () => ({ version: sql`${t.users.version} + 1`, updatedAt: new Date() });
    const others = (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) =>
      and(eq(t.users.connectionId, user.connectionId), eq(column, value), eq(t.users.migrated, false), sql`${t.users.id} <> ${user.id}`);
    if (values.email) {
      tx.update(t.users).set({ email: null, emailLower: null, emailVerified: false, ...released() }).where(others(t.users.emailLower, normalizeEmail(values.email))).run();
    }
    if (values.username) {
      tx.update(t.users).set({ username: null, usernameLower: null, ...released() }).where(others(t.users.usernameLower, normalizeUsername(values.username))).run();
    }
  }


  function userWhere(filter: UserFilter | undefined, visibleTo: Visibility | undefined): SQL[] {
    const conds: SQL[] = [];
    if (filter?.connectionId) conds.push(eq(t.users.connectionId, filter.connectionId));
    if (filter?.organizationId) {
      conds.push(
        inArray(
          t.users.id,
          db
            .select({ id: t.memberships.userId })
            .from(t.memberships)
            .where(eq(t.memberships.organizationId, filter.organizationId)),
        ),
      );
    }
    if (filter?.email) conds.push(eq(t.users.emailLower, normalizeEmail(filter.email)));
    if (filter?.blocked !== undefined && filter?.blocked !== null)
      conds.push(eq(t.users.blocked, filter.blocked));
    if (filter?.search) {
      const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const likeEsc = (col: SQLiteColumn) => sql`${col} LIKE ${pattern} ESCAPE '\\'`;
      const matches = or(
        likeEsc(t.users.name),
        likeEsc(t.users.email),
        likeEsc(t.users.username),
        likeEsc(t.users.nickname),
      );
      if (matches) conds.push(matches);
    }
    if (filter?.attributes) conds.push(...attributeConditions(filter.attributes));
    if (filter?.createdAfter) conds.push(gte(t.users.createdAt, filter.createdAfter));
    if (filter?.createdBefore) conds.push(lte(t.users.createdAt, filter.createdBefore));
    if (filter?.lastLoginAfter) conds.push(gte(t.users.lastLogin, filter.lastLoginAfter));
    if (filter?.lastLoginBefore) conds.push(lte(t.users.lastLogin, filter.lastLoginBefore));
    if (visibleTo) {
      const visible = or(
        visibleTo.selfId ? eq(t.users.id, visibleTo.selfId) : sql`0`,
        visibleTo.adminOrganizationIds.length > 0
          ? inArray(
              t.users.id,
              db
                .select({ id: t.memberships.userId })
                .from(t.memberships)
                .where(inArray(t.memberships.organizationId, visibleTo.adminOrganizationIds)),
            )
          : sql`0`,
      );
      if (visible) conds.push(visible);
    }
    return conds;
  }

  const users: UserStore = {
    async byIds(ids) {
      const rows = (statements.get(`SELECT ${USER_COLUMNS} FROM users WHERE id ${IN_JSON}`).all(JSON.stringify(ids)) as RawUser[]).map(
        userFromRaw,
      );
      return inOrder(ids, rows, (r) => r.id);
    },
    async withRelationsByIds(ids) {
      const rows = (statements.get(USERS_WITH_RELATIONS).all(JSON.stringify(ids)) as RawUserWithRelations[]).map(
        userWithRelationsFromRaw,
      );
      return inOrder(ids, rows, (r) => r.user.id);
    },
    async standing(id) {
      return standingFromRaw(
        statements.get(SUBJECT_STANDING).get({ id, hash: hashId(id) }) as Parameters<typeof standingFromRaw>[0],
      );
    },
    async list({ first, after, filter, visibleTo, orderBy }) {
      const conds = userWhere(filter, visibleTo);
      const total = db
        .select({ n: count() })
        .from(t.users)
        .where(and(...conds))
        .get();
      if (after) {
        const last = orderBy ? (await users.byIds([after]))[0] : null;
        const beyond = last ? afterCondition(orderBy, last) : gt(t.users.id, after);
        if (beyond) conds.push(beyond);
      }
      const rows = db
        .select(userColumns)
        .from(t.users)
        .where(and(...conds))
        .orderBy(...orderClause(orderBy))
        .limit(first + 1)
        .all();
      return { rows: rows.slice(0, first), hasNextPage: rows.length > first, totalCount: total?.n ?? 0 };
    },
    async findConflicts(connectionId, values, exceptUserId) {
      return conflictsIn(db, connectionId, values, exceptUserId);
    },
    async identitiesByUserIds(ids) {
      const rows = (
        statements.get(`SELECT * FROM identities WHERE user_id ${IN_JSON}`).all(JSON.stringify(ids)) as RawIdentity[]
      ).map(identityFromRaw);
      return grouped(ids, rows, (r) => r.userId);
    },
    async create(user, audit, opts) {
      const now = new Date();
      try {
        return db.transaction((tx) => {
          if (opts.uniqueKeys) {
            if (opts.releaseFromLegacyUsers) {
              releaseLegacyClaims(tx, { id: user.id, connectionId: user.connectionId }, user);
            }
            const clash = conflictsIn(tx, user.connectionId, user);
            if (clash.email || clash.username) return { ok: false as const, taken: takenKeys(clash) };
          }
          const { identity, ...profile } = user;
          tx.insert(t.users)
            .values({
              ...profile,
              emailLower: user.email ? normalizeEmail(user.email) : null,
              usernameLower: user.username ? normalizeUsername(user.username) : null,
              createdAt: now,
              updatedAt: now,
            })
            .run();
          tx.insert(t.identities)
            .values({ ...identity, userId: user.id, connectionId: user.connectionId })
            .run();
          recordAudit(tx, { ...audit, targetUserId: user.id }, now);
          const row = tx.select(userColumns).from(t.users).where(eq(t.users.id, user.id)).get();
          if (!row) throw new Error('user vanished after insert');
          if (opts.events && opts.events.length > 0) recordEvents(tx, opts.events, now);
          return { ok: true as const, user: row };
        });
      } catch (err) {
        // A concurrent insert got there between the check and this one.
        const key = violatedUserKey(err);
        if (key) return { ok: false, taken: [key] };
        throw err;
      }
    },
    async apply(id, base, decision, audit, opts): Promise<ApplyResult> {
      return db.transaction((tx): ApplyResult => {
        const current = userById(statements, id);
        if (!current) return { ok: false, notFound: true };
        if (!unchangedSince(current, base)) return { ok: false, stale: true, current };
        const planned = decision;
        const changes = planned.changes;
        const changed = changedFields(current, { ...changes, ...planned.bookkeeping });
        if (changed.length === 0) {
          if (opts.identityProfileData !== undefined) updateIdentityProfile(tx, current, opts.identityProfileData);
          return { ok: true, user: current, changed };
        }
        if (opts.uniqueKeys) {
          if (opts.releaseFromLegacyUsers) {
            releaseLegacyClaims(tx, current, {
              email: changed.includes('email') ? changes.email : null,
              username: changed.includes('username') ? changes.username : null,
            });
          }
          const clash = conflictsIn(
            tx,
            current.connectionId,
            {
              email: changed.includes('email') ? changes.email : null,
              username: changed.includes('username') ? changes.username : null,
            },
            id,
          );
          if (clash.email || clash.username) return { ok: false, taken: takenKeys(clash) };
        }
        const now = new Date();
        const { user: row } = applyUserChanges(tx, current, changes, now, planned.bookkeeping);
        recordAudit(tx, { ...audit, targetUserId: id, fields: changed }, now);
        for (const ticket of planned.tickets ?? []) insertTicket(tx, ticket, now);
        for (const message of planned.messages ?? []) enqueue(tx, message, now);
        if (planned.events && planned.events.length > 0) recordEvents(tx, planned.events, now);
        if (opts.identityProfileData !== undefined) updateIdentityProfile(tx, current, opts.identityProfileData);
        return { ok: true, user: row, changed };
      });
    },
    async findByIdentifier(connectionId, identifier) {
      const byEmail = db
        .select(userColumns)
        .from(t.users)
        .where(and(eq(t.users.connectionId, connectionId), eq(t.users.emailLower, normalizeEmail(identifier))))
        .get();
      if (byEmail) return byEmail;
      return (
        db
          .select(userColumns)
          .from(t.users)
          .where(and(eq(t.users.connectionId, connectionId), eq(t.users.usernameLower, normalizeUsername(identifier))))
          .get() ?? null
      );
    },
    async findByIdentity(connectionId, upstreamUserId) {
      const raw = statements.get(USER_BY_IDENTITY).get(connectionId, upstreamUserId) as RawUser | undefined;
      return raw ? userFromRaw(raw) : null;
    },
    async passwordHashOf(userId) {
      return db.select({ h: t.users.passwordHash }).from(t.users).where(eq(t.users.id, userId)).get()?.h ?? null;
    },
    async importKeys() {
      // A TEMP table belongs to this connection alone and vanishes with it.
      const table = `import_keys_${(importKeySets += 1)}`;
      sqlite.exec(`CREATE TEMP TABLE ${table} (key TEXT PRIMARY KEY) WITHOUT ROWID`);
      const seen = sqlite.prepare(`SELECT 1 FROM ${table} WHERE key = ?`).pluck();
      const add = sqlite.prepare(`INSERT INTO ${table} (key) VALUES (?)`);
      return {
        async claim(keys) {
          if (keys.some((k) => seen.get(k) !== undefined)) return false;
          for (const k of keys) add.run(k);
          return true;
        },
        async close() {
          sqlite.exec(`DROP TABLE IF EXISTS temp.${table}`);
        },
      };
    },
    async importMatches(records) {
      const matchesOf = matcher(importHolderRows(statements, records));
      return records.map((r) => matchesOf(r).map(({ user, passwordHash }) => ({ user, samePasswordHash: r.passwordHash != null && passwordHash === r.passwordHash })));
    },
    async importBatch(items, audit, opts) {
      return importBatch(db, statements, items, audit, opts.dryRun);
    },
    async erase(id, base, decision) {
      const erased = eraseUser(db, hashId, id, base, decision);
      // Erased data must not survive in the WAL: copy it into the file and truncate it.
      if (erased.ok) checkpoint(db);
      return erased;
    },
    async exportData(id) {
      return exportUser(db, id);
    },
    async deletedAt(id) {
      const row = statements.get('SELECT deleted_at FROM deleted_users WHERE id_hash = ?').get(hashId(id)) as { deleted_at: number } | undefined;
      return row ? new Date(row.deleted_at) : null;
    },
  };
  return users;
}

function takenKeys(clash: { email: boolean; username: boolean }): UserKey[] {
  return [...(clash.email ? (['email'] as const) : []), ...(clash.username ? (['username'] as const) : [])];
}

const UPDATE_IDENTITY_PROFILE = 'UPDATE identities SET profile_data = ? WHERE user_id = ? AND connection_id = ?';

/** A login's upstream profile on the user's identity (a prepared statement: every social login makes one). */
function updateIdentityProfile(tx: Db, user: UserRow, profileData: Metadata | null): void {
  statementsOf(tx).get(UPDATE_IDENTITY_PROFILE).run(profileData === null ? null : JSON.stringify(profileData), user.id, user.connectionId);
}

const USER_BY_ID = `SELECT ${USER_COLUMNS} FROM users WHERE id = ?`;
const USER_BY_IDENTITY = `SELECT ${USER_COLUMNS
  .split(', ')
  .map((c) => `u.${c}`)
  .join(', ')} FROM identities i JOIN users u ON u.id = i.user_id WHERE i.connection_id = ? AND i.upstream_user_id = ?`;

/** A user's row (no password hash), or null: the read a write starts its transaction with. */
function userById(statements: Statements, id: string): UserRow | null {
  const raw = statements.get(USER_BY_ID).get(id) as RawUser | undefined;
  return raw ? userFromRaw(raw) : null;
}

