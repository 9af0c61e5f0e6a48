// Brute-force protection of authenticate (Auth0's: after N consecutive failed logins of one
// identifier from one IP, that IP is refused for that identifier). rate-limiter-flexible counts the
// consecutive failures per (connection, identifier, IP) and holds the block; a small index per
// (connection, identifier) lists the blocked addresses for loginBlocks and removeLoginBlocks. Both
// live in Redis when it is set (every instance sees one count), else in the process. A Redis
// failure lets the attempt through (fail open), as the rate limits do.
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { LoginAttempts, LoginBlock } from '../app/logins.js';

/** How long consecutive failures are remembered without a success (the memory store's timers cap it below 24.8 days). */
const FAILURE_MEMORY_SECONDS = 7 * 24 * 3600;

const norm = (identifier: string) => identifier.trim().toLowerCase();

interface BlockIndex {
  add(scope: string, ip: string, untilMs: number): Promise<void>;
  list(scope: string): Promise<Map<string, number>>;
  clear(scope: string): Promise<void>;
}

function memoryIndex(): BlockIndex {
  const blocks = new Map<string, Map<string, number>>();
  return {
    async add(scope, ip, untilMs) {
      const ips = blocks.get(scope) ?? new Map<string, number>();
      ips.set(ip, untilMs);
      blocks.set(scope, ips);
    },
    async list(scope) {
      const ips = blocks.get(scope) ?? new Map<string, number>();
      for (const [ip, until] of ips) if (until <= Date.now()) ips.delete(ip);
      if (ips.size === 0) blocks.delete(scope);
      return new Map(ips);
    },
    async clear(scope) {
      blocks.delete(scope);
    },
  };
}

function redisIndex(redis: Redis, prefix: string): BlockIndex {
  const key = (scope: string) => `${prefix}login-blocks:${scope}`;
  return {
    async add(scope, ip, untilMs) {
      await redis
        .multi()
        .hset(key(scope), ip, String(untilMs))
        // Every block lasts as long, so the newest ends last.
        .pexpireat(key(scope), untilMs)
        .exec();
    },
    async list(scope) {
      const all = await redis.hgetall(key(scope));
      const now = Date.now();
      return new Map(Object.entries(all).map(([ip, until]) => [ip, Number(until)] as [string, number]).filter(([, until]) => until > now));
    },
    async clear(scope) {
      await redis.del(key(scope));
    },
  };
}

export class LoginAttemptGuard implements LoginAttempts {
  private readonly failures: RateLimiterAbstract;
  private readonly index: BlockIndex;

  constructor(
    redis: Redis | null,
    prefix: string,
    private readonly settings: { maxFailures: number; blockSeconds: number },
    private readonly log: (message: string) => void,
  ) {
    const opts = { points: settings.maxFailures, duration: FAILURE_MEMORY_SECONDS, keyPrefix: `${prefix}login-failures` };
    this.failures = redis
      ? new RateLimiterRedis({ ...opts, storeClient: redis, rejectIfRedisNotReady: true })
      : new RateLimiterMemory(opts);
    this.index = redis ? redisIndex(redis, prefix) : memoryIndex();
  }

  private scope = (connectionId: string, identifier: string) => `${connectionId}:${encodeURIComponent(norm(identifier))}`;
  private key = (connectionId: string, identifier: string, ip: string) => `${this.scope(connectionId, identifier)}:${ip}`;

  async blockedUntil(connectionId: string, identifier: string, ip: string): Promise<Date | null> {
    try {
      const res = await this.failures.get(this.key(connectionId, identifier, ip));
      if (!res || res.consumedPoints < this.settings.maxFailures) return null;
      return new Date(Date.now() + res.msBeforeNext);
    } catch (err) {
      this.failOpen(err);
      return null;
    }
  }

  async recordFailure(connectionId: string, identifier: string, ip: string): Promise<LoginBlock | null> {
    const key = this.key(connectionId, identifier, ip);
    try {
      const res = await this.failures.penalty(key, 1);
      if (res.consumedPoints < this.settings.maxFailures) return null;
      // The Nth consecutive failure: hold the count at N for the block's time, then forget it.
      await this.failures.block(key, this.settings.blockSeconds);
      const until = new Date(Date.now() + this.settings.blockSeconds * 1000);
      await this.index.add(this.scope(connectionId, identifier), ip, until.getTime());
      return { ip, until };
    } catch (err) {
      this.failOpen(err);
      return null;
    }
  }

  async recordSuccess(connectionId: string, identifier: string, ip: string): Promise<void> {
    try {
      await this.failures.delete(this.key(connectionId, identifier, ip));
    } catch (err) {
      this.failOpen(err);
    }
  }

  async list(connectionId: string, identifier: string): Promise<LoginBlock[]> {
    const ips = await this.index.list(this.scope(connectionId, identifier));
    return [...ips].map(([ip, until]) => ({ ip, until: new Date(until) })).sort((a, b) => a.ip.localeCompare(b.ip));
  }

  async remove(connectionId: string, identifier: string): Promise<number> {
    const scope = this.scope(connectionId, identifier);
    const ips = await this.index.list(scope);
    for (const ip of ips.keys()) await this.failures.delete(this.key(connectionId, identifier, ip));
    await this.index.clear(scope);
    return ips.size;
  }

  private lastLogged = 0;
  private failOpen(err: unknown) {
    if (Date.now() - this.lastLogged < 30_000) return;
    this.lastLogged = Date.now();
    this.log(`login attempts not counted (counters unavailable: ${err instanceof Error ? err.message : String(err)}); logins are let through`);
  }
}
