// Users on PostgreSQL: a profile with its identities and memberships in one statement, the caller
// check on the primary, every write one transaction that locks the row, applies the decision if the
// row is still the one decided on, checks keys under bucket locks, and writes audit, outbox and events.
import { randomBytes } from 'node:crypto';
import { and, count, eq, gt, gte, inArray, lte, or, type SQL, sql } from 'drizzle-orm';
import pg from 'pg';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type { Metadata } from '../../domain/types.js';
import type { ApplyResult, UserFilter, UserKey, UserRow, UserStore, Visibility } from '../types.js';
import { eraseUser, exportUser } from './erasure.js';
import { recordEvents } from './events.js';
import { importBatch, importHolderRows } from './imports.js';
import { matcher } from '../imports.js';
import { type PoolSettings } from './pool.js';
import { type RawUserWithRelations, standingFromRaw, subjectStanding, usersWithRelations, userWithRelationsFromRaw } from './raw.js';
import { afterCondition, attributeConditions, orderClause } from './search.js';
import { anyOf, applyUserChanges, changedFields, type Db, grouped, inOrder, lockUserKeys, recordAudit, retrying, userColumns, violatedUserKey } from './shared.js';
import { unchangedSince } from '../states.js';
import * as t from './tables.js';
import { enqueue, insertTicket } from './tickets.js';

/** How many import keys are held in memory before they go to the database (about 100 bytes each). */
const IMPORT_KEYS_IN_MEMORY = 200_000;

export interface PgUserParts {
  db: Db;
  hashId: (id: string) => string;
  /** The caller check's reads: never a lagging copy. */
  onPrimary: <T>(fn: () => Promise<T>) => Promise<T>;
  /** For an import's spilled keys: a connection of its own beside the pool. */
  url: string;
  poolSettings: PoolSettings;
  importKeysInMemory?: number;
}

export function pgUsers({ db, hashId, onPrimary, url, poolSettings, importKeysInMemory }: PgUserParts): UserStore {
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
    // A change of that user's profile like any other: its version moves, so a write decided on the
    // row before (compare-and-set on version) is decided again.
    const released = () => ({ version: sql`${t.users.version} + 1`, updatedAt: new Date() });
    const others = (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) =>
      and(eq(t.users.connectionId, user.connectionId), eq(column, value), eq(t.users.migrated, false), sql`${t.users.id} <> ${user.id}`);
    if (values.email) {
      await tx.update(t.users).set({ email: null, emailLower: null, emailVerified: false, ...released() }).where(others(t.users.emailLower, normalizeEmail(values.email)));
    }
    if (values.username) {
      await tx.update(t.users).set({ username: null, usernameLower: null, ...released() }).where(others(t.users.usernameLower, normalizeUsername(values.username)));
    }
  }

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
          if (opts.events && opts.events.length > 0) await recordEvents(tx, opts.events, now);
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
        // The keys the decision may write, locked before the row (the order every writer takes,
        // imports included), so a key writer and an import never wait for each other in a circle.
        // Only the keys the decision changes (a row that moved on is stale anyway).
        if (opts.uniqueKeys) {
          const { email, username } = decision.changes;
          await lockUserKeys(tx, base.connectionId, { email: email !== base.email ? email : null, username: username !== base.username ? username : null });
        }
        // Locked to the end of the transaction: a concurrent writer of this user waits, then finds
        // the row moved on and answers stale (the app decides again on the row it gets back).
        const [current] = await tx.select(userColumns).from(t.users).where(eq(t.users.id, id)).for('update');
        if (!current) return { ok: false, notFound: true };
        if (!unchangedSince(current, base)) return { ok: false, stale: true, current };
        const planned = decision;
        const changes = planned.changes;
        const changed = changedFields(current, { ...changes, ...planned.bookkeeping });
        if (changed.length === 0) {
          if (opts.identityProfileData !== undefined) await updateIdentityProfile(tx, current, opts.identityProfileData);
          return { ok: true, user: current, changed };
        }
        if (opts.uniqueKeys) {
          const values = {
            email: changed.includes('email') ? changes.email : null,
            username: changed.includes('username') ? changes.username : null,
          };
          if (opts.releaseFromLegacyUsers) await releaseLegacyClaims(tx, current, values);
          const clash = await conflictsIn(tx, current.connectionId, values, id);
          if (clash.email || clash.username) return { ok: false, taken: takenKeys(clash) };
        }
        const now = new Date();
        const { user: row } = await applyUserChanges(tx, current, changes, now, planned.bookkeeping);
        await recordAudit(tx, { ...audit, targetUserId: id, fields: changed }, now);
        for (const ticket of planned.tickets ?? []) await insertTicket(tx, ticket, now);
        for (const message of planned.messages ?? []) await enqueue(tx, message, now);
        if (opts.identityProfileData !== undefined) await updateIdentityProfile(tx, current, opts.identityProfileData);
        // Last: the events lock is the last lock a transaction takes (./events.ts).
        if (planned.events && planned.events.length > 0) await recordEvents(tx, planned.events, now);
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
          const opened = new pg.Client({ connectionString: url, connectionTimeoutMillis: poolSettings.timeoutMs });
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
          if (recent.size >= (importKeysInMemory ?? IMPORT_KEYS_IN_MEMORY)) await spill();
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
    async importMatches(records) {
      if (records.length === 0) return [];
      const matchesOf = matcher(await importHolderRows(db, records));
      return records.map((r) => matchesOf(r).map(({ user, passwordHash }) => ({ user, samePasswordHash: r.passwordHash != null && passwordHash === r.passwordHash })));
    },
    async importBatch(items, audit, opts) {
      return importBatch(db, items, audit, opts.dryRun);
    },
    async erase(id, base, decision) {
      return eraseUser(db, hashId, id, base, decision);
    },
    async exportData(id) {
      return exportUser(db, id);
    },
    async deletedAt(id) {
      const [row] = await onPrimary(() => db.select({ at: t.deletedUsers.deletedAt }).from(t.deletedUsers).where(eq(t.deletedUsers.idHash, hashId(id))));
      return row?.at ?? null;
    },
  };
  return users;
}

function takenKeys(clash: { email: boolean; username: boolean }): UserKey[] {
  return [...(clash.email ? (['email'] as const) : []), ...(clash.username ? (['username'] as const) : [])];
}

