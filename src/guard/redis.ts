// The Redis connection counters share across instances (REDIS_URL). Commands fail at once while
// it is down (no offline queue), so callers can fail open instead of waiting.
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Redis } from 'ioredis';

// Loaded when REDIS_URL is set, not at start: ioredis is about 11 MB of a gateway that has no Redis.
const require = createRequire(import.meta.url);

export function connectRedis(url: string, log: (message: string) => void): Redis {
  const { Redis: RedisClient } = require('ioredis') as typeof IORedis;
  const redis = new RedisClient(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 250, 2000),
  });
  let lastLogged = 0;
  // ioredis emits every failed reconnection: one line per 30 s is enough (never the URL's password).
  redis.on('error', (err: Error) => {
    if (Date.now() - lastLogged < 30_000) return;
    lastLogged = Date.now();
    log(`Redis unavailable (${err.message}); rate limits and login blocks fail open until it is back.`);
  });
  return redis;
}

/** Connects, or gives up after a moment: the gateway serves (failing open) while Redis is away. */
export async function tryConnect(redis: Redis): Promise<boolean> {
  try {
    await redis.connect();
    return true;
  } catch {
    return false;
  }
}
