// Change events, webhooks and each consumer's delivery cursor (SQLite). Events are inserted by
// the write they describe, inside its transaction (recordEvents); nothing here decides which.
import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { ChangeEventRow, NewChangeEvent } from '../../domain/events.js';
import type { DeliveryCursor, DeliveryStore, EventStore, WebhookRow, WebhookStore } from '../types.js';
import { checkpoint, type Db, recordAudit } from './shared.js';
import * as t from './tables.js';
import { statementsOf } from './raw.js';

/** Inserts the events of a write, inside the write's transaction, in the order given. */
const INSERT_EVENT = 'INSERT INTO change_events (id, type, subject, time, data) VALUES (?, ?, ?, ?, ?)';

/** A write's change events, in the transaction `tx` is part of (a prepared statement each). */
export function recordEvents(tx: Db, events: readonly NewChangeEvent[], now: Date): void {
  if (events.length === 0) return;
  const insert = statementsOf(tx).get(INSERT_EVENT);
  for (const e of events) insert.run(randomUUID(), e.type, e.subject, now.getTime(), JSON.stringify(e.data));
}

const lastSeq = (db: Db): number => db.select({ s: sql<number | null>`max(${t.changeEvents.seq})` }).from(t.changeEvents).get()?.s ?? 0;

export function sqliteEvents(db: Db): EventStore {
  return {
    async list({ after, first, types }) {
      const typed = types && types.length > 0 ? inArray(t.changeEvents.type, [...types]) : undefined;
      const rows = db
        .select()
        .from(t.changeEvents)
        .where(and(typed, after != null ? gt(t.changeEvents.seq, after) : undefined))
        .orderBy(asc(t.changeEvents.seq))
        .limit(first + 1)
        .all();
      return { rows: rows.slice(0, first) as ChangeEventRow[], hasNextPage: rows.length > first };
    },
    async count(types) {
      const typed = types && types.length > 0 ? inArray(t.changeEvents.type, [...types]) : undefined;
      return db.select({ n: count() }).from(t.changeEvents).where(typed).get()?.n ?? 0;
    },
    async since(after, first, types) {
      const typed = types && types.length > 0 ? inArray(t.changeEvents.type, [...types]) : undefined;
      return db
        .select()
        .from(t.changeEvents)
        .where(and(typed, gt(t.changeEvents.seq, after)))
        .orderBy(asc(t.changeEvents.seq))
        .limit(first)
        .all() as ChangeEventRow[];
    },
    async lastSeq() {
      return lastSeq(db);
    },
    async seqOf(id) {
      return db.select({ s: t.changeEvents.seq }).from(t.changeEvents).where(eq(t.changeEvents.id, id)).get()?.s ?? null;
    },
    async prune(before) {
      const removed = db.delete(t.changeEvents).where(lt(t.changeEvents.time, before)).run().changes;
      // A pruned deletion notice names an erased id: it must not stay in the WAL either.
      if (removed > 0) checkpoint(db);
      return removed;
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

export function sqliteWebhooks(db: Db): WebhookStore {
  return {
    async create(row, secretCiphertext, audit) {
      const now = new Date();
      db.transaction((tx) => {
        tx.insert(t.webhooks).values({ ...row, secretCiphertext }).run();
        // Only events recorded from now on: the same transaction reads the last seq (one writer).
        tx.insert(t.eventCursors).values({ consumer: row.id, afterSeq: lastSeq(tx) }).run();
        recordAudit(tx, { ...audit, fields: ['url', 'types'] }, now);
      });
      return row;
    },
    async list() {
      return db.select(webhookColumns).from(t.webhooks).orderBy(asc(t.webhooks.createdAt), asc(t.webhooks.id)).all();
    },
    async byIds(ids) {
      const rows = ids.length === 0 ? [] : db.select(webhookColumns).from(t.webhooks).where(inArray(t.webhooks.id, [...ids])).all();
      const byId = new Map<string, WebhookRow>(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    async secretOf(id) {
      return db.select({ s: t.webhooks.secretCiphertext }).from(t.webhooks).where(eq(t.webhooks.id, id)).get()?.s ?? null;
    },
    async delete(id, audit) {
      return db.transaction((tx) => {
        const removed = tx.delete(t.webhooks).where(eq(t.webhooks.id, id)).run().changes > 0;
        if (!removed) return false;
        tx.delete(t.eventCursors).where(eq(t.eventCursors.consumer, id)).run();
        tx.delete(t.eventDeliveryFailures).where(eq(t.eventDeliveryFailures.consumer, id)).run();
        recordAudit(tx, { ...audit, fields: ['webhook'] }, new Date());
        return true;
      });
    },
    async redeliver(id, afterSeq, audit) {
      return db.transaction((tx) => {
        const moved =
          tx
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
            .run().changes > 0;
        if (moved) recordAudit(tx, { ...audit, fields: ['cursor'] }, new Date());
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

export function sqliteDeliveries(db: Db): DeliveryStore {
  const held = (consumer: string, owner: string, generation: number) =>
    and(eq(t.eventCursors.consumer, consumer), eq(t.eventCursors.leaseOwner, owner), eq(t.eventCursors.generation, generation));
  return {
    async ensure(consumer) {
      db.transaction((tx) => {
        tx.insert(t.eventCursors).values({ consumer, afterSeq: lastSeq(tx) }).onConflictDoNothing().run();
      });
    },
    async consumers() {
      return db.select({ c: t.eventCursors.consumer }).from(t.eventCursors).orderBy(asc(t.eventCursors.consumer)).all().map((r) => r.c);
    },
    async claim(consumer, owner, now, until) {
      // One statement: the lease goes to one instance, whatever the others do meanwhile.
      const claimed = db
        .update(t.eventCursors)
        .set({ leaseOwner: owner, leaseUntil: until })
        .where(
          and(
            eq(t.eventCursors.consumer, consumer),
            or(isNull(t.eventCursors.leaseOwner), eq(t.eventCursors.leaseOwner, owner), lt(t.eventCursors.leaseUntil, now)),
          ),
        )
        .returning(cursorColumns)
        .get();
      return (claimed as DeliveryCursor | undefined) ?? null;
    },
    async release(consumer, owner) {
      db.update(t.eventCursors)
        .set({ leaseOwner: null, leaseUntil: null })
        .where(and(eq(t.eventCursors.consumer, consumer), eq(t.eventCursors.leaseOwner, owner)))
        .run();
    },
    async advance(consumer, owner, generation, fromSeq, seq, failure) {
      return db.transaction((tx) => {
        const moved =
          tx
            .update(t.eventCursors)
            .set({ afterSeq: seq, attempts: 0, nextAttemptAt: null, failingSince: null, lastError: null })
            .where(and(held(consumer, owner, generation), eq(t.eventCursors.afterSeq, fromSeq)))
            .run().changes > 0;
        if (moved && failure) {
          tx.insert(t.eventDeliveryFailures)
            .values({ consumer, seq, eventId: failure.eventId, attempts: failure.attempts, lastError: failure.error, failedAt: failure.at })
            .run();
        }
        return moved;
      });
    },
    async retryLater(consumer, owner, generation, error, retryAt, failingSince) {
      return (
        db
          .update(t.eventCursors)
          .set({ attempts: sql`${t.eventCursors.attempts} + 1`, nextAttemptAt: retryAt, failingSince, lastError: error })
          .where(held(consumer, owner, generation))
          .run().changes > 0
      );
    },
    async cursors(consumers) {
      const rows = consumers.length === 0 ? [] : db.select(cursorColumns).from(t.eventCursors).where(inArray(t.eventCursors.consumer, [...consumers])).all();
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
        .limit(first)
        .all();
    },
  };
}
