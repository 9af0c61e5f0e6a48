// Rate limits per caller, counted in cost units (src/guard/cost.ts) per minute, with a budget per
// kind of caller. rate-limiter-flexible keeps the counters: in the process, or in Redis so that
// every instance draws on one budget. When Redis fails the request is let through (fail open):
// an outage of the counters must not become an outage of the gateway.
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Caller } from '../domain/access.js';
import type { CallerKind } from './config.js';

export const WINDOW_SECONDS = 60;

/**
 * The most permissive kind the token makes its caller (as roles combine elsewhere). Scopes are
 * granted to administrators' and services' tokens only, so any scope makes a tenant administrator
 * here (login:users alone, the login server).
 */
export function callerKind(caller: Caller | null): CallerKind {
  if (!caller) return 'END_USER';
  if (caller.scopes.has('login:users')) return 'LOGIN_SERVER';
  if (caller.scopes.size > 0) return 'TENANT_ADMIN';
  if (caller.adminOrganizationIds.size > 0) return 'HELP_DESK';
  return 'END_USER';
}

/** The token's `sub`, else the client's address. */
export const callerKey = (caller: Caller | null, ip: string): string => (caller ? `sub:${caller.sub}` : `ip:${ip}`);

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window starts again. */
  resetSeconds: number;
}

export class RateLimits {
  private readonly limiters: Record<CallerKind, RateLimiterAbstract>;

  constructor(
    private readonly budgets: Record<CallerKind, number>,
    redis: Redis | null,
    prefix: string,
    private readonly log: (message: string) => void,
  ) {
    const make = (kind: CallerKind): RateLimiterAbstract => {
      const opts = { points: budgets[kind], duration: WINDOW_SECONDS, keyPrefix: `${prefix}rate:${kind}` };
      return redis
        ? new RateLimiterRedis({ ...opts, storeClient: redis, rejectIfRedisNotReady: true })
        : new RateLimiterMemory(opts);
    };
    this.limiters = {
      END_USER: make('END_USER'),
      HELP_DESK: make('HELP_DESK'),
      TENANT_ADMIN: make('TENANT_ADMIN'),
      LOGIN_SERVER: make('LOGIN_SERVER'),
    };
  }

  /** Draws `points` from the caller's budget; null when the counters are unavailable (let through). */
  async consume(kind: CallerKind, key: string, points: number): Promise<RateDecision | null> {
    const limit = this.budgets[kind];
    const decide = (res: RateLimiterRes, allowed: boolean): RateDecision => ({
      allowed,
      limit,
      remaining: Math.max(0, res.remainingPoints),
      resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    });
    try {
      return decide(await this.limiters[kind].consume(key, Math.max(1, Math.ceil(points))), true);
    } catch (err) {
      if (err instanceof RateLimiterRes) return decide(err, false);
      this.failedOpen(err);
      return null;
    }
  }

  private lastLogged = 0;
  private failedOpen(err: unknown) {
    if (Date.now() - this.lastLogged < 30_000) return;
    this.lastLogged = Date.now();
    this.log(`rate limits not checked (counters unavailable: ${err instanceof Error ? err.message : String(err)}); requests are let through`);
  }
}
