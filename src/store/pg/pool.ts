// The pools' settings (DATABASE_POOL_SIZE, DATABASE_POOL_TIMEOUT_MS) and the error a caller gets
// when no connection comes free in time: a clear one, instead of a wait with no end.
import type pg from 'pg';

export interface PoolSettings {
  /** Connections in the pool (DATABASE_POOL_SIZE, default 10). */
  size: number;
  /** How long a statement waits for a free connection (or a new one to open) before it fails (DATABASE_POOL_TIMEOUT_MS). */
  timeoutMs: number;
}

export const DEFAULT_POOL: PoolSettings = { size: 10, timeoutMs: 5000 };

/** node-postgres's options for a pool of these settings. */
export function poolConfig(connectionString: string, settings: PoolSettings): pg.PoolConfig {
  return { connectionString, max: settings.size, connectionTimeoutMillis: settings.timeoutMs, idleTimeoutMillis: 10_000 };
}

/** The error a statement fails with when the pool gave it no connection in time. */
export class PoolTimeoutError extends Error {
  // No `cause`: this is the error to report (node-postgres's own says only "timeout exceeded").
  constructor(name: string, settings: PoolSettings) {
    super(
      `No ${name} database connection within ${settings.timeoutMs} ms (DATABASE_POOL_TIMEOUT_MS): all ${settings.size} of the pool (DATABASE_POOL_SIZE) were busy, or the server did not accept a new one in time.`,
    );
    this.name = 'PoolTimeoutError';
  }
}

type Done = (release?: unknown) => void;
type Callback = (err: Error | undefined, client: pg.PoolClient | undefined, done: Done) => void;

/** Makes the pool's connect() (which its query() uses too) fail with a PoolTimeoutError on a timeout. */
export function withClearTimeouts<P extends pg.Pool>(pool: P, name: string, settings: PoolSettings): P {
  const connect = pool.connect.bind(pool) as (cb?: Callback) => Promise<pg.PoolClient> | undefined;
  const clear = (err: unknown): unknown =>
    err instanceof Error && /timeout exceeded when trying to connect/i.test(err.message) ? new PoolTimeoutError(name, settings) : err;
  (pool as { connect: unknown }).connect = (cb?: Callback) => {
    if (cb) return connect((err, client, done) => cb(err ? (clear(err) as Error) : err, client, done));
    return (connect() as Promise<pg.PoolClient>).catch((err: unknown) => {
      throw clear(err);
    });
  };
  return pool;
}
