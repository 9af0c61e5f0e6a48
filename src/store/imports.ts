// An import batch's bookkeeping, the same for every dialect: which stored users a record matches,
// and whether they are still the users (at the states) the app decided the record against.
import { normalizeEmail, normalizeUsername } from '../domain/keys.js';
import type { ImportItem, ImportKeys, ImportMatch, UserChanges } from './types.js';
import { unchangedSince } from './states.js';

/** A user holding a key of a batch, with its lookup columns (as its indexes hold them). */
export interface ImportHolder extends ImportMatch {
  emailLower: string | null;
  usernameLower: string | null;
}

/**
 * Finds, for a record, the holders of its connection with its id, email or username (each once,
 * in the holders' order): indexed by key, so a batch's records are matched in linear time.
 */
export function matcher(holders: readonly ImportHolder[]): (record: ImportKeys) => ImportHolder[] {
  const byKey = new Map<string, number[]>();
  const add = (key: string, at: number) => byKey.set(key, [...(byKey.get(key) ?? []), at]);
  holders.forEach((h, at) => {
    add(`id:${h.user.connectionId}:${h.user.id}`, at);
    if (h.emailLower !== null) add(`email:${h.user.connectionId}:${h.emailLower}`, at);
    if (h.usernameLower !== null) add(`username:${h.user.connectionId}:${h.usernameLower}`, at);
  });
  return (record) => {
    const keys = [`id:${record.connectionId}:${record.id}`];
    if (record.email) keys.push(`email:${record.connectionId}:${normalizeEmail(record.email)}`);
    if (record.username) keys.push(`username:${record.connectionId}:${normalizeUsername(record.username)}`);
    const found = new Set<number>();
    for (const k of keys) for (const at of byKey.get(k) ?? []) found.add(at);
    return [...found].sort((a, b) => a - b).map((at) => holders[at] as ImportHolder);
  };
}

/** The keys a record claims: its id, and its email and username within its connection. */
export function keysOf(record: ImportKeys): string[] {
  const keys = [`id:${record.id}`];
  if (record.email) keys.push(`email:${record.connectionId}:${normalizeEmail(record.email)}`);
  if (record.username) keys.push(`username:${record.connectionId}:${normalizeUsername(record.username)}`);
  return keys;
}

/** Holders by id, first seen first: the batch's lookups may find one user by several keys. */
export function distinctHolders(rows: Iterable<ImportHolder>): ImportHolder[] {
  const byId = new Map<string, ImportHolder>();
  for (const row of rows) if (!byId.has(row.user.id)) byId.set(row.user.id, row);
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
   * The users the record matches, when it may be applied as decided: the users it matches in the
   * transaction are exactly those it was decided against, each unchanged since, and
   * nothing earlier in the batch moved them or its keys. Null: it is stale.
   */
  holds(item: ImportItem): ImportHolder[] | null {
    const found = this.matchesOf(item.user);
    if (found.length !== item.seen.length) return null;
    for (const match of found) {
      const seen = item.seen.find((s) => s.id === match.user.id);
      if (!seen || !unchangedSince(match.user, seen) || this.users.has(match.user.id)) return null;
    }
    return keysOf(item.user).some((k) => this.keys.has(k)) ? null : found;
  }

  inserted(record: ImportKeys): void {
    this.users.add(record.id);
    for (const k of keysOf(record)) this.keys.add(k);
  }

  updated(user: { id: string; connectionId: string }, changes: UserChanges): void {
    this.users.add(user.id);
    for (const k of keysOf({ ...user, email: changes.email, username: changes.username })) this.keys.add(k);
  }
}
