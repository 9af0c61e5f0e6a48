// Bulk import (the counterpart of ../sqlite/imports.ts): a batch of records is one transaction,
// decided by the app against the users it read (importMatches); the batch's one read of the same
// users, locked, says which decisions still hold (the others are stale). New users go in by
// multi-row INSERTs; every other record that writes (an update, an insert that may clash) takes
// its own savepoint, so a bad record never stops the others and its error is kept.
import { type SQL, sql } from 'drizzle-orm';
import type { AuditEntry, ImportItem, ImportItemResult, ImportKeys, ImportProblem, NewChangeEvent } from '../types.js';
import { BatchWrites, type HolderRaw, type ImportHolder, type ImportHolderRow, keysOf, keysOfRaw, normalizedKeys } from '../imports.js';
import { StaleRow } from '../states.js';
import { recordEvents } from './events.js';
import { type RawUser, USER_COLUMNS, userFromRaw } from './raw.js';
import { applyUserChanges, type Db, lockConnectionKeys, pgError, recordAudit, retrying, violatedConstraint, violatedUserKey } from './shared.js';
import * as t from './tables.js';

/** A new user's row as an import writes it: a first version, never logged in. */
function importedRow(user: ImportItem['user'], now: Date) {
  const { identity: _identity, ...profile } = user;
  return {
    ...profile,
    emailLower: normalizedKeys(user).email,
    usernameLower: normalizedKeys(user).username,
    version: 1,
    loginsCount: 0,
    lastLogin: null,
    lastIp: null,
    profileSyncedAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

async function insert(tx: Db, user: ImportItem['user'], audit: AuditEntry, now: Date): Promise<void> {
  const { identity } = user;
  await tx.insert(t.users).values(importedRow(user, now));
  await tx.insert(t.identities).values({ ...identity, userId: user.id, connectionId: user.connectionId });
  await recordAudit(tx, { actorId: audit.actorId, operation: audit.operation, targetUserId: user.id, organizationId: audit.organizationId ?? null, fields: ['user'] }, now);
}

/** A record's outcome, and the events it asks for (recorded at the end of the batch, in the records' order). */
interface Processed {
  result: ImportItemResult;
  events: NewChangeEvent[];
}

const insertedEvents = (item: ImportItem): NewChangeEvent[] => (item.decision.kind === 'insert' ? (item.decision.events ?? []) : []);

/** One record whose decision holds (see BatchWrites.holds). */
async function applyItem(tx: Db, item: ImportItem, writes: BatchWrites, audit: AuditEntry, now: Date): Promise<Processed> {
  const { decision } = item;
  // Unchanged since the decision: the row it was decided on.
  const current = item.seen[0];
  const none: NewChangeEvent[] = [];
  switch (decision.kind) {
    case 'failed':
      return { result: { outcome: 'failed', problem: decision.problem }, events: none };
    case 'unchanged':
      if (!current) throw new Error('an unchanged import record matches no user');
      return { result: { outcome: 'unchanged', userId: current.id }, events: none };
    case 'insert':
      await insert(tx, item.user, audit, now);
      writes.inserted(item.user);
      return { result: { outcome: 'inserted', userId: item.user.id }, events: insertedEvents(item) };
    case 'update': {
      if (!current) throw new Error('an import update matches no user');
      const { changed } = await applyUserChanges(tx, current, decision.changes, now);
      if (changed.length === 0) return { result: { outcome: 'unchanged', userId: current.id }, events: none };
      await recordAudit(tx, { ...audit, targetUserId: current.id, fields: changed }, now);
      writes.updated(current, decision.changes);
      return { result: { outcome: 'updated', userId: current.id }, events: decision.events ?? none };
    }
  }
}



/**
 * The users holding any key of the records: their ids anywhere (an id is unique across
 * connections), their emails and usernames in their connections. One statement: three lookups,
 * each by its own index (an OR of them would scan the table), for `columns` of each.
 */
function holdersOf(records: readonly ImportKeys[], columns: SQL, lock: boolean): SQL {
  const ids = records.map((r) => r.id);
  const emails = records.filter((r) => r.email).map((r) => [r.connectionId, normalizedKeys(r).email as string] as const);
  const usernames = records.filter((r) => r.username).map((r) => [r.connectionId, normalizedKeys(r).username as string] as const);
  const holders = sql`
    SELECT u.id FROM users u WHERE u.id = ANY(${sql.param(ids)}::text[])
    UNION
    SELECT u.id FROM users u
      JOIN unnest(${sql.param(emails.map((e) => e[0]))}::text[], ${sql.param(emails.map((e) => e[1]))}::text[]) AS k(connection_id, value)
        ON u.connection_id = k.connection_id AND u.email_lower = k.value
    UNION
    SELECT u.id FROM users u
      JOIN unnest(${sql.param(usernames.map((e) => e[0]))}::text[], ${sql.param(usernames.map((e) => e[1]))}::text[]) AS k(connection_id, value)
        ON u.connection_id = k.connection_id AND u.username_lower = k.value`;
  // Locked in id order: two batches that share users lock them in the same order.
  return sql`SELECT ${columns} FROM users u WHERE u.id IN (${holders}) ORDER BY u.id${lock ? sql` FOR UPDATE` : sql``}`;
}

const STAMP_COLUMNS = sql.raw('u.id, u.connection_id, u.email_lower, u.username_lower, u.version, u.logins_count');

/** The users holding the records' keys as the app decides on them: whole rows, with the password hashes. */
export async function importHolderRows(db: Db, records: readonly ImportKeys[]): Promise<ImportHolderRow[]> {
  const columns = sql.raw(`${USER_COLUMNS.split(', ').map((c) => `u.${c}`).join(', ')}, u.email_lower, u.username_lower, u.password_hash`);
  const found = await db.execute<RawUser & HolderRaw & { password_hash: string | null } & Record<string, unknown>>(holdersOf(records, columns, false));
  return found.rows.map((r) => ({ ...keysOfRaw(r), user: userFromRaw(r), passwordHash: r.password_hash }));
}

/** The same users in the batch's transaction, locked: keys and stamps only. */
async function importHolders(tx: Db, records: readonly ImportKeys[]): Promise<ImportHolder[]> {
  return (await tx.execute<HolderRaw & Record<string, unknown>>(holdersOf(records, STAMP_COLUMNS, true))).rows.map(keysOfRaw);
}

/**
 * The records that can go in by multi-row INSERTs: decided as new users and still new (no user
 * has their id anywhere, nor their email or username in their connection), sharing no key with
 * another record of the batch. Everything else takes the record-by-record path, in the batch's order.
 */
function freshRecords(items: ImportItem[], holders: readonly ImportHolder[], writes: BatchWrites): Set<number> {
  const claims = new Map<string, number>();
  for (const item of items) for (const k of keysOf(item.user)) claims.set(k, (claims.get(k) ?? 0) + 1);
  const existing = new Set<string>();
  for (const { id, connectionId, emailLower, usernameLower } of holders) {
    existing.add(`id:${id}`);
    if (emailLower) existing.add(`email:${connectionId}:${emailLower}`);
    if (usernameLower) existing.add(`username:${connectionId}:${usernameLower}`);
  }
  const fresh = new Set<number>();
  items.forEach((item, index) => {
    if (item.decision.kind !== 'insert') return;
    if (keysOf(item.user).every((k) => claims.get(k) === 1 && !existing.has(k)) && writes.holds(item)) fresh.add(index);
  });
  return fresh;
}

/** Rows of one multi-row INSERT: well under PostgreSQL's 65,535 parameters. */
const CHUNK = 500;

async function insertMany(tx: Db, items: ImportItem[], audit: AuditEntry, now: Date): Promise<void> {
  for (let at = 0; at < items.length; at += CHUNK) {
    const chunk = items.slice(at, at + CHUNK).map((i) => i.user);
    await tx.insert(t.users).values(chunk.map((u) => importedRow(u, now)));
    await tx.insert(t.identities).values(chunk.map((u) => ({ ...u.identity, userId: u.id, connectionId: u.connectionId })));
    await tx.insert(t.auditEvents).values(
      chunk.map((u) => ({ at: now, actorId: audit.actorId, operation: audit.operation, targetUserId: u.id, organizationId: audit.organizationId ?? null, fields: ['user'] })),
    );
  }
}

async function oneByOne(tx: Db, item: ImportItem, writes: BatchWrites, audit: AuditEntry, now: Date): Promise<Processed> {
  // Nothing to write: no savepoint either (a re-run of an import is mostly these).
  if (item.decision.kind === 'failed' || item.decision.kind === 'unchanged') return applyItem(tx, item, writes, audit, now);
  const failed = (problem: ImportProblem): Processed => ({ result: { outcome: 'failed', problem }, events: [] });
  try {
    return await tx.transaction((savepoint) => applyItem(savepoint, item, writes, audit, now));
  } catch (err) {
    if (err instanceof StaleRow) return { result: { outcome: 'stale' }, events: [] };
    const key = violatedUserKey(err);
    if (key === 'id') return failed({ kind: 'idTakenElsewhere', userId: item.user.id });
    if (key) return failed({ kind: 'taken', keys: [key] });
    if (violatedConstraint(err) !== null) return failed({ kind: 'taken', keys: [] });
    throw err;
  }
}

export async function importBatch(db: Db, items: ImportItem[], audit: AuditEntry, dryRun: boolean): Promise<ImportItemResult[]> {
  const now = new Date();
  const run = async (tx: Db) => {
    const results: ImportItemResult[] = new Array<ImportItemResult>(items.length);
    const events: NewChangeEvent[][] = items.map(() => []);
    // Serialised with every other writer of the connection's emails and usernames (they hold its
    // lock shared), before any row is read: the batch's records, upserts included, take no key lock
    // of their own. Then the users the records were decided on, locked: a concurrent write of one
    // waits for the batch, or the batch for it (and finds the record stale).
    for (const connectionId of [...new Set(items.map((i) => i.user.connectionId))].sort()) await lockConnectionKeys(tx, connectionId);
    const holders = await importHolders(tx, items.map((i) => i.user));
    const writes = new BatchWrites(holders);
    let bulk = [...freshRecords(items, holders, writes)];
    if (bulk.length > 0) {
      try {
        // In a savepoint: should one row fail after all (a constraint this check does not see),
        // the batch's new records go one by one instead, each with its own error.
        await tx.transaction((savepoint) => insertMany(savepoint, bulk.map((i) => items[i] as ImportItem), audit, now));
        for (const i of bulk) {
          const item = items[i] as ImportItem;
          results[i] = { outcome: 'inserted', userId: item.user.id };
          events[i] = insertedEvents(item);
          writes.inserted(item.user);
        }
      } catch (err) {
        if (pgError(err) === null) throw err;
        bulk = [];
      }
    }
    const done = new Set(bulk);
    for (const [index, item] of items.entries()) {
      if (done.has(index)) continue;
      if (!writes.holds(item)) {
        results[index] = { outcome: 'stale' };
        continue;
      }
      const processed = await oneByOne(tx, item, writes, audit, now);
      results[index] = processed.result;
      events[index] = processed.events;
    }
    // The batch's events, in its records' order (as SQLite records them), as its last statement:
    // the events lock is a transaction's last lock (./events.ts).
    await recordEvents(tx, events.flat(), now);
    return results;
  };
  // Retried whole on a deadlock (the server picked this transaction to end one).
  if (!dryRun) return retrying(() => db.transaction(run));
  // A dry run does all the work, then rolls it back.
  return retrying(async () => {
    let results: ImportItemResult[] = [];
    try {
      await db.transaction(async (tx) => {
        results = await run(tx);
        throw new DryRunRollback();
      });
    } catch (err) {
      if (!(err instanceof DryRunRollback)) throw err;
    }
    return results;
  });
}

class DryRunRollback extends Error {}
