// Organizations and memberships on SQLite: every write one transaction with its audit entry (and events).
import { and, asc, count, eq, gt, inArray } from 'drizzle-orm';
import { sameRoles } from '../changes.js';
import type { MemberWriteResult, MembershipRow, OrganizationRow, OrganizationStore, Page } from '../types.js';
import { recordEvents } from './events.js';
import { IN_JSON, membershipFromRaw, organizationFromRaw, type RawMembership, type RawOrganization, type Statements } from './raw.js';
import * as t from './tables.js';
import { type Db, grouped, inOrder, recordAudit } from './shared.js';

export function sqliteOrganizations(db: Db, statements: Statements): OrganizationStore {
  return {
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
    async updateMemberRoles(base, roles, audit, events): Promise<MemberWriteResult> {
      const { organizationId, userId } = base;
      return db.transaction((tx): MemberWriteResult => {
        const where = and(eq(t.memberships.organizationId, organizationId), eq(t.memberships.userId, userId));
        const current = tx.select().from(t.memberships).where(where).get();
        if (!current) return { ok: false, notMember: true };
        if (!sameRoles(current.roles, base.roles)) return { ok: false, stale: true, current };
        const now = new Date();
        tx.update(t.memberships).set({ roles }).where(where).run();
        recordAudit(tx, { ...audit, targetUserId: userId, organizationId, fields: ['roles'] }, now);
        if (events && events.length > 0) recordEvents(tx, events, now);
        return { ok: true, membership: { ...current, roles } };
      });
    },
    async removeMember(organizationId, userId, audit, events) {
      return db.transaction((tx) => {
        const where = and(eq(t.memberships.organizationId, organizationId), eq(t.memberships.userId, userId));
        if (tx.delete(t.memberships).where(where).run().changes === 0) return false;
        const now = new Date();
        recordAudit(tx, { ...audit, targetUserId: userId, organizationId, fields: ['membership'] }, now);
        if (events && events.length > 0) recordEvents(tx, events, now);
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
        if (events && events.length > 0) recordEvents(tx, events, now);
        return { ok: true as const, membership };
      });
    },
  };
}
