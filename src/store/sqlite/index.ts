// The SQLite store: the embedded default. better-sqlite3 is synchronous, so each write is one
// synchronous transaction (SQLite serialises writers), wrapped in the async Store interface.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { and, asc, count, eq, gt, gte, inArray, lte, or, type SQL, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Metadata } from '../../domain/types.js';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type {
  ConnectionRow,
  ConnectionStore,
  MembershipRow,
  OrganizationRow,
  OrganizationStore,
  Page,
  Store,
  UpdateResult,
  UserFilter,
  UserKey,
  UserRow,
  UserStore,
  Visibility,
} from '../types.js';
import { sqliteAudit, sqliteOutbox } from './audit.js';
import { recordEvents, sqliteDeliveries, sqliteEvents, sqliteWebhooks } from './events.js';
import { eraseUser, exportUser } from './erasure.js';
import { importBatch } from './imports.js';
import { afterCondition, attributeConditions, attributeIndexStatement, orderClause } from './search.js';
import {
  connectionFromRaw,
  IN_JSON,
  identityFromRaw,
  membershipFromRaw,
  organizationFromRaw,
  type RawConnection,
  type RawIdentity,
  type RawMembership,
  type RawOrganization,
  type RawUser,
  type RawUserWithRelations,
  SUBJECT_STANDING,
  Statements,
  standingFromRaw,
  USER_COLUMNS,
  USERS_WITH_RELATIONS,
  userFromRaw,
  userWithRelationsFromRaw,
} from './raw.js';
import * as t from './tables.js';
import { enqueue, insertTicket, sqliteInvitations, sqliteTickets } from './tickets.js';
import {
  checkpoint,
  type Db,
  grouped,
  cursorKeyOf,
  idHasher,
  inOrder,
  violatedUserKey,
  recordAudit,
  userColumns,
  applyUserChanges,
  changedFields,
  createdFields,
} from './shared.js';

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
  const db: Db = drizzle(sqlite, { schema: t, logger });
  const migrationsRun = () =>
    (sqlite.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = '__drizzle_migrations'").get() as { n: number }).n === 0
      ? 0
      : (sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n;
  const migrationsBefore = migrationsRun();
  migrate(db, { migrationsFolder: opts.migrationsFolder });
  const migrationsApplied = migrationsRun() - migrationsBefore;
  const statements = new Statements(sqlite, opts.onStatement);
  const serverSecret = opts.pseudonymSecret || pseudonymSecretBeside(opts.path);
  const hashId = idHasher(serverSecret);
  let importKeySets = 0;

  const isDatabaseConnection = (tx: Db, connectionId: string): boolean =>
    tx
      .select({ kind: t.connections.kind })
      .from(t.connections)
      .where(eq(t.connections.id, connectionId))
      .get()?.kind === 'DATABASE';

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
    const others = (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) =>
      and(eq(t.users.connectionId, user.connectionId), eq(column, value), eq(t.users.migrated, false), sql`${t.users.id} <> ${user.id}`);
    if (values.email) {
      tx.update(t.users).set({ email: null, emailLower: null, emailVerified: false }).where(others(t.users.emailLower, normalizeEmail(values.email))).run();
    }
    if (values.username) {
      tx.update(t.users).set({ username: null, usernameLower: null }).where(others(t.users.usernameLower, normalizeUsername(values.username))).run();
    }
  }

  const connections: ConnectionStore = {
    async byIds(ids) {
      const rows = (statements.get(`SELECT * FROM connections WHERE id ${IN_JSON}`).all(JSON.stringify(ids)) as RawConnection[]).map(
        connectionFromRaw,
      );
      return inOrder(ids, rows, (r) => r.id);
    },
    async byName(name) {
      return db.select().from(t.connections).where(eq(t.connections.name, name)).get() ?? null;
    },
    async list() {
      return db.select().from(t.connections).orderBy(asc(t.connections.name)).all();
    },
    async userCounts(ids) {
      const rows = db
        .select({ id: t.users.connectionId, n: count() })
        .from(t.users)
        .where(inArray(t.users.connectionId, [...ids]))
        .groupBy(t.users.connectionId)
        .all();
      const byId = new Map(rows.map((r) => [r.id, r.n]));
      return ids.map((id) => byId.get(id) ?? 0);
    },
    async update(id, changes, audit, events) {
      return db.transaction((tx) => {
        const current = tx.select().from(t.connections).where(eq(t.connections.id, id)).get();
        if (!current) return null;
        const now = new Date();
        const next: ConnectionRow = { ...current, ...changes, updatedAt: now };
        tx.update(t.connections).set({ name: next.name, strategy: next.strategy, options: next.options, updatedAt: now }).where(eq(t.connections.id, id)).run();
        recordAudit(tx, { ...audit, fields: Object.keys(changes) }, now);
        if (events) recordEvents(tx, events({ before: current, after: next }), now);
        return next;
      });
    },
    async delete(id, audit) {
      return db.transaction((tx) => {
        // Checked in the same transaction: a login may have created a user meanwhile.
        if (tx.select({ id: t.users.id }).from(t.users).where(eq(t.users.connectionId, id)).limit(1).get()) return false;
        const removed = tx.delete(t.connections).where(eq(t.connections.id, id)).run().changes > 0;
        if (removed) recordAudit(tx, { ...audit, fields: ['connection'] }, new Date());
        return removed;
      });
    },
    async indexAttributes(_connectionId, keys) {
      for (const k of keys) db.run(sql.raw(attributeIndexStatement(k.object, k.key)));
    },
    async usersPage(connectionId, { first, after }) {
      const conds = [eq(t.users.connectionId, connectionId)];
      if (after) conds.push(gt(t.users.id, after));
      return db.select(userColumns).from(t.users).where(and(...conds)).orderBy(asc(t.users.id)).limit(first).all();
    },
    async create(row, audit) {
      const now = new Date();
      const full: ConnectionRow = { ...row, createdAt: now, updatedAt: now };
      db.transaction((tx) => {
        tx.insert(t.connections).values(full).run();
        recordAudit(tx, { ...audit, fields: Object.keys(row.options) }, now);
      });
      return full;
    },
  };

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
          if (isDatabaseConnection(tx, user.connectionId)) {
            if (opts?.releaseFromLegacyUsers) {
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
          if (opts?.events) recordEvents(tx, opts.events({ userId: row.id, before: null, after: row, changed: createdFields(user) }), now);
          return { ok: true as const, user: row };
        });
      } catch (err) {
        // A concurrent insert got there between the check and this one.
        const key = violatedUserKey(err);
        if (key) return { ok: false, taken: [key] };
        throw err;
      }
    },
    async update(id, plan, audit, opts): Promise<UpdateResult> {
      return db.transaction((tx): UpdateResult => {
        const current = tx.select(userColumns).from(t.users).where(eq(t.users.id, id)).get();
        if (!current) return { ok: false, notFound: true };
        if (opts?.expectedVersion != null && opts.expectedVersion !== current.version) {
          return { ok: false, versionConflict: { expected: opts.expectedVersion, actual: current.version } };
        }
        const planned = plan(current);
        if ('errors' in planned) return { ok: false, errors: planned.errors };
        const changes = planned.changes;
        const changed = changedFields(current, changes);
        if (changed.length === 0) {
          if (opts?.identityProfileData !== undefined) updateIdentityProfile(tx, current, opts.identityProfileData);
          return { ok: true, user: current, changed };
        }
        if (isDatabaseConnection(tx, current.connectionId)) {
          if (opts?.releaseFromLegacyUsers) {
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
        const { user: row } = applyUserChanges(tx, current, changes, now);
        recordAudit(tx, { ...audit, targetUserId: id, fields: changed }, now);
        for (const ticket of planned.tickets ?? []) insertTicket(tx, ticket, now);
        for (const message of planned.messages ?? []) enqueue(tx, message, now);
        if (opts?.events) recordEvents(tx, opts.events({ userId: id, before: current, after: row, changed }), now);
        if (opts?.identityProfileData !== undefined) updateIdentityProfile(tx, current, opts.identityProfileData);
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
      return (
        db
          .select(userColumns)
          .from(t.identities)
          .innerJoin(t.users, eq(t.users.id, t.identities.userId))
          .where(and(eq(t.identities.connectionId, connectionId), eq(t.identities.upstreamUserId, upstreamUserId)))
          .get() ?? null
      );
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
    async importBatch(items, audit, opts) {
      return importBatch(db, statements, items, audit, opts.dryRun);
    },
    async erase(id, audit, events) {
      const erased = eraseUser(db, hashId, id, audit, events);
      // Erased data must not survive in the WAL: copy it into the file and truncate it.
      if (erased) checkpoint(db);
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

  const organizations: OrganizationStore = {
    async byIds(ids) {
      const rows = (
        statements.get(`SELECT * FROM organizations WHERE id ${IN_JSON}`).all(JSON.stringify(ids)) as RawOrganization[]
      ).map(organizationFromRaw);
      return inOrder(ids, rows, (r) => r.id);
    },
    async byName(name) {
      return db.select().from(t.organizations).where(eq(t.organizations.name, name)).get() ?? null;
    },
    async list(filter) {
      const q = db.select().from(t.organizations);
      if (filter?.ids)
        return q.where(inArray(t.organizations.id, filter.ids)).orderBy(asc(t.organizations.name)).all();
      return q.orderBy(asc(t.organizations.name)).all();
    },
    async connectionIds(organizationIds) {
      const rows = db
        .select()
        .from(t.organizationConnections)
        .where(inArray(t.organizationConnections.organizationId, [...organizationIds]))
        .all();
      return grouped(organizationIds, rows, (r) => r.organizationId).map((rs) =>
        rs.map((r) => r.connectionId),
      );
    },
    async create(row, connectionIds, audit) {
      const now = new Date();
      const full: OrganizationRow = { ...row, createdAt: now, updatedAt: now };
      db.transaction((tx) => {
        tx.insert(t.organizations).values(full).run();
        if (connectionIds.length > 0) {
          tx.insert(t.organizationConnections)
            .values(connectionIds.map((connectionId) => ({ organizationId: row.id, connectionId })))
            .run();
        }
        recordAudit(tx, { ...audit, organizationId: row.id }, now);
      });
      return full;
    },
    async membershipsByUserIds(userIds) {
      const rows = (
        statements
          .get(`SELECT * FROM memberships WHERE user_id ${IN_JSON} ORDER BY organization_id`)
          .all(JSON.stringify(userIds)) as RawMembership[]
      ).map(membershipFromRaw);
      return grouped(userIds, rows, (r) => r.userId);
    },
    async members(organizationId, { first, after }): Promise<Page<MembershipRow>> {
      const base = eq(t.memberships.organizationId, organizationId);
      const total = db.select({ n: count() }).from(t.memberships).where(base).get();
      const rows = db
        .select()
        .from(t.memberships)
        .where(after ? and(base, gt(t.memberships.userId, after)) : base)
        .orderBy(asc(t.memberships.userId))
        .limit(first + 1)
        .all();
      return { rows: rows.slice(0, first), hasNextPage: rows.length > first, totalCount: total?.n ?? 0 };
    },
    async update(id, changes, audit) {
      return db.transaction((tx) => {
        const current = tx.select().from(t.organizations).where(eq(t.organizations.id, id)).get();
        if (!current) return null;
        const now = new Date();
        const values: Partial<OrganizationRow> = { updatedAt: now };
        if (changes.name !== undefined) values.name = changes.name;
        if (changes.displayName !== undefined) values.displayName = changes.displayName;
        tx.update(t.organizations).set(values).where(eq(t.organizations.id, id)).run();
        if (changes.connectionIds) {
          tx.delete(t.organizationConnections).where(eq(t.organizationConnections.organizationId, id)).run();
          if (changes.connectionIds.length > 0) {
            tx.insert(t.organizationConnections)
              .values(changes.connectionIds.map((connectionId) => ({ organizationId: id, connectionId })))
              .run();
          }
        }
        recordAudit(tx, { ...audit, organizationId: id, fields: Object.keys(changes) }, now);
        return { ...current, ...values };
      });
    },
    async updateMemberRoles(organizationId, userId, roles, audit, events) {
      return db.transaction((tx) => {
        const where = and(eq(t.memberships.organizationId, organizationId), eq(t.memberships.userId, userId));
        const current = tx.select().from(t.memberships).where(where).get();
        if (!current) return null;
        const now = new Date();
        tx.update(t.memberships).set({ roles }).where(where).run();
        recordAudit(tx, { ...audit, targetUserId: userId, organizationId, fields: ['roles'] }, now);
        const next = { ...current, roles };
        if (events) recordEvents(tx, events({ before: current, after: next }), now);
        return next;
      });
    },
    async removeMember(organizationId, userId, audit, events) {
      return db.transaction((tx) => {
        const where = and(eq(t.memberships.organizationId, organizationId), eq(t.memberships.userId, userId));
        const current = tx.select().from(t.memberships).where(where).get();
        if (!current) return false;
        const now = new Date();
        tx.delete(t.memberships).where(where).run();
        recordAudit(tx, { ...audit, targetUserId: userId, organizationId, fields: ['membership'] }, now);
        if (events) recordEvents(tx, events({ before: current, after: null }), now);
        return true;
      });
    },
    async addMember(row, audit, events) {
      const now = new Date();
      const membership: MembershipRow = { ...row, joinedAt: now };
      return db.transaction((tx) => {
        const exists = tx
          .select({ u: t.memberships.userId })
          .from(t.memberships)
          .where(
            and(eq(t.memberships.organizationId, row.organizationId), eq(t.memberships.userId, row.userId)),
          )
          .get();
        if (exists) {
          return { ok: false as const, alreadyMember: true as const };
        }
        tx.insert(t.memberships).values(membership).run();
        recordAudit(
          tx,
          { ...audit, targetUserId: row.userId, organizationId: row.organizationId, fields: ['roles'] },
          now,
        );
        if (events) recordEvents(tx, events({ before: null, after: membership }), now);
        return { ok: true as const, membership };
      });
    },
  };

  return {
    dialect: 'sqlite',
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

function takenKeys(clash: { email: boolean; username: boolean }): UserKey[] {
  return [...(clash.email ? (['email'] as const) : []), ...(clash.username ? (['username'] as const) : [])];
}

function updateIdentityProfile(tx: Db, user: UserRow, profileData: Metadata | null): void {
  tx.update(t.identities)
    .set({ profileData })
    .where(and(eq(t.identities.userId, user.id), eq(t.identities.connectionId, user.connectionId)))
    .run();
}

