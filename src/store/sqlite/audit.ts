// The audit log and the outbox.
import { and, asc, count, desc, eq, inArray, isNull, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { AuditEventRow, AuditStore, OutboxStore } from '../types.js';
import { checkpoint, type Db } from './shared.js';
import * as t from './tables.js';

export function sqliteAudit(db: Db): AuditStore {
  return {
    async list({ first, after, filter }) {
      const conds: SQL[] = [];
      if (filter.userId) conds.push(eq(t.auditEvents.targetUserId, filter.userId));
      if (filter.actorId) conds.push(eq(t.auditEvents.actorId, filter.actorId));
      if (filter.organizationIds) conds.push(inArray(t.auditEvents.organizationId, filter.organizationIds));
      const total = db.select({ n: count() }).from(t.auditEvents).where(and(...conds)).get();
      if (after != null) conds.push(lt(t.auditEvents.id, after));
      const rows: AuditEventRow[] = db
        .select()
        .from(t.auditEvents)
        .where(and(...conds))
        .orderBy(desc(t.auditEvents.id))
        .limit(first + 1)
        .all();
      return { rows: rows.slice(0, first), hasNextPage: rows.length > first, totalCount: total?.n ?? 0 };
    },
  };
}

const messageColumns = {
  id: t.outbox.id,
  userId: t.outbox.userId,
  to: t.outbox.toAddress,
  subject: t.outbox.subject,
  body: t.outbox.body,
  createdAt: t.outbox.createdAt,
  attempts: t.outbox.attempts,
  sentAt: t.outbox.sentAt,
  lastError: t.outbox.lastError,
} as const;

/** Far in the future: a message that failed too often waits for an operator. */
const GIVEN_UP = new Date('9999-01-01T00:00:00Z');

export function sqliteOutbox(db: Db): OutboxStore {
  return {
    async pending(limit, now) {
      return db
        .select(messageColumns)
        .from(t.outbox)
        .where(and(isNull(t.outbox.sentAt), lte(t.outbox.nextAttemptAt, now)))
        .orderBy(asc(t.outbox.id))
        .limit(limit)
        .all();
    },
    async markSent(id, at) {
      // Delivered: the body (which may hold a ticket) is not kept.
      db.update(t.outbox).set({ sentAt: at, lastError: null, body: '' }).where(eq(t.outbox.id, id)).run();
      checkpoint(db);
    },
    async markFailed(id, error, retryAt) {
      db.update(t.outbox)
        .set({ attempts: sql`${t.outbox.attempts} + 1`, lastError: error.slice(0, 500), nextAttemptAt: retryAt ?? GIVEN_UP })
        .where(eq(t.outbox.id, id))
        .run();
    },
    async byUser(userId) {
      return db.select(messageColumns).from(t.outbox).where(eq(t.outbox.userId, userId)).orderBy(asc(t.outbox.id)).all();
    },
  };
}
