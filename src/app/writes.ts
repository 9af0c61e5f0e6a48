// A write to a user is a value: the app decides it (from the domain's rules) against a row it has
// read, and the store applies it in one transaction only if the row is still that row
// (compare-and-set on version and logins count). When a concurrent write got there first, the store
// answers with the row as it is now; the app decides again on that row and tries again, a bounded
// number of times. The store never calls back into the app. Writes to one user in one process
// take turns, so only another instance can win a race.
import type { UserError } from '../domain/types.js';
import { changedFields, rowAfter } from '../store/changes.js';
import type { AuditEntry, Store, UpdateResult, UserDecision, UserRow } from '../store/types.js';
import type { UserEvents } from './events.js';

/** Decisions made for one write before it gives up: enough for hundreds of concurrent writers of one user. */
export const WRITE_ATTEMPTS = 40;

export interface WriteOptions extends NonNullable<Parameters<Store['users']['apply']>[4]> {
  /** The caller's expectedVersion: the write is decided only against that version. */
  expectedVersion?: number | null;
  /** The write's change events, made with each decision (from the row decided on) and recorded with it. */
  events?: UserEvents;
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
    const { expectedVersion, events, ...applyOptions } = opts;
    const reread = async () => (await store.users.byIds([id]))[0] ?? null;
    let current = read ?? (await reread());
    // The caller's row may be older than the version the client names: judged on the row as it is.
    if (read && expectedVersion != null && expectedVersion !== read.version) current = await reread();
    for (let attempt = 1; ; attempt++) {
      if (!current) return { ok: false, notFound: true };
      if (expectedVersion != null && expectedVersion !== current.version) {
        return { ok: false, versionConflict: { expected: expectedVersion, actual: current.version } };
      }
      const decided = decide(current);
      if ('errors' in decided) return { ok: false, errors: decided.errors };
      const decision = events ? withEvents(id, current, decided, events) : decided;
      const result = await store.users.apply(id, current, decision, audit, applyOptions);
      if (result.ok && result.changed.length > 0 && (decision.events?.length ?? 0) > 0) events?.notify();
      if (result.ok || !('stale' in result)) return result;
      if (attempt >= WRITE_ATTEMPTS) return { ok: false, errors: [concurrentWrites()] };
      current = result.current;
      await backoff(attempt);
    }
  });
}

/**
 * A decision with its change events: what it does to `current` (the row it was decided on, and the
 * only row the store applies it to) says which events it makes.
 */
function withEvents(id: string, current: UserRow, decision: UserDecision, events: UserEvents): UserDecision {
  const changed = changedFields(current, { ...decision.changes, ...decision.bookkeeping });
  if (changed.length === 0) return decision;
  const after = rowAfter(current, decision, new Date());
  return { ...decision, events: [...(decision.events ?? []), ...events.of({ userId: id, before: current, after, changed })] };
}

/**
 * The pause before decision `attempt + 1`: none before the first retry (on SQLite it cannot lose
 * again), then a random one whose range doubles up to a second (exponential backoff with full
 * jitter), so many writers of one user spread out instead of colliding again.
 */
export async function backoff(attempt: number): Promise<void> {
  if (attempt > 1) await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 4 * 2 ** attempt)));
}

/** Nothing was written: other requests wrote the user in the meantime, again and again, or too many wait to. */
export function concurrentWrites(): UserError {
  return {
    field: null,
    code: 'CONCURRENT_WRITES',
    message: 'Other requests are changing this user at the same moment, so nothing was changed; reload it and try again.',
  };
}

/** Writes to one user waiting in this process at most; one more is refused (CONCURRENT_WRITES), not queued. */
export const MAX_WAITING_WRITES = 1000;

const queues = new WeakMap<Store, Map<string, { tail: Promise<unknown>; waiting: number }>>();

/** Runs `fn` after every earlier `fn` for the same user of the same store in this process has settled. */
async function oneAtATime(store: Store, id: string, fn: () => Promise<UpdateResult>): Promise<UpdateResult> {
  let byUser = queues.get(store);
  if (!byUser) queues.set(store, (byUser = new Map()));
  const queue = byUser.get(id) ?? { tail: Promise.resolve(), waiting: 0 };
  if (queue.waiting >= MAX_WAITING_WRITES) return { ok: false, errors: [concurrentWrites()] };
  const run = queue.tail.then(fn, fn);
  queue.tail = run.then(
    () => undefined,
    () => undefined,
  );
  queue.waiting += 1;
  byUser.set(id, queue);
  try {
    return await run;
  } finally {
    queue.waiting -= 1;
    if (queue.waiting === 0 && byUser.get(id) === queue) byUser.delete(id);
  }
}
