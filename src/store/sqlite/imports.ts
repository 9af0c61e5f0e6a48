// Bulk import: a batch of records is one transaction (so a crash loses at most the batch in
// flight), and each record its own savepoint (so a bad record never stops the others).
import { and, eq, sql } from 'drizzle-orm';
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type { AuditEntry, ImportItem, ImportItemResult, ImportProblem, UserKey, UserRow } from '../types.js';
import { type RawUser, type Statements, USER_COLUMNS, userFromRaw } from './raw.js';
import { insertedUserWrite } from '../changes.js';
import { applyUserChanges, type Db, recordAudit, violatedUniqueColumns, violatedUserKey } from './shared.js';
import { recordEvents } from './events.js';
import * as t from './tables.js';

class ItemFailure extends Error {
  constructor(readonly problem: ImportProblem) {
    super(problem.kind);
  }
}

/** Users of the connection with the same id, email or username: three indexed lookups (an OR would scan). */
function matches(sql: Statements, user: ImportItem['user']): UserRow[] {
  const found = new Map<string, UserRow>();
  const lookups: [string, string | null | undefined][] = [
    ['id', user.id],
    ['email_lower', user.email ? normalizeEmail(user.email) : null],
    ['username_lower', user.username ? normalizeUsername(user.username) : null],
  ];
  for (const [column, value] of lookups) {
    if (!value) continue;
    const row = sql.get(`SELECT ${USER_COLUMNS} FROM users WHERE connection_id = ? AND ${column} = ?`).get(user.connectionId, value) as
      | RawUser
      | undefined;
    if (row) found.set(row.id, userFromRaw(row));
  }
  return [...found.values()];
}

const INSERT_USER = `INSERT INTO users (id, connection_id, email, email_lower, email_verified, username, username_lower, phone_number,
  phone_verified, name, nickname, given_name, family_name, picture, user_metadata, app_metadata, blocked, migrated, password_hash,
  version, created_at, updated_at, logins_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0)`;
const INSERT_IDENTITY =
  'INSERT INTO identities (user_id, connection_id, provider, upstream_user_id, is_social, profile_data) VALUES (?, ?, ?, ?, ?, ?)';
const INSERT_AUDIT =
  'INSERT INTO audit_events (at, actor_id, operation, target_user_id, organization_id, fields) VALUES (?, ?, ?, ?, ?, ?)';

function insert(sql: Statements, user: ImportItem['user'], audit: AuditEntry, now: number): void {
  const bool = (b: boolean | undefined) => (b ? 1 : 0);
  sql.get(INSERT_USER).run(
    user.id,
    user.connectionId,
    user.email ?? null,
    user.email ? normalizeEmail(user.email) : null,
    bool(user.emailVerified),
    user.username ?? null,
    user.username ? normalizeUsername(user.username) : null,
    user.phoneNumber ?? null,
    bool(user.phoneVerified),
    user.name ?? null,
    user.nickname ?? null,
    user.givenName ?? null,
    user.familyName ?? null,
    user.picture ?? null,
    JSON.stringify(user.userMetadata ?? {}),
    JSON.stringify(user.appMetadata ?? {}),
    bool(user.blocked),
    bool(user.migrated),
    user.passwordHash ?? null,
    now,
    now,
  );
  const { identity } = user;
  sql
    .get(INSERT_IDENTITY)
    .run(user.id, user.connectionId, identity.provider, identity.upstreamUserId, bool(identity.isSocial), identity.profileData ? JSON.stringify(identity.profileData) : null);
  sql.get(INSERT_AUDIT).run(now, audit.actorId, audit.operation, user.id, audit.organizationId ?? null, JSON.stringify(['user']));
}

function clashWithOthers(tx: Db, current: UserRow, changes: { email?: string | null; username?: string | null }): void {
  const taken = (column: typeof t.users.emailLower | typeof t.users.usernameLower, value: string) =>
    tx
      .select({ id: t.users.id })
      .from(t.users)
      .where(and(eq(t.users.connectionId, current.connectionId), eq(column, value), sql`${t.users.id} <> ${current.id}`))
      .get() !== undefined;
  const keys: UserKey[] = [];
  if (changes.email && taken(t.users.emailLower, normalizeEmail(changes.email))) keys.push('email');
  if (changes.username && taken(t.users.usernameLower, normalizeUsername(changes.username))) keys.push('username');
  if (keys.length > 0) throw new ItemFailure({ kind: 'taken', keys });
}

function processItem(tx: Db, sql: Statements, item: ImportItem, audit: AuditEntry, now: Date): ImportItemResult {
  const found = matches(sql, item.user);
  if (found.length > 1) throw new ItemFailure({ kind: 'ambiguous' });
  const current = found[0];
  if (current) {
    if (!item.upsert) throw new ItemFailure({ kind: 'exists', userId: current.id });
    const planned = item.upsert(current);
    if ('errors' in planned) throw new ItemFailure({ kind: 'refused', error: planned.errors[0] ?? null });
    clashWithOthers(tx, current, planned.changes);
    const { user: after, changed } = applyUserChanges(tx, current, planned.changes, now);
    if (changed.length === 0) return { outcome: 'unchanged', userId: current.id };
    recordAudit(tx, { ...audit, targetUserId: current.id, fields: changed }, now);
    if (item.events) recordEvents(tx, item.events({ userId: current.id, before: current, after, changed }), now);
    return { outcome: 'updated', userId: current.id };
  }
  insert(sql, item.user, audit, now.getTime());
  if (item.events) recordEvents(tx, item.events(insertedUserWrite(item.user)), now);
  return { outcome: 'inserted', userId: item.user.id };
}

export function importBatch(db: Db, sql: Statements, items: ImportItem[], audit: AuditEntry, dryRun: boolean): ImportItemResult[] {
  const now = new Date();
  const run = (tx: Db) =>
    items.map((item): ImportItemResult => {
      try {
        return tx.transaction((savepoint) => processItem(savepoint, sql, item, audit, now));
      } catch (err) {
        if (err instanceof ItemFailure) return { outcome: 'failed', problem: err.problem };
        const key = violatedUserKey(err);
        if (key === 'id') return { outcome: 'failed', problem: { kind: 'idTakenElsewhere', userId: item.user.id } };
        if (key) return { outcome: 'failed', problem: { kind: 'taken', keys: [key] } };
        if (violatedUniqueColumns(err)) return { outcome: 'failed', problem: { kind: 'taken', keys: [] } };
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
