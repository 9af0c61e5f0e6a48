// Bulk import: a batch of records is one transaction (so a crash loses at most the batch in
// flight), and each record its own savepoint (so a bad record never stops the others). The app has
// decided every record against the users it read (importMatches); the batch's one read of the
// same users, inside its transaction, says which decisions still hold: the others are stale.
import { normalizeEmail, normalizeUsername } from '../../domain/keys.js';
import type { AuditEntry, ImportItem, ImportItemResult, ImportKeys } from '../types.js';
import { type RawUser, type Statements, USER_COLUMNS, userFromRaw } from './raw.js';
import { BatchWrites, distinctHolders, type ImportHolder } from '../imports.js';
import { StaleRow } from '../states.js';
import { applyUserChanges, type Db, recordAudit, violatedUniqueColumns, violatedUserKey } from './shared.js';
import { recordEvents } from './events.js';

/**
 * The users holding any id, email or username of the records within its connection: three
 * indexed lookups per connection (an OR of them would scan), however many records.
 */
export function importHolders(sql: Statements, records: readonly ImportKeys[]): ImportHolder[] {
  const rows: ImportHolder[] = [];
  const byConnection = new Map<string, ImportKeys[]>();
  for (const r of records) byConnection.set(r.connectionId, [...(byConnection.get(r.connectionId) ?? []), r]);
  for (const [connectionId, group] of byConnection) {
    const values = (pick: (r: ImportKeys) => string | null) => JSON.stringify(group.map(pick).filter((v): v is string => v !== null));
    const found = sql.get(HOLDERS).all({
      connection: connectionId,
      ids: values((r) => r.id),
      emails: values((r) => (r.email ? normalizeEmail(r.email) : null)),
      usernames: values((r) => (r.username ? normalizeUsername(r.username) : null)),
    }) as (RawUser & { email_lower: string | null; username_lower: string | null; password_hash: string | null })[];
    for (const row of found) rows.push({ user: userFromRaw(row), emailLower: row.email_lower, usernameLower: row.username_lower, passwordHash: row.password_hash });
  }
  return distinctHolders(rows);
}

const HOLDER_COLUMNS = `${USER_COLUMNS}, email_lower, username_lower, password_hash`;
const HOLDERS = `SELECT ${HOLDER_COLUMNS} FROM users WHERE connection_id = @connection AND id IN (SELECT value FROM json_each(@ids))
  UNION ALL SELECT ${HOLDER_COLUMNS} FROM users WHERE connection_id = @connection AND email_lower IN (SELECT value FROM json_each(@emails))
  UNION ALL SELECT ${HOLDER_COLUMNS} FROM users WHERE connection_id = @connection AND username_lower IN (SELECT value FROM json_each(@usernames))`;

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

/** One record whose decision holds against `found` (the users it matches), in its savepoint. */
function applyItem(tx: Db, sql: Statements, item: ImportItem, found: ImportHolder[], writes: BatchWrites, audit: AuditEntry, now: Date): ImportItemResult {
  const { decision } = item;
  const current = found[0]?.user;
  switch (decision.kind) {
    case 'failed':
      return { outcome: 'failed', problem: decision.problem };
    case 'unchanged':
      if (!current) throw new Error('an unchanged import record matches no user');
      return { outcome: 'unchanged', userId: current.id };
    case 'insert':
      insert(sql, item.user, audit, now.getTime());
      if (decision.events && decision.events.length > 0) recordEvents(tx, decision.events, now);
      writes.inserted(item.user);
      return { outcome: 'inserted', userId: item.user.id };
    case 'update': {
      if (!current) throw new Error('an import update matches no user');
      const { changed } = applyUserChanges(tx, current, decision.changes, now);
      if (changed.length === 0) return { outcome: 'unchanged', userId: current.id };
      recordAudit(tx, { ...audit, targetUserId: current.id, fields: changed }, now);
      if (decision.events && decision.events.length > 0) recordEvents(tx, decision.events, now);
      writes.updated(current, decision.changes);
      return { outcome: 'updated', userId: current.id };
    }
  }
}

export function importBatch(db: Db, sql: Statements, items: ImportItem[], audit: AuditEntry, dryRun: boolean): ImportItemResult[] {
  const now = new Date();
  const run = (tx: Db) => {
    const holders = importHolders(sql, items.map((i) => i.user));
    const writes = new BatchWrites(holders);
    return items.map((item): ImportItemResult => {
      const found = writes.holds(item);
      if (!found) return { outcome: 'stale' };
      try {
        return tx.transaction((savepoint) => applyItem(savepoint, sql, item, found, writes, audit, now));
      } catch (err) {
        if (err instanceof StaleRow) return { outcome: 'stale' };
        const key = violatedUserKey(err);
        if (key === 'id') return { outcome: 'failed', problem: { kind: 'idTakenElsewhere', userId: item.user.id } };
        if (key) return { outcome: 'failed', problem: { kind: 'taken', keys: [key] } };
        if (violatedUniqueColumns(err)) return { outcome: 'failed', problem: { kind: 'taken', keys: [] } };
        throw err;
      }
    });
  };
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
