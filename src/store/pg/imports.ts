// Bulk import (the counterpart of ../sqlite/imports.ts): a batch of records is one transaction,
// each record its own savepoint, so a bad record never stops the others and its error is kept.
import { and, eq, sql } from 'drizzle-orm';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type { AuditEntry, ImportItem, ImportItemResult, ImportProblem, UserKey, UserRow } from '../types.js';
import { applyUserChanges, type Db, lockUserKeys, recordAudit, userColumns, violatedConstraint, violatedUserKey } from './shared.js';
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

async function insert(tx: Db, user: ImportItem['user'], audit: AuditEntry, now: Date): Promise<void> {
  const { identity, ...profile } = user;
  await tx.insert(t.users).values({
    ...profile,
    emailLower: user.email ? normalizeEmail(user.email) : null,
    usernameLower: user.username ? normalizeUsername(user.username) : null,
    version: 1,
    loginsCount: 0,
    lastLogin: null,
    lastIp: null,
    profileSyncedAt: null,
    createdAt: now,
    updatedAt: now,
  });
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

async function processItem(tx: Db, item: ImportItem, audit: AuditEntry, now: Date): Promise<ImportItemResult> {
  await lockUserKeys(tx, item.user.connectionId, item.user);
  const found = await matches(tx, item.user);
  if (found.length > 1) throw new ItemFailure({ kind: 'ambiguous' });
  const current = found[0];
  if (current) {
    if (!item.upsert) throw new ItemFailure({ kind: 'exists', userId: current.id });
    const planned = item.upsert(current);
    if ('errors' in planned) throw new ItemFailure({ kind: 'refused', error: planned.errors[0] ?? null });
    await lockUserKeys(tx, current.connectionId, planned.changes);
    await clashWithOthers(tx, current, planned.changes);
    const { changed } = await applyUserChanges(tx, current, planned.changes, now);
    if (changed.length === 0) return { outcome: 'unchanged', userId: current.id };
    await recordAudit(tx, { ...audit, targetUserId: current.id, fields: changed }, now);
    return { outcome: 'updated', userId: current.id };
  }
  await insert(tx, item.user, audit, now);
  return { outcome: 'inserted', userId: item.user.id };
}

export async function importBatch(db: Db, items: ImportItem[], audit: AuditEntry, dryRun: boolean): Promise<ImportItemResult[]> {
  const now = new Date();
  const run = async (tx: Db) => {
    const results: ImportItemResult[] = [];
    for (const item of items) {
      try {
        results.push(await tx.transaction((savepoint) => processItem(savepoint, item, audit, now)));
      } catch (err) {
        if (err instanceof ItemFailure) {
          results.push({ outcome: 'failed', problem: err.problem });
          continue;
        }
        const key = violatedUserKey(err);
        if (key === 'id') results.push({ outcome: 'failed', problem: { kind: 'idTakenElsewhere', userId: item.user.id } });
        else if (key) results.push({ outcome: 'failed', problem: { kind: 'taken', keys: [key] } });
        else if (violatedConstraint(err) !== null) results.push({ outcome: 'failed', problem: { kind: 'taken', keys: [] } });
        else throw err;
      }
    }
    return results;
  };
  if (!dryRun) return db.transaction(run);
  // A dry run does all the work, then rolls it back.
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
}

class DryRunRollback extends Error {}
