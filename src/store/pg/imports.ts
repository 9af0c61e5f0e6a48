// Bulk import (the counterpart of ../sqlite/imports.ts): a batch of records is one transaction.
// New users go in by multi-row INSERTs; every other record (a match to update, a clash, a
// duplicate within the batch) takes its own savepoint, so a bad record never stops the others and
// its error is kept.
import { and, eq, sql } from 'drizzle-orm';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type { AuditEntry, ImportItem, ImportItemResult, ImportProblem, NewChangeEvent, UserKey, UserRow } from '../types.js';
import { changedFields, insertedUserWrite } from '../changes.js';
import { recordEvents } from './events.js';
import { type RawUser, USER_COLUMNS, userFromRaw } from './raw.js';
import { applyUserChanges, type Db, lockConnectionKeys, pgError, recordAudit, retrying, userColumns, userKeyOf, violatedConstraint, violatedUserKey } from './shared.js';
import * as t from './tables.js';

class ItemFailure extends Error {
  constructor(readonly problem: ImportProblem) {
    super(problem.kind);
  }
}

/** Users of the connection with the same id, email or username: three indexed lookups. */
async function matches(tx: Db, user: ImportItem['user']): Promise<UserRow[]> {
  const found = new Map<string, UserRow>();
  const lookups = [
    [t.users.id, user.id],
    [t.users.emailLower, user.email ? normalizeEmail(user.email) : null],
    [t.users.usernameLower, user.username ? normalizeUsername(user.username) : null],
  ] as const;
  for (const [column, value] of lookups) {
    if (!value) continue;
    const [row] = await tx.select(userColumns).from(t.users).where(and(eq(t.users.connectionId, user.connectionId), eq(column, value))).for('update');
    if (row) found.set(row.id, row);
  }
  return [...found.values()];
}

