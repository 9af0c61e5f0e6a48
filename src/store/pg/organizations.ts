// Organizations and memberships on PostgreSQL: every write one transaction with its audit entry (and events).
import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import { sameRoles } from '../changes.js';
import type { MemberWriteResult, MembershipRow, OrganizationRow, OrganizationStore, Page } from '../types.js';
import { recordEvents } from './events.js';
import { anyOf, type Db, grouped, inOrder, recordAudit } from './shared.js';
import * as t from './tables.js';

export function pgOrganizations(db: Db): OrganizationStore {
  return {
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
    async updateMemberRoles(base, roles, audit, events): Promise<MemberWriteResult> {
      const { organizationId, userId } = base;
      return db.transaction(async (tx): Promise<MemberWriteResult> => {
        const where = and(eq(t.memberships.organizationId, organizationId), eq(t.memberships.userId, userId));
        // Locked: the roles compared are the roles replaced.
        const [current] = await tx.select().from(t.memberships).where(where).for('update');
        if (!current) return { ok: false, notMember: true };
        if (!sameRoles(current.roles, base.roles)) return { ok: false, stale: true, current };
        const now = new Date();
        await tx.update(t.memberships).set({ roles }).where(where);
        await recordAudit(tx, { ...audit, targetUserId: userId, organizationId, fields: ['roles'] }, now);
        if (events && events.length > 0) await recordEvents(tx, events, now);
        return { ok: true, membership: { ...current, roles } };
      });
    },
    async removeMember(organizationId, userId, audit, events) {
      return db.transaction(async (tx) => {
        const where = and(eq(t.memberships.organizationId, organizationId), eq(t.memberships.userId, userId));
        // A concurrent remover finds none: one of them records the removal.
        const removed = await tx.delete(t.memberships).where(where).returning({ u: t.memberships.userId });
        if (removed.length === 0) return false;
        const now = new Date();
        await recordAudit(tx, { ...audit, targetUserId: userId, organizationId, fields: ['membership'] }, now);
        if (events && events.length > 0) await recordEvents(tx, events, now);
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
        if (events && events.length > 0) await recordEvents(tx, events, now);
        return { ok: true as const, membership };
      });
    },
  };
}
