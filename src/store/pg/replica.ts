// Reads on a replica (#15, DATABASE_READ_URL) with read-your-writes. The store's pool is a
// RoutingPool: a transaction (connect()) is always the primary's, and so is every statement outside
// a request's read scope (../read-scope.ts) and every statement that is not a plain SELECT. A plain
// SELECT of a request goes to the replica unless
//   - the request writes (or is a mutation: `fresh`), or runs the caller check (`onPrimary`), or
//   - its caller wrote in the last few seconds (on any instance) and the replica has not yet
//     replayed the primary's WAL up to that write: after each write the primary's
//     pg_current_wal_lsn() is kept per caller (in Redis when REDIS_URL is set, else in this process)
//     for POSITION_TTL_MS, and the request's first read compares it with the replica's
//     pg_last_wal_replay_lsn(), once per request.
// A replica that fails a read (down, or cancelled by a conflict) is not an error: the read runs on
// the primary.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { currentReadScope, type ReadScope } from '../read-scope.js';
import { poolConfig, type PoolSettings, withClearTimeouts } from './pool.js';

/** How long a caller's last write position is kept: longer than any replica lag worth reading. */
export const POSITION_TTL_MS = 5_000;

/** Where callers' last write positions are kept (per caller key, with a TTL). */
interface Positions {
  get(key: string): Promise<string | null>;
  set(key: string, lsn: string): Promise<void>;
  /** Resolves when positions can be kept (Redis connected, or after 2 s without it). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** "16/B374D848" as a number, to keep the later of two positions. */
function lsnValue(lsn: string): bigint {
  const [hi = '0', lo = '0'] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

function memoryPositions(): Positions {
  const kept = new Map<string, { lsn: string; until: number }>();
  return {
    async get(key) {
      const entry = kept.get(key);
      if (!entry) return null;
      if (entry.until <= Date.now()) {
        kept.delete(key);
        return null;
      }
      return entry.lsn;
    },
    async set(key, lsn) {
      const now = Date.now();
      const old = kept.get(key);
      const keep = old && old.until > now && lsnValue(old.lsn) > lsnValue(lsn) ? old.lsn : lsn;
      kept.set(key, { lsn: keep, until: now + POSITION_TTL_MS });
      // Bounded by the callers who wrote in the last few seconds: expired entries go as they pass.
      if (kept.size > 10_000) for (const [k, v] of kept) if (v.until <= now) kept.delete(k);
    },
    async ready() {},
    async close() {
      kept.clear();
    },
  };
}

function redisPositions(url: string, prefix: string): Positions {
  // Connecting from the store's start; a command while Redis is away fails at once (no offline
  // queue) or within half a second, so a request never waits on it.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 500, retryStrategy: (n) => Math.min(n * 250, 2000) });
  // A Redis that is away makes every reader of a recent writer read the primary (get throws).
  redis.on('error', () => undefined);
  const name = (key: string) => `${prefix}read-position:${key}`;
  return {
    async get(key) {
      return redis.get(name(key));
    },
    async set(key, lsn) {
      await redis.set(name(key), lsn, 'PX', POSITION_TTL_MS);
    },
    async ready() {
      if (redis.status === 'ready') return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** The text of a pool.query call's first argument (a string or a query config). */
function textOf(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && typeof (arg as { text?: unknown }).text === 'string') return (arg as { text: string }).text;
  return '';
}

/** A plain read: a SELECT that locks nothing (drizzle's reads, and the store's own SELECTs). */
function isPlainRead(text: string): boolean {
  return /^\s*select\b/i.test(text) && !/\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b/i.test(text) && !/pg_advisory|nextval|set_config/i.test(text);
}

export interface ReplicaRouting {
  /** The store's pool: the primary, whose plain reads in a request may go to the replica. */
  pool: pg.Pool;
  replica: pg.Pool;
  /** After a write has committed: the request reads the primary from now on, its caller's position is kept. */
  wrote(): Promise<void>;
  /** Resolves once callers' positions can be kept (Redis connected, or given up waiting). */
  ready(): Promise<void>;
  /** Runs `fn` with every read on the primary (the caller check). */
  onPrimary<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function openReplicaRouting(opts: {
  primaryUrl: string;
  replicaUrl: string;
  pool: PoolSettings;
  redisUrl?: string | null;
  redisPrefix?: string;
}): ReplicaRouting {
  const positions = opts.redisUrl ? redisPositions(opts.redisUrl, opts.redisPrefix ?? 'profile-gateway:') : memoryPositions();
  const replica = withClearTimeouts(new pg.Pool(poolConfig(opts.replicaUrl, opts.pool)), 'replica', opts.pool);
  replica.on('error', () => undefined);
  const primaryOnly = new AsyncLocalStorage<true>();

  async function replicaHasReached(lsn: string): Promise<boolean> {
    try {
      const r = await replica.query<{ ok: boolean | null }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]);
      return r.rows[0]?.ok === true;
    } catch {
      return false;
    }
  }

  /** Whether this read may go to the replica. */
  function useReplica(scope: ReadScope | undefined): Promise<boolean> | false {
    if (!scope || scope.fresh || primaryOnly.getStore()) return false;
    scope.decision ??= (async () => {
      if (!scope.key) return true;
      let lsn: string | null;
      try {
        lsn = await positions.get(scope.key);
      } catch {
        return false;
      }
      return lsn === null ? true : replicaHasReached(lsn);
    })();
    return scope.decision;
  }

  class RoutingPool extends pg.Pool {
    // node-postgres' query has many overloads; the store calls it with (text | config, values?).
    override query(...args: unknown[]): never {
      const call = (target: pg.Pool) => (pg.Pool.prototype.query as (...a: unknown[]) => unknown).apply(target, args);
      const text = textOf(args[0]);
      if (typeof args[args.length - 1] === 'function') return call(this) as never;
      const read = isPlainRead(text);
      const decision = read ? useReplica(currentReadScope()) : false;
      const run = async (): Promise<unknown> => {
        if (decision && (await decision)) {
          try {
            return await call(replica);
          } catch (err) {
            // A replica's failure (down; a query cancelled by replay) is retried on the primary.
            if (!isServerSideUserError(err)) return call(this);
            throw err;
          }
        }
        const result = await call(this);
        if (!read) await wrote();
        return result;
      };
      return run() as never;
    }
  }
  const pool = withClearTimeouts(new RoutingPool(poolConfig(opts.primaryUrl, opts.pool)), 'primary', opts.pool);

  async function wrote(): Promise<void> {
    const scope = currentReadScope();
    if (!scope) return;
    scope.fresh = true;
    if (!scope.key) return;
    try {
      const query = pg.Pool.prototype.query as (...a: unknown[]) => Promise<pg.QueryResult<{ lsn: string }>>;
      const r = await query.apply(pool, ['SELECT pg_current_wal_lsn()::text AS lsn']);
      const lsn = r.rows[0]?.lsn;
      if (lsn) await positions.set(scope.key, lsn);
    } catch {
      // Not kept (Redis away): this caller's next request may read a copy a few ms old.
    }
  }

  return {
    pool,
    replica,
    wrote,
    ready: () => positions.ready(),
    // Awaited inside the run: a drizzle query starts when awaited, and must start in the scope.
    onPrimary: (fn) => primaryOnly.run(true, async () => await fn()),
    async close() {
      await positions.close();
      await replica.end();
    },
  };
}

/** An error the statement itself caused (bad input, a constraint): the primary would say the same. */
function isServerSideUserError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  // Class 22 (data exception) and 23 (integrity) and 42 (syntax/access): not the replica's fault.
  return typeof code === 'string' && /^(22|23|42)/.test(code);
}
