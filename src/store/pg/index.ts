// The PostgreSQL store: DATABASE_URL=postgres://… selects it. node-postgres with a pool; every
// write one transaction that locks what it reads (SELECT … FOR UPDATE), so several gateway
// instances on one database decide each write as one process would. The SQLite store
// (../sqlite) is the reference: each method here has the same observable behaviour.
import { randomBytes } from 'node:crypto';
import { and, asc, count, eq, gt, gte, inArray, lte, or, type SQL, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type { Metadata } from '../../domain/types.js';
import { createdFields } from '../changes.js';
import { cursorKeyOf, idHasher, secretBoxKeyOf } from '../pseudonyms.js';
import type {
  ConnectionRow,
  ConnectionStore,
  MembershipRow,
  OrganizationRow,
  OrganizationStore,
  Page,
  Store,
  ApplyResult,
  UserFilter,
  UserKey,
  UserRow,
  UserStore,
  Visibility,
} from '../types.js';
import { pgAudit, pgOutbox } from './audit.js';
import { eraseUser, exportUser } from './erasure.js';
import { pgDeliveries, pgEvents, pgWebhooks, recordEvents } from './events.js';
import { importBatch } from './imports.js';
import { migratePg } from './migrate.js';
import { DEFAULT_POOL, poolConfig, type PoolSettings, withClearTimeouts } from './pool.js';
import { openReplicaRouting } from './replica.js';
import { type RawUserWithRelations, standingFromRaw, subjectStanding, usersWithRelations, userWithRelationsFromRaw } from './raw.js';
import { afterCondition, attributeConditions, attributeIndexes, orderClause } from './search.js';
import { applyUserChanges, changedFields, type Db, lockUserKeys, recordAudit, retrying, userColumns, violatedUserKey } from './shared.js';
import * as t from './tables.js';
import { enqueue, insertTicket, pgInvitations, pgTickets } from './tickets.js';

/** How many import keys are held in memory before they go to the database (about 100 bytes each). */
const IMPORT_KEYS_IN_MEMORY = 200_000;

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
  /** Import keys held in memory before the TEMP table (default IMPORT_KEYS_IN_MEMORY). */
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

  async function conflictsIn(
    tx: Db,
    connectionId: string,
    values: { email?: string | null; username?: string | null },
    exceptUserId?: string,
  ): Promise<{ email: boolean; username: boolean }> {
    const clash = async (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) => {
      const conds = [eq(t.users.connectionId, connectionId), eq(column, value)];
      if (exceptUserId) conds.push(sql`${t.users.id} <> ${exceptUserId}`);
      return (await tx.select({ id: t.users.id }).from(t.users).where(and(...conds)).limit(1)).length > 0;
    };
    return {
      email: values.email ? await clash(t.users.emailLower, normalizeEmail(values.email)) : false,
      username: values.username ? await clash(t.users.usernameLower, normalizeUsername(values.username)) : false,
    };
  }

  /** A legacy database owns its users' emails and usernames: a stale cached copy gives way. */
  async function releaseLegacyClaims(tx: Db, user: Pick<UserRow, 'id' | 'connectionId'>, values: { email?: string | null; username?: string | null }): Promise<void> {
    const others = (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) =>
      and(eq(t.users.connectionId, user.connectionId), eq(column, value), eq(t.users.migrated, false), sql`${t.users.id} <> ${user.id}`);
    if (values.email) {
      await tx.update(t.users).set({ email: null, emailLower: null, emailVerified: false }).where(others(t.users.emailLower, normalizeEmail(values.email)));
    }
    if (values.username) {
      await tx.update(t.users).set({ username: null, usernameLower: null }).where(others(t.users.usernameLower, normalizeUsername(values.username)));
    }
  }

  const inOrder = <T>(ids: readonly string[], rows: T[], key: (row: T) => string): (T | null)[] => {
    const byId = new Map(rows.map((r) => [key(r), r]));
    return ids.map((id) => byId.get(id) ?? null);
  };
  const grouped = <T>(ids: readonly string[], rows: T[], key: (row: T) => string): T[][] => {
    const byId = new Map<string, T[]>(ids.map((id) => [id, []]));
    for (const r of rows) byId.get(key(r))?.push(r);
    return ids.map((id) => byId.get(id) ?? []);
  };
  const anyOf = (column: SQL | typeof t.users.id, ids: readonly string[]) => sql`${column} = ANY(${sql.param([...ids])}::text[])`;

  const connections: ConnectionStore = {
    async byIds(ids) {
      const rows = await db.select().from(t.connections).where(anyOf(sql`${t.connections.id}`, ids));
      return inOrder(ids, rows, (r) => r.id);
    },
    async byName(name) {
      return (await db.select().from(t.connections).where(eq(t.connections.name, name)))[0] ?? null;
    },
    async list() {
      return db.select().from(t.connections).orderBy(asc(t.connections.name));
    },
    async userCounts(ids) {
      const rows = await db
        .select({ id: t.users.connectionId, n: count() })
        .from(t.users)
        .where(anyOf(sql`${t.users.connectionId}`, ids))
        .groupBy(t.users.connectionId);
      const byId = new Map(rows.map((r) => [r.id, r.n]));
      return ids.map((id) => byId.get(id) ?? 0);
    },
    async update(id, changes, audit, events) {
      return db.transaction(async (tx) => {
        const [current] = await tx.select().from(t.connections).where(eq(t.connections.id, id)).for('update');
        if (!current) return null;
        const now = new Date();
        const next: ConnectionRow = { ...current, ...changes, updatedAt: now };
        await tx.update(t.connections).set({ name: next.name, strategy: next.strategy, options: next.options, updatedAt: now }).where(eq(t.connections.id, id));
        await recordAudit(tx, { ...audit, fields: Object.keys(changes) }, now);
        if (events) await recordEvents(tx, events({ before: current, after: next }), now);
        return next;
      });
    },
    async delete(id, audit) {
      return db.transaction(async (tx) => {
        // The connection row locked first: a user created meanwhile waits on it (its foreign key).
        const [current] = await tx.select({ id: t.connections.id }).from(t.connections).where(eq(t.connections.id, id)).for('update');
        if (!current) return false;
        if ((await tx.select({ id: t.users.id }).from(t.users).where(eq(t.users.connectionId, id)).limit(1)).length > 0) return false;
        const removed = (await tx.delete(t.connections).where(eq(t.connections.id, id)).returning({ id: t.connections.id })).length > 0;
        if (removed) await recordAudit(tx, { ...audit, fields: ['connection'] }, new Date());
        return removed;
      });
    },
    async indexAttributes(_connectionId, keys) {
      // CREATE INDEX CONCURRENTLY: writes to users go on while an index builds (a plain CREATE
      // INDEX holds off every insert and update of users until it is done). It runs outside a
      // transaction, on a client of the pool held for the builds, under a session advisory lock
      // (per schema): an instance building waits for another one's build, so an index found
      // INVALID under the lock is the leftover of a build that was interrupted (a crash, a
      // cancel), never one in progress, and it is dropped and built again (IF NOT EXISTS alone
      // would keep it unused for ever).
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`profile-gateway:attribute-indexes:${await currentSchema(client)}`]);
        try {
          for (const k of keys) {
            for (const index of attributeIndexes(k.object, k.key)) {
              const state = await client.query<{ valid: boolean }>(
                "SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND c.relnamespace = to_regnamespace(current_schema())",
                [index.name],
              );
              if (state.rows[0]?.valid === false) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index.name}`);
              await client.query(index.create);
            }
          }
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`profile-gateway:attribute-indexes:${await currentSchema(client)}`]);
        }
      } catch (err) {
        broken = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        // A client whose statement failed mid-build may be in any state: discarded, not reused.
        client.release(broken);
      }
    },
    async usersPage(connectionId, { first, after }) {
      const conds = [eq(t.users.connectionId, connectionId)];
      if (after) conds.push(gt(t.users.id, after));
      return db.select(userColumns).from(t.users).where(and(...conds)).orderBy(asc(t.users.id)).limit(first);
    },
    async create(row, audit) {
      const now = new Date();
      const full: ConnectionRow = { ...row, createdAt: now, updatedAt: now };
      await db.transaction(async (tx) => {
        await tx.insert(t.connections).values(full);
        await recordAudit(tx, { ...audit, fields: Object.keys(row.options) }, now);
      });
      return full;
    },
  };

  function userWhere(filter: UserFilter | undefined, visibleTo: Visibility | undefined): SQL[] {
    const conds: SQL[] = [];
    if (filter?.connectionId) conds.push(eq(t.users.connectionId, filter.connectionId));
    if (filter?.organizationId) {
      conds.push(inArray(t.users.id, db.select({ id: t.memberships.userId }).from(t.memberships).where(eq(t.memberships.organizationId, filter.organizationId))));
    }
    if (filter?.email) conds.push(eq(t.users.emailLower, normalizeEmail(filter.email)));
    if (filter?.blocked !== undefined && filter?.blocked !== null) conds.push(eq(t.users.blocked, filter.blocked));
    if (filter?.search) {
      const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      // SQLite's LIKE ignores ASCII case; ILIKE is PostgreSQL's same search.
      const matches = or(...[t.users.name, t.users.email, t.users.username, t.users.nickname].map((col) => sql`${col} ILIKE ${pattern}`));
      if (matches) conds.push(matches);
    }
    if (filter?.attributes) conds.push(...attributeConditions(filter.attributes));
    if (filter?.createdAfter) conds.push(gte(t.users.createdAt, filter.createdAfter));
    if (filter?.createdBefore) conds.push(lte(t.users.createdAt, filter.createdBefore));
    if (filter?.lastLoginAfter) conds.push(gte(t.users.lastLogin, filter.lastLoginAfter));
    if (filter?.lastLoginBefore) conds.push(lte(t.users.lastLogin, filter.lastLoginBefore));
    if (visibleTo) {
      const visible = or(
        visibleTo.selfId ? eq(t.users.id, visibleTo.selfId) : sql`false`,
        visibleTo.adminOrganizationIds.length > 0
          ? inArray(t.users.id, db.select({ id: t.memberships.userId }).from(t.memberships).where(inArray(t.memberships.organizationId, visibleTo.adminOrganizationIds)))
          : sql`false`,
      );
      if (visible) conds.push(visible);
    }
    return conds;
  }

  async function updateIdentityProfile(tx: Db, user: UserRow, profileData: Metadata | null): Promise<void> {
    await tx
      .update(t.identities)
      .set({ profileData })
      .where(and(eq(t.identities.userId, user.id), eq(t.identities.connectionId, user.connectionId)));
  }

  const users: UserStore = {
    async byIds(ids) {
      const rows = await db.select(userColumns).from(t.users).where(anyOf(t.users.id, ids));
      return inOrder(ids, rows, (r) => r.id);
    },
    async withRelationsByIds(ids) {
      const result = await db.execute<RawUserWithRelations & Record<string, unknown>>(usersWithRelations(ids));
      return inOrder(ids, result.rows.map(userWithRelationsFromRaw), (r) => r.user.id);
    },
    async standing(id) {
      const result = await onPrimary(() => db.execute<Parameters<typeof standingFromRaw>[0] & Record<string, unknown>>(subjectStanding(id, hashId(id))));
      const row = result.rows[0];
      if (!row) throw new Error('the standing query returned no row');
      return standingFromRaw(row);
    },
    async list({ first, after, filter, visibleTo, orderBy }) {
      const conds = userWhere(filter, visibleTo);
      const [total] = await db.select({ n: count() }).from(t.users).where(and(...conds));
      if (after) {
        const last = orderBy ? (await users.byIds([after]))[0] : null;
        const beyond = last ? afterCondition(orderBy, last) : gt(t.users.id, after);
        if (beyond) conds.push(beyond);
      }
      const rows = await db
        .select(userColumns)
        .from(t.users)
        .where(and(...conds))
        .orderBy(...orderClause(orderBy))
        .limit(first + 1);
      return { rows: rows.slice(0, first), hasNextPage: rows.length > first, totalCount: total?.n ?? 0 };
    },
    async findConflicts(connectionId, values, exceptUserId) {
      return conflictsIn(db, connectionId, values, exceptUserId);
    },
    async identitiesByUserIds(ids) {
      const rows = await db.select().from(t.identities).where(anyOf(sql`${t.identities.userId}`, ids));
      return grouped(ids, rows, (r) => r.userId);
    },
    async create(user, audit, opts) {
      const now = new Date();
      try {
        return await retrying(() => db.transaction(async (tx) => {
          if (opts.uniqueKeys) {
            await lockUserKeys(tx, user.connectionId, user);
            if (opts.releaseFromLegacyUsers) await releaseLegacyClaims(tx, { id: user.id, connectionId: user.connectionId }, user);
            const clash = await conflictsIn(tx, user.connectionId, user);
            if (clash.email || clash.username) return { ok: false as const, taken: takenKeys(clash) };
          }
          const { identity, ...profile } = user;
          const [row] = await tx
            .insert(t.users)
            .values({
              ...profile,
              emailLower: user.email ? normalizeEmail(user.email) : null,
              usernameLower: user.username ? normalizeUsername(user.username) : null,
              createdAt: now,
              updatedAt: now,
            })
            .returning(userColumns);
          if (!row) throw new Error('user vanished after insert');
          await tx.insert(t.identities).values({ ...identity, userId: user.id, connectionId: user.connectionId });
          await recordAudit(tx, { ...audit, targetUserId: user.id }, now);
          if (opts.events) await recordEvents(tx, opts.events({ userId: row.id, before: null, after: row, changed: createdFields(user) }), now);
          return { ok: true as const, user: row };
        }));
      } catch (err) {
        // A concurrent insert got there between the check and this one.
        const key = violatedUserKey(err);
        if (key) return { ok: false, taken: [key] };
        throw err;
      }
    },
    async apply(id, base, decision, audit, opts): Promise<ApplyResult> {
      return retrying(() => db.transaction(async (tx): Promise<ApplyResult> => {
        // Locked to the end of the transaction: a concurrent writer of this user waits, then finds
        // the row moved on and answers stale (the app decides again on the row it gets back).
        const [current] = await tx.select(userColumns).from(t.users).where(eq(t.users.id, id)).for('update');
        if (!current) return { ok: false, notFound: true };
        if (current.version !== base.version || current.loginsCount !== base.loginsCount) return { ok: false, stale: true, current };
        const planned = decision;
        const changes = planned.changes;
        const changed = changedFields(current, changes);
        if (changed.length === 0) {
          if (opts.identityProfileData !== undefined) await updateIdentityProfile(tx, current, opts.identityProfileData);
          return { ok: true, user: current, changed };
        }
        if (opts.uniqueKeys) {
          const values = {
            email: changed.includes('email') ? changes.email : null,
            username: changed.includes('username') ? changes.username : null,
          };
          await lockUserKeys(tx, current.connectionId, values);
          if (opts.releaseFromLegacyUsers) await releaseLegacyClaims(tx, current, values);
          const clash = await conflictsIn(tx, current.connectionId, values, id);
          if (clash.email || clash.username) return { ok: false, taken: takenKeys(clash) };
        }
        const now = new Date();
        const { user: row } = await applyUserChanges(tx, current, changes, now);
        await recordAudit(tx, { ...audit, targetUserId: id, fields: changed }, now);
        for (const ticket of planned.tickets ?? []) await insertTicket(tx, ticket, now);
        for (const message of planned.messages ?? []) await enqueue(tx, message, now);
        if (opts.identityProfileData !== undefined) await updateIdentityProfile(tx, current, opts.identityProfileData);
        // Last: the events lock is the last lock a transaction takes (./events.ts).
        if (opts.events) await recordEvents(tx, opts.events({ userId: id, before: current, after: row, changed }), now);
        return { ok: true, user: row, changed };
      }));
    },
    async findByIdentifier(connectionId, identifier) {
      const [byEmail] = await db
        .select(userColumns)
        .from(t.users)
        .where(and(eq(t.users.connectionId, connectionId), eq(t.users.emailLower, normalizeEmail(identifier))))
        .limit(1);
      if (byEmail) return byEmail;
      const [byUsername] = await db
        .select(userColumns)
        .from(t.users)
        .where(and(eq(t.users.connectionId, connectionId), eq(t.users.usernameLower, normalizeUsername(identifier))))
        .limit(1);
      return byUsername ?? null;
    },
    async findByIdentity(connectionId, upstreamUserId) {
      const [row] = await db
        .select(userColumns)
        .from(t.identities)
        .innerJoin(t.users, eq(t.users.id, t.identities.userId))
        .where(and(eq(t.identities.connectionId, connectionId), eq(t.identities.upstreamUserId, upstreamUserId)));
      return row ?? null;
    },
    async passwordHashOf(userId) {
      return (await db.select({ h: t.users.passwordHash }).from(t.users).where(eq(t.users.id, userId)))[0]?.h ?? null;
    },
    async importKeys() {
      // The most recent keys in memory (a round trip a record would be most of an import's time),
      // the older ones spilled to a TEMP table: memory stays bounded whatever the file's size, and
      // only a file past the bound pays a statement a record. A TEMP table lives in one session,
      // so the spill has a connection of its own for the rest of the import, opened beside the pool
      // (never one of the pool's: an import would hold it for its whole run, and a few concurrent
      // imports would starve every request, and the import's own batches, of connections).
      const table = `import_keys_${randomBytes(6).toString('hex')}`;
      let client: pg.Client | null = null;
      const recent = new Set<string>();
      const spill = async () => {
        if (!client) {
          const opened = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: poolSettings.timeoutMs });
          // A dropped connection fails the next statement; it must not take the process down meanwhile.
          opened.on('error', () => undefined);
          await opened.connect();
          client = opened;
          await client.query(`CREATE TEMP TABLE ${table} (key text PRIMARY KEY)`);
        }
        const keys = [...recent];
        for (let at = 0; at < keys.length; at += 10_000) {
          await client.query(`INSERT INTO ${table} (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [keys.slice(at, at + 10_000)]);
        }
        recent.clear();
      };
      return {
        async claim(keys) {
          if (keys.some((k) => recent.has(k))) return false;
          if (client) {
            const seen = await client.query(`SELECT 1 FROM ${table} WHERE key = ANY($1::text[]) LIMIT 1`, [keys]);
            if (seen.rowCount) return false;
          }
          for (const k of keys) recent.add(k);
          if (recent.size >= (opts.importKeysInMemory ?? IMPORT_KEYS_IN_MEMORY)) await spill();
          return true;
        },
        async close() {
          recent.clear();
          const held = client as pg.Client | null;
          client = null;
          // The TEMP table goes with the session.
          if (held) await held.end().catch(() => undefined);
        },
      };
    },
    async importBatch(items, audit, opts) {
      return importBatch(db, items, audit, opts.dryRun);
    },
    async erase(id, audit, events) {
      return eraseUser(db, hashId, id, audit, events);
    },
    async exportData(id) {
      return exportUser(db, id);
    },
    async deletedAt(id) {
      const [row] = await onPrimary(() => db.select({ at: t.deletedUsers.deletedAt }).from(t.deletedUsers).where(eq(t.deletedUsers.idHash, hashId(id))));
      return row?.at ?? null;
    },
  };

  const organizations: OrganizationStore = {
    async byIds(ids) {
      const rows = await db.select().from(t.organizations).where(anyOf(sql`${t.organizations.id}`, ids));
      return inOrder(ids, rows, (r) => r.id);
    },
    async byName(name) {
      return (await db.select().from(t.organizations).where(eq(t.organizations.name, name)))[0] ?? null;
    },
    async list(filter) {
      const q = db.select().from(t.organizations);
      if (filter?.ids) return q.where(anyOf(sql`${t.organizations.id}`, filter.ids)).orderBy(asc(t.organizations.name));
      return q.orderBy(asc(t.organizations.name));
    },
    async connectionIds(organizationIds) {
      const rows = await db.select().from(t.organizationConnections).where(anyOf(sql`${t.organizationConnections.organizationId}`, organizationIds));
      return grouped(organizationIds, rows, (r) => r.organizationId).map((rs) => rs.map((r) => r.connectionId));
    },
    async create(row, connectionIds, audit) {
      const now = new Date();
      const full: OrganizationRow = { ...row, createdAt: now, updatedAt: now };
      await db.transaction(async (tx) => {
        await tx.insert(t.organizations).values(full);
        if (connectionIds.length > 0) {
          await tx.insert(t.organizationConnections).values(connectionIds.map((connectionId) => ({ organizationId: row.id, connectionId })));
        }
        await recordAudit(tx, { ...audit, organizationId: row.id }, now);
      });
      return full;
    },
    async membershipsByUserIds(userIds) {
      const rows = await db
        .select()
        .from(t.memberships)
        .where(anyOf(sql`${t.memberships.userId}`, userIds))
        .orderBy(asc(t.memberships.organizationId));
      return grouped(userIds, rows, (r) => r.userId);
    },
    async members(organizationId, { first, after }): Promise<Page<MembershipRow>> {
      const base = eq(t.memberships.organizationId, organizationId);
      const [total] = await db.select({ n: count() }).from(t.memberships).where(base);
      const rows = await db
        .select()
        .from(t.memberships)
        .where(after ? and(base, gt(t.memberships.userId, after)) : base)
        .orderBy(asc(t.memberships.userId))
        .limit(first + 1);
      return { rows: rows.slice(0, first), hasNextPage: rows.length > first, totalCount: total?.n ?? 0 };
    },
    async update(id, changes, audit) {
      return db.transaction(async (tx) => {
        const [current] = await tx.select().from(t.organizations).where(eq(t.organizations.id, id)).for('update');
        if (!current) return null;
        const now = new Date();
        const values: Partial<OrganizationRow> = { updatedAt: now };
        if (changes.name !== undefined) values.name = changes.name;
        if (changes.displayName !== undefined) values.displayName = changes.displayName;
        await tx.update(t.organizations).set(values).where(eq(t.organizations.id, id));
        if (changes.connectionIds) {
          await tx.delete(t.organizationConnections).where(eq(t.organizationConnections.organizationId, id));
          if (changes.connectionIds.length > 0) {
            await tx.insert(t.organizationConnections).values(changes.connectionIds.map((connectionId) => ({ organizationId: id, connectionId })));
          }
        }
        await recordAudit(tx, { ...audit, organizationId: id, fields: Object.keys(changes) }, now);
        return { ...current, ...values };
      });
    },
    async updateMemberRoles(organizationId, userId, roles, audit, events) {
      return db.transaction(async (tx) => {
        const where = and(eq(t.memberships.organizationId, organizationId), eq(t.memberships.userId, userId));
        const [current] = await tx.select().from(t.memberships).where(where).for('update');
        if (!current) return null;
        const now = new Date();
        await tx.update(t.memberships).set({ roles }).where(where);
        await recordAudit(tx, { ...audit, targetUserId: userId, organizationId, fields: ['roles'] }, now);
        const next = { ...current, roles };
        if (events) await recordEvents(tx, events({ before: current, after: next }), now);
        return next;
      });
    },
    async removeMember(organizationId, userId, audit, events) {
      return db.transaction(async (tx) => {
        const where = and(eq(t.memberships.organizationId, organizationId), eq(t.memberships.userId, userId));
        // The row as it was, for the events: DELETE … RETURNING gives it, and a concurrent remover finds none.
        const [current] = await tx.delete(t.memberships).where(where).returning();
        if (!current) return false;
        const now = new Date();
        await recordAudit(tx, { ...audit, targetUserId: userId, organizationId, fields: ['membership'] }, now);
        if (events) await recordEvents(tx, events({ before: current, after: null }), now);
        return true;
      });
    },
    async addMember(row, audit, events) {
      const now = new Date();
      const membership: MembershipRow = { ...row, joinedAt: now };
      return db.transaction(async (tx) => {
        // ON CONFLICT: two instances adding the same member at once, one adds and one is told.
        const inserted = await tx.insert(t.memberships).values(membership).onConflictDoNothing().returning({ u: t.memberships.userId });
        if (inserted.length === 0) return { ok: false as const, alreadyMember: true as const };
        await recordAudit(tx, { ...audit, targetUserId: row.userId, organizationId: row.organizationId, fields: ['roles'] }, now);
        if (events) await recordEvents(tx, events({ before: null, after: membership }), now);
        return { ok: true as const, membership };
      });
    },
  };

  return {
    dialect: 'postgres',
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

async function currentSchema(client: pg.PoolClient): Promise<string> {
  return (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
}

function takenKeys(clash: { email: boolean; username: boolean }): UserKey[] {
  return [...(clash.email ? (['email'] as const) : []), ...(clash.username ? (['username'] as const) : [])];
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
