// Connections on PostgreSQL: every write one transaction with its audit entry (and events);
// declared attributes get their expression indexes built concurrently, one instance at a time.
import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import type pg from 'pg';
import { sameConnection } from '../changes.js';
import type { ConnectionRow, ConnectionStore, ConnectionUpdateResult } from '../types.js';
import { recordEvents } from './events.js';
import { attributeIndexes } from './search.js';
import { anyOf, type Db, inOrder, recordAudit, userColumns } from './shared.js';
import * as t from './tables.js';

export function pgConnections(db: Db, pool: pg.Pool): ConnectionStore {
  return {
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
    async update(id, base, changes, audit, events): Promise<ConnectionUpdateResult> {
      return db.transaction(async (tx): Promise<ConnectionUpdateResult> => {
        // Locked: the row compared is the row written.
        const [current] = await tx.select().from(t.connections).where(eq(t.connections.id, id)).for('update');
        if (!current) return { ok: false, notFound: true };
        if (!sameConnection(current, base)) return { ok: false, stale: true, current };
        const now = new Date();
        const next: ConnectionRow = { ...current, ...changes, updatedAt: now };
        await tx.update(t.connections).set({ name: next.name, strategy: next.strategy, options: next.options, updatedAt: now }).where(eq(t.connections.id, id));
        await recordAudit(tx, { ...audit, fields: Object.keys(changes) }, now);
        if (events && events.length > 0) await recordEvents(tx, events, now);
        return { ok: true, connection: next };
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
}

async function currentSchema(client: pg.PoolClient): Promise<string> {
  return (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
}

