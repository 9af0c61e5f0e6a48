// Bulk import: a batch of records is one transaction (so a crash loses at most the batch in
// flight), and each record its own savepoint (so a bad record never stops the others).
import { and, eq, sql } from 'drizzle-orm';
import { conflictErrors, normalizeEmail, normalizeUsername } from '../../domain/validation.js';
import type { AuditEntry, ImportItem, ImportItemResult, UserRow } from '../types.js';
import { applyUserChanges, type Db, hashDeletedId, isUniqueViolation, recordAudit, userColumns } from './shared.js';
import * as t from './tables.js';

class ItemFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Users of the connection with the same id, email or username: three indexed lookups (an OR would scan). */
function matches(tx: Db, user: ImportItem['user']): UserRow[] {
  const lookups = [eq(t.users.id, user.id)];
  if (user.email) lookups.push(eq(t.users.emailLower, normalizeEmail(user.email)));
  if (user.username) lookups.push(eq(t.users.usernameLower, normalizeUsername(user.username)));
  const found = new Map<string, UserRow>();
  for (const lookup of lookups) {
    const row = tx
      .select(userColumns)
      .from(t.users)
      .where(and(eq(t.users.connectionId, user.connectionId), lookup))
      .get();
    if (row) found.set(row.id, row);
  }
  return [...found.values()];
}

function clashWithOthers(tx: Db, current: UserRow, changes: { email?: string | null; username?: string | null }): void {
  const taken = (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) =>
    tx
      .select({ id: t.users.id })
      .from(t.users)
      .where(and(eq(t.users.connectionId, current.connectionId), eq(column, value), sql`${t.users.id} <> ${current.id}`))
      .get() !== undefined;
  const clash = {
    email: Boolean(changes.email && taken(t.users.emailLower, normalizeEmail(changes.email))),
    username: Boolean(changes.username && taken(t.users.usernameLower, normalizeUsername(changes.username))),
  };
  const first = conflictErrors(clash)[0];
  if (first) throw new ItemFailure('CONFLICT', first.message);
}

function processItem(tx: Db, item: ImportItem, audit: AuditEntry, now: Date): ImportItemResult {
  const found = matches(tx, item.user);
  if (found.length > 1) throw new ItemFailure('CONFLICT', 'The record matches several existing users (by user_id, email or username).');
  const current = found[0];
  if (current) {
    if (!item.upsert) throw new ItemFailure('CONFLICT', `A user with this user_id, email or username exists (${current.id}); use upsert to update it.`);
    const planned = item.upsert(current);
    if ('errors' in planned) {
      const e = planned.errors[0];
      throw new ItemFailure(e?.code ?? 'INVALID_RECORD', e?.message ?? 'The record cannot be applied.');
    }
    clashWithOthers(tx, current, planned.changes);
    const { changed } = applyUserChanges(tx, current, planned.changes, now);
    if (changed.length === 0) return { outcome: 'unchanged', userId: current.id };
    recordAudit(tx, { ...audit, targetUserId: current.id, fields: changed }, now);
    return { outcome: 'updated', userId: current.id };
  }
  const { identity, ...profile } = item.user;
  tx.insert(t.users)
    .values({
      ...profile,
      emailLower: profile.email ? normalizeEmail(profile.email) : null,
      usernameLower: profile.username ? normalizeUsername(profile.username) : null,
      createdAt: now,
      updatedAt: now,
    })
    .run();
  tx.insert(t.identities).values({ ...identity, userId: profile.id, connectionId: profile.connectionId }).run();
  tx.delete(t.deletedUsers).where(eq(t.deletedUsers.idHash, hashDeletedId(profile.id))).run();
  recordAudit(tx, { ...audit, targetUserId: profile.id, fields: ['user'] }, now);
  return { outcome: 'inserted', userId: profile.id };
}

export function importBatch(db: Db, items: ImportItem[], audit: AuditEntry, dryRun: boolean): ImportItemResult[] {
  const now = new Date();
  const run = (tx: Db) =>
    items.map((item): ImportItemResult => {
      try {
        return tx.transaction((savepoint) => processItem(savepoint, item, audit, now));
      } catch (err) {
        if (err instanceof ItemFailure) return { outcome: 'failed', code: err.code, message: err.message };
        if (isUniqueViolation(err, 'users.id')) {
          return { outcome: 'failed', code: 'CONFLICT', message: `The id ${item.user.id} is taken by a user of another connection.` };
        }
        if (isUniqueViolation(err, 'UNIQUE')) return { outcome: 'failed', code: 'CONFLICT', message: 'The record clashes with an existing user.' };
        throw err;
      }
    });
  if (!dryRun) return db.transaction(run);
  // A dry run does all the work, then rolls it back.
  let results: ImportItemResult[] = [];
  try {
    db.transaction((tx) => {
      results = run(tx);
      throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  }
  return results;
}

class DryRunRollback extends Error {}
