// Connections on SQLite: rows read by id in one statement, every write one transaction with its audit entry (and events).
import { and, asc, count, eq, gt, inArray, sql } from 'drizzle-orm';
import { sameConnection } from '../changes.js';
import type { ConnectionRow, ConnectionStore, ConnectionUpdateResult } from '../types.js';
import { recordEvents } from './events.js';
import { attributeIndexStatement } from './search.js';
import { connectionFromRaw, IN_JSON, type RawConnection, type Statements } from './raw.js';
import * as t from './tables.js';
import { type Db, inOrder, recordAudit, userColumns } from './shared.js';

export function sqliteConnections(db: Db, statements: Statements): ConnectionStore {
  return {
    async byIds(ids) {
      const rows = (statements.get(`SELECT * FROM connections WHERE id ${IN_JSON}`).all(JSON.stringify(ids)) as RawConnection[]).map(
        connectionFromRaw,
      );
      return inOrder(ids, rows, (r) => r.id);
    },
    async byName(name) {
      // Every login names its connection: a prepared statement.
      const raw = statements.get('SELECT * FROM connections WHERE name = ?').get(name) as RawConnection | undefined;
      return raw ? connectionFromRaw(raw) : null;
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
    async update(id, base, changes, audit, events): Promise<ConnectionUpdateResult> {
      return db.transaction((tx): ConnectionUpdateResult => {
        const current = tx.select().from(t.connections).where(eq(t.connections.id, id)).get();
        if (!current) return { ok: false, notFound: true };
        if (!sameConnection(current, base)) return { ok: false, stale: true, current };
        const now = new Date();
        const next: ConnectionRow = { ...current, ...changes, updatedAt: now };
        tx.update(t.connections).set({ name: next.name, strategy: next.strategy, options: next.options, updatedAt: now }).where(eq(t.connections.id, id)).run();
        recordAudit(tx, { ...audit, fields: Object.keys(changes) }, now);
        if (events && events.length > 0) recordEvents(tx, events, now);
        return { ok: true, connection: next };
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
}
