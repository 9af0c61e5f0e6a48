// The keyed hashes that stand for an erased user, the same for every dialect.
import { createHmac } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * The keyed hash that stands for an erased user id (deleted_users, audit pseudonyms): an HMAC with
 * the server's pseudonym secret, so knowing an id does not reveal its pseudonym, nor the reverse.
 */
export type IdHasher = (id: string) => string;

/** Hashes kept: every request's caller check hashes its token's sub, a handful of callers make most requests. */
const REMEMBERED_HASHES = 10_000;

export function idHasher(secret: string): IdHasher {
  // A pure function of the secret and the id: remembering answers changes nothing but the cost.
  const known = new LRUCache<string, string>({ max: REMEMBERED_HASHES });
  return (id) => {
    let hash = known.get(id);
    if (hash === undefined) {
      hash = createHmac('sha256', secret).update(`deleted-user:${id}`).digest('hex');
      known.set(id, hash);
    }
    return hash;
  };
}

/** What stands in the audit log for an erased user. */
export const pseudonymOf = (hash: IdHasher, id: string) => `deleted-user:${hash(id).slice(0, 32)}`;

/**
 * The key webhook secrets are kept under when WEBHOOK_SECRET_KEY is unset, on a store shared by
 * several instances (PostgreSQL): derived from the secret they all read, so each decrypts what
 * another encrypted (SQLite keeps a key file beside the database instead).
 */
export function secretBoxKeyOf(secret: string): Buffer {
  return createHmac('sha256', secret).update('webhook-secret-key:v1').digest();
}

/** The key of page cursors: an HMAC of a label with the server secret (never the secret itself). */
export function cursorKeyOf(secret: string): Buffer {
  return createHmac('sha256', secret).update('page-cursor-key:v1').digest();
}
