// Change events, webhooks and each consumer's delivery cursor (PostgreSQL; the counterpart of
// ../sqlite/events.ts). Events are inserted by the write they describe, inside its transaction
// (recordEvents); nothing here decides which.
import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, gt, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { ChangeEventRow, ChangeEventType, NewChangeEvent } from '../../domain/events.js';
import type { DeliveryCursor, DeliveryStore, EventStore, WebhookRow, WebhookStore } from '../types.js';
import { type Db, recordAudit } from './shared.js';
import * as t from './tables.js';

/**
 * The advisory lock every transaction that inserts events (or reads the last seq for a new
 * cursor) takes first, held to its commit. An identity column alone numbers events in insert
 * order, not commit order: a transaction that took seq 7 could commit after one that took seq 8,
 * and a consumer that had read past 8 would never see 7. Under this lock, event-writing
 * transactions insert and commit one after the other, so seqs become visible in order.
 *
 * Deadlock-free because it is always the last lock a transaction takes: after it, a transaction
 * only writes change_events (no row or key lock another event writer could be holding while it
 * waits for this one).
 */
const EVENTS_LOCK = 0x6576_656e_7473; // "events"

export async function lockEvents(tx: Db): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${EVENTS_LOCK}::bigint)`);
}

/**
 * Inserts the events of a write, inside the write's transaction, in the order given. Call it as
 * the write's last statement (see EVENTS_LOCK).
 */
export async function recordEvents(tx: Db, events: readonly NewChangeEvent[], now: Date): Promise<void> {
  if (events.length === 0) return;
  await lockEvents(tx);
  // In chunks well under PostgreSQL's 65,535 parameters (an import batch's events go in one call).
  for (let at = 0; at < events.length; at += 1000) {
    const chunk = events.slice(at, at + 1000);
    await tx.insert(t.changeEvents).values(chunk.map((e) => ({ id: randomUUID(), type: e.type, subject: e.subject, time: now, data: e.data })));
  }
}

const lastSeq = async (db: Db): Promise<number> =>
  Number((await db.select({ s: sql<string | null>`max(${t.changeEvents.seq})` }).from(t.changeEvents))[0]?.s ?? 0);

const ofTypes = (types: readonly ChangeEventType[] | null | undefined): SQL | undefined =>
  types && types.length > 0 ? sql`${t.changeEvents.type} = ANY(${sql.param([...types])}::text[])` : undefined;

export function pgEvents(db: Db): EventStore {
  return {
    async list({ after, first, types }) {
      const rows = await db
        .select()
        .from(t.changeEvents)
        .where(and(ofTypes(types), after != null ? gt(t.changeEvents.seq, after) : undefined))
        .orderBy(asc(t.changeEvents.seq))
        .limit(first + 1);
      return { rows: rows.slice(0, first) as ChangeEventRow[], hasNextPage: rows.length > first };
    },
    async count(types) {
      return (await db.select({ n: count() }).from(t.changeEvents).where(ofTypes(types)))[0]?.n ?? 0;
    },
    async since(after, first, types) {
      return (await db
        .select()
        .from(t.changeEvents)
        .where(and(ofTypes(types), gt(t.changeEvents.seq, after)))
        .orderBy(asc(t.changeEvents.seq))
        .limit(first)) as ChangeEventRow[];
    },
    async lastSeq() {
      return lastSeq(db);
    },
    async seqOf(id) {
      return (await db.select({ s: t.changeEvents.seq }).from(t.changeEvents).where(eq(t.changeEvents.id, id)))[0]?.s ?? null;
    },
    async prune(before) {
      return (await db.delete(t.changeEvents).where(lt(t.changeEvents.time, before)).returning({ s: t.changeEvents.seq })).length;
    },
  };
}

const webhookColumns = {
  id: t.webhooks.id,
  url: t.webhooks.url,
  types: t.webhooks.types,
  createdAt: t.webhooks.createdAt,
  createdBy: t.webhooks.createdBy,
} as const;

export function pgWebhooks(db: Db): WebhookStore {
  return {
    async create(row, secretCiphertext, audit) {
      const now = new Date();
      await db.transaction(async (tx) => {
        await tx.insert(t.webhooks).values({ ...row, secretCiphertext });
        await recordAudit(tx, { ...audit, fields: ['url', 'types'] }, now);
        // Only events recorded from now on: under the events lock, no event transaction is in
        // flight, so the last seq read is the last one any consumer will see before this cursor.
        await lockEvents(tx);
        await tx.insert(t.eventCursors).values({ consumer: row.id, afterSeq: await lastSeq(tx) });
      });
      return row;
    },
    async list() {
      return db.select(webhookColumns).from(t.webhooks).orderBy(asc(t.webhooks.createdAt), asc(t.webhooks.id));
    },
    async byIds(ids) {
      const rows = ids.length === 0 ? [] : await db.select(webhookColumns).from(t.webhooks).where(sql`${t.webhooks.id} = ANY(${sql.param([...ids])}::text[])`);
      const byId = new Map<string, WebhookRow>(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    async secretOf(id) {
      return (await db.select({ s: t.webhooks.secretCiphertext }).from(t.webhooks).where(eq(t.webhooks.id, id)))[0]?.s ?? null;
    },
    async delete(id, audit) {
      return db.transaction(async (tx) => {
        const removed = (await tx.delete(t.webhooks).where(eq(t.webhooks.id, id)).returning({ id: t.webhooks.id })).length > 0;
        if (!removed) return false;
        await tx.delete(t.eventCursors).where(eq(t.eventCursors.consumer, id));
        await tx.delete(t.eventDeliveryFailures).where(eq(t.eventDeliveryFailures.consumer, id));
        await recordAudit(tx, { ...audit, fields: ['webhook'] }, new Date());
        return true;
      });
    },
    async redeliver(id, afterSeq, audit) {
      return db.transaction(async (tx) => {
        const moved =
          (
            await tx
              .update(t.eventCursors)
              .set({
                afterSeq,
                generation: sql`${t.eventCursors.generation} + 1`,
                attempts: 0,
                nextAttemptAt: null,
                failingSince: null,
                lastError: null,
              })
              .where(eq(t.eventCursors.consumer, id))
              .returning({ c: t.eventCursors.consumer })
          ).length > 0;
        if (moved) await recordAudit(tx, { ...audit, fields: ['cursor'] }, new Date());
        return moved;
      });
    },
  };
}

const cursorColumns = {
  consumer: t.eventCursors.consumer,
  afterSeq: t.eventCursors.afterSeq,
  generation: t.eventCursors.generation,
  attempts: t.eventCursors.attempts,
  nextAttemptAt: t.eventCursors.nextAttemptAt,
  failingSince: t.eventCursors.failingSince,
  lastError: t.eventCursors.lastError,
} as const;

export function pgDeliveries(db: Db): DeliveryStore {
  const held = (consumer: string, owner: string, generation: number) =>
    and(eq(t.eventCursors.consumer, consumer), eq(t.eventCursors.leaseOwner, owner), eq(t.eventCursors.generation, generation));
  return {
    async ensure(consumer) {
      await db.transaction(async (tx) => {
        // Under the events lock, as webhooks.create: the last seq no event transaction in flight can precede.
        await lockEvents(tx);
        await tx.insert(t.eventCursors).values({ consumer, afterSeq: await lastSeq(tx) }).onConflictDoNothing();
      });
    },
    async consumers() {
      return (await db.select({ c: t.eventCursors.consumer }).from(t.eventCursors).orderBy(asc(t.eventCursors.consumer))).map((r) => r.c);
    },
    async claim(consumer, owner, now, until) {
      // One statement: the row lock of the UPDATE gives the lease to one instance, whatever the
      // others do meanwhile (a concurrent claimer waits, then re-checks the condition on the new row).
      const [claimed] = await db
        .update(t.eventCursors)
        .set({ leaseOwner: owner, leaseUntil: until })
        .where(
          and(
            eq(t.eventCursors.consumer, consumer),
            or(isNull(t.eventCursors.leaseOwner), eq(t.eventCursors.leaseOwner, owner), lt(t.eventCursors.leaseUntil, now)),
          ),
        )
        .returning(cursorColumns);
      return (claimed as DeliveryCursor | undefined) ?? null;
    },
    async release(consumer, owner) {
      await db
        .update(t.eventCursors)
        .set({ leaseOwner: null, leaseUntil: null })
        .where(and(eq(t.eventCursors.consumer, consumer), eq(t.eventCursors.leaseOwner, owner)));
    },
    async advance(consumer, owner, generation, fromSeq, seq, failure) {
      return db.transaction(async (tx) => {
        const moved =
          (
            await tx
              .update(t.eventCursors)
              .set({ afterSeq: seq, attempts: 0, nextAttemptAt: null, failingSince: null, lastError: null })
              .where(and(held(consumer, owner, generation), eq(t.eventCursors.afterSeq, fromSeq)))
              .returning({ c: t.eventCursors.consumer })
          ).length > 0;
        if (moved && failure) {
          await tx
            .insert(t.eventDeliveryFailures)
            .values({ consumer, seq, eventId: failure.eventId, attempts: failure.attempts, lastError: failure.error, failedAt: failure.at });
        }
        return moved;
      });
    },
    async retryLater(consumer, owner, generation, error, retryAt, failingSince) {
      return (
        (
          await db
            .update(t.eventCursors)
            .set({ attempts: sql`${t.eventCursors.attempts} + 1`, nextAttemptAt: retryAt, failingSince, lastError: error })
            .where(held(consumer, owner, generation))
            .returning({ c: t.eventCursors.consumer })
        ).length > 0
      );
    },
    async cursors(consumers) {
      const rows =
        consumers.length === 0
          ? []
          : await db.select(cursorColumns).from(t.eventCursors).where(sql`${t.eventCursors.consumer} = ANY(${sql.param([...consumers])}::text[])`);
      const byId = new Map<string, DeliveryCursor>(rows.map((r) => [r.consumer, r]));
      return consumers.map((c) => byId.get(c) ?? null);
    },
    async failures(consumer, first) {
      return db
        .select({
          consumer: t.eventDeliveryFailures.consumer,
          seq: t.eventDeliveryFailures.seq,
          eventId: t.eventDeliveryFailures.eventId,
          attempts: t.eventDeliveryFailures.attempts,
          lastError: t.eventDeliveryFailures.lastError,
          failedAt: t.eventDeliveryFailures.failedAt,
        })
        .from(t.eventDeliveryFailures)
        .where(eq(t.eventDeliveryFailures.consumer, consumer))
        .orderBy(desc(t.eventDeliveryFailures.seq))
        .limit(first);
    },
  };
}
