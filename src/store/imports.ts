// An import batch's bookkeeping, the same for every dialect: which stored users a record matches,
// and whether they are still the users (at the states) the app decided the record against.
import { normalizeEmail, normalizeUsername } from '../domain/keys.js';
import type { ImportItem, ImportKeys, UserChanges, UserRow } from './types.js';
import { unchangedSince } from './states.js';

/**
 * A user holding a key of a batch, as the batch's transaction reads it: its keys in the form its
 * indexes hold them, and its stamp (no profile: a record is applied to the row it was decided on,
 * once the stamp says that row is unchanged).
 */
export interface ImportHolder extends Pick<UserRow, 'id' | 'connectionId' | 'version' | 'loginsCount'> {
  emailLower: string | null;
  usernameLower: string | null;
}

/** A holder's key columns as both dialects' statements return them (snake_case). */
export type HolderRaw = { id: string; connection_id: string; email_lower: string | null; username_lower: string | null; version: number; logins_count: number };

export const keysOfRaw = (r: HolderRaw): ImportHolder => ({
  id: r.id,
  connectionId: r.connection_id,
  emailLower: r.email_lower,
  usernameLower: r.username_lower,
  version: r.version,
  loginsCount: r.logins_count,
});

/** A matching user as the store read it, with its stored hash (compared in the store, never returned). */
export type ImportHolderRow = ImportHolder & { user: UserRow; passwordHash: string | null };

const normalized = new WeakMap<ImportKeys, { email: string | null; username: string | null }>();

/**
 * A record's email and username in the form the indexes hold them: worked out once per record
 * (the app's read, the batch's read and its checks all ask), kept as long as the record is.
 */
export function normalizedKeys(record: ImportKeys): { email: string | null; username: string | null } {
  let keys = normalized.get(record);
  if (!keys) {
    keys = { email: record.email ? normalizeEmail(record.email) : null, username: record.username ? normalizeUsername(record.username) : null };
    normalized.set(record, keys);
  }
  return keys;
}

/**
 * Finds, for a record, the holders of its connection with its id, email or username (each once,
 * in the holders' order): indexed by key, so a batch's records are matched in linear time.
 */
export function matcher<H extends ImportHolder>(holders: readonly H[]): (record: ImportKeys) => H[] {
  const byKey = new Map<string, number[]>();
  const add = (key: string, at: number) => byKey.set(key, [...(byKey.get(key) ?? []), at]);
  holders.forEach((h, at) => {
    add(`id:${h.connectionId}:${h.id}`, at);
    if (h.emailLower !== null) add(`email:${h.connectionId}:${h.emailLower}`, at);
    if (h.usernameLower !== null) add(`username:${h.connectionId}:${h.usernameLower}`, at);
  });
  return (record) => {
    const { email, username } = normalizedKeys(record);
    const keys = [`id:${record.connectionId}:${record.id}`];
    if (email !== null) keys.push(`email:${record.connectionId}:${email}`);
    if (username !== null) keys.push(`username:${record.connectionId}:${username}`);
    const found = new Set<number>();
    for (const k of keys) for (const at of byKey.get(k) ?? []) found.add(at);
    return [...found].sort((a, b) => a - b).map((at) => holders[at] as H);
  };
}

/** The keys a record claims: its id, and its email and username within its connection. */
export function keysOf(record: ImportKeys): string[] {
  const { email, username } = normalizedKeys(record);
  const keys = [`id:${record.id}`];
  if (email !== null) keys.push(`email:${record.connectionId}:${email}`);
  if (username !== null) keys.push(`username:${record.connectionId}:${username}`);
  return keys;
}

/** Holders by id, first seen first: the batch's lookups may find one user by several keys. */
export function distinctHolders<H extends ImportHolder>(rows: Iterable<H>): H[] {
  const byId = new Map<string, H>();
  for (const row of rows) if (!byId.has(row.id)) byId.set(row.id, row);
  return [...byId.values()];
}

/**
 * What a batch's transaction has written so far, so that a record is judged against the users as
 * they are at its turn, not as the batch's one read found them: a record whose matches include a
 * user the batch wrote, or whose keys the batch gave to a user, is stale.
 */
export class BatchWrites {
  private readonly users = new Set<string>();
  private readonly keys = new Set<string>();
  private readonly matchesOf: (record: ImportKeys) => ImportHolder[];

  /** `holders`: the batch's read of the users holding its records' keys, in its transaction. */
  constructor(holders: readonly ImportHolder[]) {
    this.matchesOf = matcher(holders);
  }

  /**
   * Whether the record may be applied as decided: the users it matches in the transaction are
   * exactly those it was decided against, each unchanged since, and nothing earlier in the batch
   * moved them or its keys. False: it is stale.
   */
  holds(item: ImportItem): boolean {
    const found = this.matchesOf(item.user);
    if (found.length !== item.seen.length) return false;
    for (const match of found) {
      const seen = item.seen.find((s) => s.id === match.id);
      if (!seen || !unchangedSince(match, seen) || this.users.has(match.id)) return false;
    }
    return !keysOf(item.user).some((k) => this.keys.has(k));
  }

  inserted(record: ImportKeys): void {
    this.users.add(record.id);
    for (const k of keysOf(record)) this.keys.add(k);
  }

  updated(user: { id: string; connectionId: string }, changes: UserChanges): void {
    this.users.add(user.id);
    for (const k of keysOf({ id: user.id, connectionId: user.connectionId, email: changes.email, username: changes.username })) this.keys.add(k);
  }
}
