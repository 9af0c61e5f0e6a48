// The audit log and the outbox.
import { and, asc, count, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { AuditEventRow, AuditStore, OutboxStatus, OutboxStore } from '../types.js';
import { checkpoint, type Db, recordAudit } from './shared.js';
import { GIVEN_UP, summary, type SummaryRow } from '../states.js';
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
    async record(entry) {
      recordAudit(db, entry, new Date());
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


const summaryColumns = {
  id: t.outbox.id,
  userId: t.outbox.userId,
  subject: t.outbox.subject,
  attempts: t.outbox.attempts,
  lastError: t.outbox.lastError,
  createdAt: t.outbox.createdAt,
  nextAttemptAt: t.outbox.nextAttemptAt,
  sentAt: t.outbox.sentAt,
} as const;

function statusCondition(status: OutboxStatus): SQL | undefined {
  if (status === 'SENT') return isNotNull(t.outbox.sentAt);
  if (status === 'FAILED') return and(isNull(t.outbox.sentAt), gte(t.outbox.nextAttemptAt, GIVEN_UP));
  return and(isNull(t.outbox.sentAt), lt(t.outbox.nextAttemptAt, GIVEN_UP));
}

export function sqliteOutbox(db: Db): OutboxStore {
  const byId = (tx: Db, id: number): SummaryRow | undefined => tx.select(summaryColumns).from(t.outbox).where(eq(t.outbox.id, id)).get();
  return {
    async list({ status, first, afterId }) {
      const conds = [statusCondition(status)];
      if (afterId != null) conds.push(gt(t.outbox.id, afterId));
      return db.select(summaryColumns).from(t.outbox).where(and(...conds)).orderBy(asc(t.outbox.id)).limit(first).all().map(summary);
    },
    async byId(id) {
      const row = byId(db, id);
      return row ? summary(row) : null;
    },
    async retry(id, now, audit) {
      return db.transaction((tx) => {
        const row = byId(tx, id);
        if (!row) return { ok: false as const, problem: 'missing' as const };
        if (row.sentAt !== null) return { ok: false as const, problem: 'sent' as const };
        tx.update(t.outbox).set({ attempts: 0, nextAttemptAt: now }).where(eq(t.outbox.id, id)).run();
        recordAudit(tx, { ...audit, targetUserId: row.userId }, now);
        const updated = byId(tx, id);
        return { ok: true as const, message: updated ? summary(updated) : null };
      });
    },
    async discard(id, audit) {
      return db.transaction((tx) => {
        const row = byId(tx, id);
        if (!row) return { ok: false as const, problem: 'missing' as const };
        if (row.sentAt !== null) return { ok: false as const, problem: 'sent' as const };
        tx.delete(t.outbox).where(eq(t.outbox.id, id)).run();
        recordAudit(tx, { ...audit, targetUserId: row.userId }, new Date());
        return { ok: true as const, message: summary(row) };
      });
    },
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
    async counts() {
      const row = db
        .select({
          pending: sql<number>`coalesce(sum(case when ${t.outbox.sentAt} is null and ${t.outbox.nextAttemptAt} < ${GIVEN_UP.getTime()} then 1 else 0 end), 0)`,
          sent: sql<number>`coalesce(sum(case when ${t.outbox.sentAt} is not null then 1 else 0 end), 0)`,
          failed: sql<number>`coalesce(sum(case when ${t.outbox.sentAt} is null and ${t.outbox.nextAttemptAt} >= ${GIVEN_UP.getTime()} then 1 else 0 end), 0)`,
        })
        .from(t.outbox)
        .get();
      return { pending: Number(row?.pending ?? 0), sent: Number(row?.sent ?? 0), failed: Number(row?.failed ?? 0) };
    },
  };
}
