// The audit log and the outbox (the counterparts of ../sqlite/audit.ts).
import { and, asc, count, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { AuditEventRow, AuditStore, OutboxStatus, OutboxStore } from '../types.js';
import { type Db, recordAudit } from './shared.js';
import { GIVEN_UP, summary, type SummaryRow } from '../states.js';
import * as t from './tables.js';

export function pgAudit(db: Db): AuditStore {
  return {
    async list({ first, after, filter }) {
      const conds: SQL[] = [];
      if (filter.userId) conds.push(eq(t.auditEvents.targetUserId, filter.userId));
      if (filter.actorId) conds.push(eq(t.auditEvents.actorId, filter.actorId));
      if (filter.organizationIds) conds.push(filter.organizationIds.length > 0 ? inArray(t.auditEvents.organizationId, filter.organizationIds) : sql`false`);
      const [total] = await db.select({ n: count() }).from(t.auditEvents).where(and(...conds));
      if (after != null) conds.push(lt(t.auditEvents.id, after));
      const rows: AuditEventRow[] = await db
        .select()
        .from(t.auditEvents)
        .where(and(...conds))
        .orderBy(desc(t.auditEvents.id))
        .limit(first + 1);
      return { rows: rows.slice(0, first), hasNextPage: rows.length > first, totalCount: total?.n ?? 0 };
    },
    async record(entry) {
      await recordAudit(db, entry, new Date());
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

/**
 * How long a sender holds each message it took, per place in its batch: the sender sends one after
 * another, each within the transport's bounds (SMTP: 10 s to connect, 10 s for the greeting, 30 s
 * of silence), so the k-th message is held (k + 1) minutes. Another instance's sender skips them
 * meanwhile (a message is sent once, even when the batch is slow); if the sender dies, each is due
 * again when its hold ends.
 */
const CLAIM_MS_PER_MESSAGE = 60_000;

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

export function pgOutbox(db: Db): OutboxStore {
  const byId = async (tx: Db, id: number, lock = false): Promise<SummaryRow | undefined> => {
    const q = tx.select(summaryColumns).from(t.outbox).where(eq(t.outbox.id, id));
    return (await (lock ? q.for('update') : q))[0];
  };
  return {
    async list({ status, first, afterId }) {
      const conds = [statusCondition(status)];
      if (afterId != null) conds.push(gt(t.outbox.id, afterId));
      const rows = await db.select(summaryColumns).from(t.outbox).where(and(...conds)).orderBy(asc(t.outbox.id)).limit(first);
      return rows.map(summary);
    },
    async byId(id) {
      const row = await byId(db, id);
      return row ? summary(row) : null;
    },
    async retry(id, now, audit) {
      return db.transaction(async (tx) => {
        const row = await byId(tx, id, true);
        if (!row) return { ok: false as const, problem: 'missing' as const };
        if (row.sentAt !== null) return { ok: false as const, problem: 'sent' as const };
        const [updated] = await tx.update(t.outbox).set({ attempts: 0, nextAttemptAt: now }).where(eq(t.outbox.id, id)).returning(summaryColumns);
        await recordAudit(tx, { ...audit, targetUserId: row.userId }, now);
        return { ok: true as const, message: updated ? summary(updated) : null };
      });
    },
    async discard(id, audit) {
      return db.transaction(async (tx) => {
        const row = await byId(tx, id, true);
        if (!row) return { ok: false as const, problem: 'missing' as const };
        if (row.sentAt !== null) return { ok: false as const, problem: 'sent' as const };
        await tx.delete(t.outbox).where(eq(t.outbox.id, id));
        await recordAudit(tx, { ...audit, targetUserId: row.userId }, new Date());
        return { ok: true as const, message: summary(row) };
      });
    },
    async pending(limit, now) {
      // Taken, not just read: the due messages no other sender holds (SKIP LOCKED), each held for
      // its place in the batch, in the same transaction, so a second instance's sender passes them by.
      return db.transaction(async (tx) => {
        const due = await tx
          .select({ id: t.outbox.id })
          .from(t.outbox)
          .where(and(isNull(t.outbox.sentAt), lte(t.outbox.nextAttemptAt, now)))
          .orderBy(asc(t.outbox.id))
          .limit(limit)
          .for('update', { skipLocked: true });
        if (due.length === 0) return [];
        const ids = due.map((r) => r.id);
        const holds = ids.map((_, k) => new Date(now.getTime() + (k + 1) * CLAIM_MS_PER_MESSAGE).toISOString());
        // Two array literals (ids are numbers, holds ISO times: nothing to quote beyond the quotes).
        const idArray = `{${ids.join(',')}}`;
        const holdArray = `{${holds.map((h) => `"${h}"`).join(',')}}`;
        await tx.execute(sql`UPDATE ${t.outbox} SET next_attempt_at = x.hold
          FROM unnest(${idArray}::bigint[], ${holdArray}::timestamptz[]) AS x(id, hold) WHERE ${t.outbox.id} = x.id`);
        const rows = await tx.select(messageColumns).from(t.outbox).where(inArray(t.outbox.id, ids));
        return rows.sort((a, b) => a.id - b.id);
      });
    },
    async markSent(id, at) {
      // Delivered: the body (which may hold a ticket) is not kept.
      await db.update(t.outbox).set({ sentAt: at, lastError: null, body: '' }).where(eq(t.outbox.id, id));
    },
    async markFailed(id, error, retryAt) {
      await db
        .update(t.outbox)
        .set({ attempts: sql`${t.outbox.attempts} + 1`, lastError: error.slice(0, 500), nextAttemptAt: retryAt ?? GIVEN_UP })
        .where(eq(t.outbox.id, id));
    },
    async byUser(userId) {
      return db.select(messageColumns).from(t.outbox).where(eq(t.outbox.userId, userId)).orderBy(asc(t.outbox.id));
    },
    async counts() {
      const [row] = await db
        .select({
          pending: sql<string>`count(*) filter (where ${t.outbox.sentAt} is null and ${t.outbox.nextAttemptAt} < ${GIVEN_UP})`,
          sent: sql<string>`count(*) filter (where ${t.outbox.sentAt} is not null)`,
          failed: sql<string>`count(*) filter (where ${t.outbox.sentAt} is null and ${t.outbox.nextAttemptAt} >= ${GIVEN_UP})`,
        })
        .from(t.outbox);
      return { pending: Number(row?.pending ?? 0), sent: Number(row?.sent ?? 0), failed: Number(row?.failed ?? 0) };
    },
  };
}
