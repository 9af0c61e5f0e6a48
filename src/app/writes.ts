// A write to a user is a value: the app decides it (from the domain's rules) against a row it has
// read, and the store applies it in one transaction only if the row is still that row
// (compare-and-set on version and logins count). When a concurrent write got there first, the store
// answers with the row as it is now; the app decides again on that row and tries again, a bounded
// number of times. The store never calls back into the app. Writes to one user in one process
// take turns, so only another instance can win a race.
import type { UserError } from '../domain/types.js';
import { versionConflict } from '../domain/validation.js';
import type { AuditEntry, Store, UpdateResult, UserDecision, UserRow } from '../store/types.js';

/** Decisions made for one write before it gives up: enough for hundreds of concurrent writers of one user. */
export const WRITE_ATTEMPTS = 40;

export interface WriteOptions extends NonNullable<Parameters<Store['users']['apply']>[4]> {
  /** The caller's expectedVersion: the write is decided only against that version. */
  expectedVersion?: number | null;
}

/**
 * Decides and applies one write to user `id`, starting from `read` (the row the caller has, or
 * null to read it): `decide` is called again, on the row the store returns, after each lost race.
 */
export async function writeUser(
  store: Store,
  id: string,
  read: UserRow | null,
  decide: (current: UserRow) => UserDecision | { errors: UserError[] },
  audit: AuditEntry,
  opts: WriteOptions,
): Promise<UpdateResult> {
  // One write per user at a time in this process: a race is then lost only to another instance,
  // and a few decisions suffice even when hundreds of requests write one user at once.
  return oneAtATime(store, id, async () => {
    const { expectedVersion, ...applyOptions } = opts;
    let current = read ?? (await store.users.byIds([id]))[0] ?? null;
    for (let attempt = 1; ; attempt++) {
      if (!current) return { ok: false, notFound: true };
      if (expectedVersion != null && expectedVersion !== current.version) {
        return { ok: false, versionConflict: { expected: expectedVersion, actual: current.version } };
      }
      const decision = decide(current);
      if ('errors' in decision) return { ok: false, errors: decision.errors };
      const result = await store.users.apply(id, current, decision, audit, applyOptions);
      if (result.ok || !('stale' in result)) return result;
      if (attempt >= WRITE_ATTEMPTS) {
        const busy: UserError = {
          ...versionConflict(current.version, result.current.version),
          message: 'The profile was being changed by many other requests at the same moment; reload it and try again.',
        };
        return { ok: false, errors: [busy] };
      }
      current = result.current;
      // The first retry at once (on SQLite it cannot lose again); then a random pause whose range
      // doubles up to a second (exponential backoff with full jitter), so many writers of one user
      // spread out instead of colliding again.
      if (attempt > 1) await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 4 * 2 ** attempt)));
    }
  });
}

const queues = new WeakMap<Store, Map<string, Promise<unknown>>>();

/** Runs `fn` after every earlier `fn` for the same user of the same store in this process has settled. */
async function oneAtATime<T>(store: Store, id: string, fn: () => Promise<T>): Promise<T> {
  let byUser = queues.get(store);
  if (!byUser) queues.set(store, (byUser = new Map()));
  const before = byUser.get(id);
  const run = (before ?? Promise.resolve()).then(fn, fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  byUser.set(id, settled);
  try {
    return await run;
  } finally {
    if (byUser.get(id) === settled) byUser.delete(id);
  }
}