/** A new user's row as an import writes it: a first version, never logged in. */
function importedRow({ identity: _identity, ...profile }: ImportItem['user'], now: Date) {
  return {
    ...profile,
    emailLower: profile.email ? normalizeEmail(profile.email) : null,
    usernameLower: profile.username ? normalizeUsername(profile.username) : null,
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

async function clashWithOthers(tx: Db, current: UserRow, changes: { email?: string | null; username?: string | null }): Promise<void> {
  const taken = async (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) =>
    (
      await tx
        .select({ id: t.users.id })
        .from(t.users)
        .where(and(eq(t.users.connectionId, current.connectionId), eq(column, value), sql`${t.users.id} <> ${current.id}`))
        .limit(1)
    ).length > 0;
  const keys: UserKey[] = [];
  if (changes.email && (await taken(t.users.emailLower, normalizeEmail(changes.email)))) keys.push('email');
  if (changes.username && (await taken(t.users.usernameLower, normalizeUsername(changes.username)))) keys.push('username');
  if (keys.length > 0) throw new ItemFailure({ kind: 'taken', keys });
}

/** A record's outcome, and the events it asks for (recorded at the end of the batch, in the records' order). */
interface Processed {
  result: ImportItemResult;
  events: NewChangeEvent[];
}

/** One record, inside its batch's transaction, which holds the connection's keys (newRecords). */
async function processItem(tx: Db, item: ImportItem, audit: AuditEntry, now: Date): Promise<Processed> {
  const found = await matches(tx, item.user);
  if (found.length > 1) throw new ItemFailure({ kind: 'ambiguous' });
  const current = found[0];
  if (current) {
    if (!item.upsert) throw new ItemFailure({ kind: 'exists', userId: current.id });
    const planned = item.upsert(current);
    if ('errors' in planned) throw new ItemFailure({ kind: 'refused', error: planned.errors[0] ?? null });
    await clashWithOthers(tx, current, planned.changes);
    const { user: after, changed } = await applyUserChanges(tx, current, planned.changes, now);
    if (changed.length === 0) return { result: { outcome: 'unchanged', userId: current.id }, events: [] };
    await recordAudit(tx, { ...audit, targetUserId: current.id, fields: changed }, now);
    const events = item.events ? item.events({ userId: current.id, before: current, after, changed }) : [];
    return { result: { outcome: 'updated', userId: current.id }, events };
  }
  await insert(tx, item.user, audit, now);
  return { result: { outcome: 'inserted', userId: item.user.id }, events: insertedEvents(item) };
}

const insertedEvents = (item: ImportItem): NewChangeEvent[] => (item.events ? item.events(insertedUserWrite(item.user)) : []);

/** The keys a record claims: its id, and its email and username within its connection. */
function keysOf(user: ImportItem['user']): string[] {
  const keys = [`id:${user.id}`];
  if (user.email) keys.push(userKeyOf('email', user.connectionId, user.email));
  if (user.username) keys.push(userKeyOf('username', user.connectionId, user.username));
  return keys;
}

/** Rows of one multi-row INSERT: well under PostgreSQL's 65,535 parameters. */
const CHUNK = 500;

/**
 * The records that can go in by multi-row INSERTs: new users (no user has their id anywhere, nor
 * their email or username in their connection) that share no key with another record of the batch.
 * Everything else takes the record-by-record path, in the batch's order.
 */
interface Prefetched {
  /** Records that can go in by multi-row INSERTs. */
  fresh: Set<number>;
  /** Records whose keys no other record of the batch shares. */
  alone: Set<number>;
  /** The users holding any key of the batch, with their password hashes. */
  holders: { user: UserRow; emailLower: string | null; usernameLower: string | null; passwordHash: string | null }[];
}

async function newRecords(tx: Db, items: ImportItem[]): Promise<Prefetched> {
  const claims = new Map<string, number>();
  for (const item of items) for (const k of keysOf(item.user)) claims.set(k, (claims.get(k) ?? 0) + 1);
  // Serialised with every other writer of the connection's emails and usernames (they hold its
  // lock shared), before any row is read: the batch's records, upserts included, take no key lock
  // of their own.
  for (const connectionId of [...new Set(items.map((i) => i.user.connectionId))].sort()) await lockConnectionKeys(tx, connectionId);
  const ids = items.map((i) => i.user.id);
  const emails = items.filter((i) => i.user.email).map((i) => [i.user.connectionId, normalizeEmail(i.user.email as string)] as const);
  const usernames = items.filter((i) => i.user.username).map((i) => [i.user.connectionId, normalizeUsername(i.user.username as string)] as const);
  const columns = sql.raw(`${USER_COLUMNS.split(', ').map((c) => `u.${c}`).join(', ')}, u.email_lower, u.username_lower, u.password_hash`);
  // Three lookups, each by its own index (an OR of them would scan the table).
  const taken = await tx.execute<RawUser & { email_lower: string | null; username_lower: string | null; password_hash: string | null } & Record<string, unknown>>(sql`
    SELECT ${columns} FROM users u WHERE u.id = ANY(${sql.param(ids)}::text[])
    UNION
    SELECT ${columns} FROM users u
      JOIN unnest(${sql.param(emails.map((e) => e[0]))}::text[], ${sql.param(emails.map((e) => e[1]))}::text[]) AS k(connection_id, value)
        ON u.connection_id = k.connection_id AND u.email_lower = k.value
    UNION
    SELECT ${columns} FROM users u
      JOIN unnest(${sql.param(usernames.map((e) => e[0]))}::text[], ${sql.param(usernames.map((e) => e[1]))}::text[]) AS k(connection_id, value)
        ON u.connection_id = k.connection_id AND u.username_lower = k.value`);
  const existing = new Set<string>();
  for (const row of taken.rows) {
    existing.add(`id:${row.id}`);
    if (row.email_lower) existing.add(`email:${row.connection_id}:${row.email_lower}`);
    if (row.username_lower) existing.add(`username:${row.connection_id}:${row.username_lower}`);
  }
  const fresh = new Set<number>();
  const alone = new Set<number>();
  items.forEach((item, index) => {
    const keys = keysOf(item.user);
    if (!keys.every((k) => claims.get(k) === 1)) return;
    alone.add(index);
    if (!keys.some((k) => existing.has(k))) fresh.add(index);
  });
  return { fresh, alone, holders: taken.rows.map((r) => ({ user: userFromRaw(r), emailLower: r.email_lower, usernameLower: r.username_lower, passwordHash: r.password_hash })) };
}

/**
 * A record that matches one prefetched user and would change nothing: decided without a
 * statement (a re-run of an import is mostly these). Null: it needs the record-by-record path.
 */
function unchangedOrFailed(item: ImportItem, holders: Prefetched['holders']): ImportItemResult | null {
  const u = item.user;
  const email = u.email ? normalizeEmail(u.email) : null;
  const username = u.username ? normalizeUsername(u.username) : null;
  const found = holders.filter(
    (h) =>
      h.user.connectionId === u.connectionId &&
      (h.user.id === u.id || (email !== null && h.emailLower === email) || (username !== null && h.usernameLower === username)),
  );
  if (found.length > 1) return { outcome: 'failed', problem: { kind: 'ambiguous' } };
  const match = found[0];
  if (!match) return null;
  if (!item.upsert) return { outcome: 'failed', problem: { kind: 'exists', userId: match.user.id } };
  const planned = item.upsert(match.user);
  if ('errors' in planned) return { outcome: 'failed', problem: { kind: 'refused', error: planned.errors[0] ?? null } };
  let changes = planned.changes;
  if (changes.importedPasswordHash !== undefined) {
    if (changes.importedPasswordHash !== match.passwordHash) return null;
    const { importedPasswordHash: _same, ...rest } = changes;
    changes = rest;
  }
  return changedFields(match.user, changes).length === 0 ? { outcome: 'unchanged', userId: match.user.id } : null;
}

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

async function oneByOne(tx: Db, item: ImportItem, audit: AuditEntry, now: Date): Promise<Processed> {
  const failed = (problem: ImportProblem): Processed => ({ result: { outcome: 'failed', problem }, events: [] });
  try {
    return await tx.transaction((savepoint) => processItem(savepoint, item, audit, now));
  } catch (err) {
    if (err instanceof ItemFailure) return failed(err.problem);
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
    const { fresh, alone, holders } = await newRecords(tx, items);
    let bulk = [...fresh];
    if (bulk.length > 0) {
      try {
        // In a savepoint: should one row fail after all (a constraint this check does not see),
        // the batch's new records go one by one instead, each with its own error.
        await tx.transaction((savepoint) => insertMany(savepoint, bulk.map((i) => items[i] as ImportItem), audit, now));
        for (const i of bulk) {
          results[i] = { outcome: 'inserted', userId: (items[i] as ImportItem).user.id };
          events[i] = insertedEvents(items[i] as ImportItem);
        }
      } catch (err) {
        if (pgError(err) === null) throw err;
        bulk = [];
      }
    }
    const done = new Set(bulk);
    // The prefetched users hold until a record of this batch is written one by one (it may move an email).
    let prefetchHolds = true;
    for (const [index, item] of items.entries()) {
      if (done.has(index)) continue;
      const quick = prefetchHolds && alone.has(index) ? unchangedOrFailed(item, holders) : null;
      if (quick) {
        results[index] = quick;
        continue;
      }
      const processed = await oneByOne(tx, item, audit, now);
      results[index] = processed.result;
      events[index] = processed.events;
      if (processed.result.outcome !== 'failed') prefetchHolds = false;
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
