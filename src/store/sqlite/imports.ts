// Bulk import: a batch of records is one transaction (so a crash loses at most the batch in
// flight), and each record its own savepoint (so a bad record never stops the others). The app has
// decided every record against the users it read (importMatches); the batch's one read of the
// same users, inside its transaction, says which decisions still hold: the others are stale.
import type { AuditEntry, ImportItem, ImportItemResult, ImportKeys } from '../types.js';
import { type RawUser, type Statements, USER_COLUMNS, userFromRaw } from './raw.js';
import { BatchWrites, distinctHolders, type HolderRaw, type ImportHolder, type ImportHolderRow, keysOfRaw, normalizedKeys } from '../imports.js';
import { StaleRow } from '../states.js';
import { applyUserChanges, type Db, insertAudit, recordAudit, violatedUniqueColumns, violatedUserKey } from './shared.js';
import { recordEvents } from './events.js';


/** What the holders' lookups find: `columns` for each holder, three indexed lookups per connection (an OR of them would scan). */
function lookUp<R extends HolderRaw>(sql: Statements, records: readonly ImportKeys[], statement: string): R[] {
  const rows: R[] = [];
  const byConnection = new Map<string, ImportKeys[]>();
  for (const r of records) byConnection.set(r.connectionId, [...(byConnection.get(r.connectionId) ?? []), r]);
  for (const [connectionId, group] of byConnection) {
    const values = (pick: (r: ImportKeys) => string | null) => JSON.stringify(group.map(pick).filter((v): v is string => v !== null));
    rows.push(
      ...(sql.get(statement).all({
        connection: connectionId,
        ids: values((r) => r.id),
        emails: values((r) => normalizedKeys(r).email),
        usernames: values((r) => normalizedKeys(r).username),
      }) as R[]),
    );
  }
  return rows;
}


/** The users holding any id, email or username of the records within its connection, as the app decides on them: whole rows. */
export function importHolderRows(sql: Statements, records: readonly ImportKeys[]): ImportHolderRow[] {
  const rows = lookUp<RawUser & HolderRaw & { password_hash: string | null }>(sql, records, HOLDER_ROWS);
  return distinctHolders(rows.map((r) => ({ ...keysOfRaw(r), user: userFromRaw(r), passwordHash: r.password_hash })));
}

/** The same users as the batch's transaction checks them: keys and stamps only. */
function importHolders(sql: Statements, records: readonly ImportKeys[]): ImportHolder[] {
  return distinctHolders(lookUp<HolderRaw>(sql, records, HOLDER_STAMPS).map(keysOfRaw));
}

// Each lookup driven by the record's values (CROSS JOIN fixes the loop order: SQLite would
// otherwise take the id lookup by the connection's index and scan all its users).
const holdersOf = (columns: string) => {
  const cols = columns.split(', ').map((c) => `u.${c}`).join(', ');
  return `SELECT ${cols} FROM json_each(@ids) AS k CROSS JOIN users AS u ON u.id = k.value AND u.connection_id = @connection
  UNION ALL SELECT ${cols} FROM json_each(@emails) AS k CROSS JOIN users AS u ON u.connection_id = @connection AND u.email_lower = k.value
  UNION ALL SELECT ${cols} FROM json_each(@usernames) AS k CROSS JOIN users AS u ON u.connection_id = @connection AND u.username_lower = k.value`;
};
const HOLDER_ROWS = holdersOf(`${USER_COLUMNS}, email_lower, username_lower, password_hash`);
const HOLDER_STAMPS = holdersOf('id, connection_id, email_lower, username_lower, version, logins_count');

const INSERT_USER = `INSERT INTO users (id, connection_id, email, email_lower, email_verified, username, username_lower, phone_number,
  phone_verified, name, nickname, given_name, family_name, picture, user_metadata, app_metadata, blocked, migrated, password_hash,
  version, created_at, updated_at, logins_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0)`;
const INSERT_IDENTITY =
  'INSERT INTO identities (user_id, connection_id, provider, upstream_user_id, is_social, profile_data) VALUES (?, ?, ?, ?, ?, ?)';

function insert(sql: Statements, user: ImportItem['user'], audit: AuditEntry, now: number): void {
  const bool = (b: boolean | undefined) => (b ? 1 : 0);
  sql.get(INSERT_USER).run(
    user.id,
    user.connectionId,
    user.email ?? null,
    normalizedKeys(user).email,
    bool(user.emailVerified),
    user.username ?? null,
    normalizedKeys(user).username,
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
  insertAudit(sql, { ...audit, targetUserId: user.id, fields: ['user'] }, now);
}

/** One record whose decision holds, in its savepoint when it writes. */
function applyItem(tx: Db, sql: Statements, item: ImportItem, writes: BatchWrites, audit: AuditEntry, now: Date): ImportItemResult {
  const { decision } = item;
  // Unchanged since the decision (BatchWrites.holds): the row it was decided on.
  const current = item.seen[0];
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
    const writes = new BatchWrites(importHolders(sql, items.map((i) => i.user)));
    return items.map((item): ImportItemResult => {
      if (!writes.holds(item)) return { outcome: 'stale' };
      // Nothing to write: no savepoint either (a re-run of an import is mostly these).
      if (item.decision.kind === 'failed' || item.decision.kind === 'unchanged') return applyItem(tx, sql, item, writes, audit, now);
      try {
        return tx.transaction((savepoint) => applyItem(savepoint, sql, item, writes, audit, now));
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
