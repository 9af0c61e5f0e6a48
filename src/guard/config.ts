// The guard's settings, from the environment (names fixed by shared/api-contract.md where it names
// them). Defaults are chosen so every documented operation runs (test/e2e/guard-limits.test.ts).

export interface OperationLimits {
  /** Nesting of selection sets (graphql-armor's count: `{ a { b } }` is 2). */
  depth: number;
  aliases: number;
  /** Lexical tokens of the document; enforced by the parser, so a huge document stops early. */
  tokens: number;
  directives: number;
  /** See src/guard/cost.ts: object fields, weighted by `first` and by assumed list sizes. */
  cost: number;
}

export type CallerKind = 'END_USER' | 'HELP_DESK' | 'TENANT_ADMIN' | 'LOGIN_SERVER';

export interface GuardConfig {
  limits: OperationLimits;
  /** Per-request execution deadline, in milliseconds. */
  executionMs: number;
  /** The largest answer a query may produce, in bytes (UTF-8 JSON). */
  responseBytes: number;
  /** Cost units per caller per minute, by kind of caller. */
  ratePerMinute: Record<CallerKind, number>;
  /** Brute-force protection of authenticate. */
  login: { maxFailures: number; blockSeconds: number };
  /** The trusted-documents manifest's path, or null (any document may be sent). */
  trustedDocuments: string | null;
  /** Field suggestions ("Did you mean …?") in error messages: only with the playground. */
  suggestions: boolean;
  /** Redis for counters shared by instances; null keeps them in the process. */
  redisUrl: string | null;
  /** Prefix of every Redis key (tests give each run its own). */
  redisPrefix: string;
}

// Depth 7, one more than graphql-armor's 6: a Relay connection spends two levels (edges, node), so
// `organization { members { edges { node { user { connection { name } } } } } }` (a help desk's
// page of members) is 7; the attack of issue #12 nests 8 and more.
export const DEFAULT_LIMITS: OperationLimits = {
  depth: 7,
  aliases: 15,
  tokens: 1000,
  directives: 50,
  cost: 5000,
};

export const DEFAULT_RATE_PER_MINUTE: Record<CallerKind, number> = {
  END_USER: 6_000,
  HELP_DESK: 60_000,
  TENANT_ADMIN: 300_000,
  LOGIN_SERVER: 1_200_000,
};

export class GuardConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new GuardConfigError(`${name} must be a whole number from ${min} to ${max}.`);
  }
  return n;
}

const RATE_VARS: Record<CallerKind, string> = {
  END_USER: 'RATE_LIMIT_END_USER_PER_MINUTE',
  HELP_DESK: 'RATE_LIMIT_HELP_DESK_PER_MINUTE',
  TENANT_ADMIN: 'RATE_LIMIT_TENANT_ADMIN_PER_MINUTE',
  LOGIN_SERVER: 'RATE_LIMIT_LOGIN_SERVER_PER_MINUTE',
};

export function loadGuardConfig(env: NodeJS.ProcessEnv, playground: boolean): GuardConfig {
  const BIG = 1_000_000_000;
  const all = env.RATE_LIMIT_PER_MINUTE ? int(env, 'RATE_LIMIT_PER_MINUTE', 0, 1, BIG) : null;
  const ratePerMinute = Object.fromEntries(
    (Object.keys(RATE_VARS) as CallerKind[]).map((kind) => [
      kind,
      int(env, RATE_VARS[kind], all ?? DEFAULT_RATE_PER_MINUTE[kind], 1, BIG),
    ]),
  ) as Record<CallerKind, number>;
  return {
    limits: {
      depth: int(env, 'LIMIT_DEPTH', DEFAULT_LIMITS.depth, 1, 1000),
      aliases: int(env, 'LIMIT_ALIASES', DEFAULT_LIMITS.aliases, 0, 100_000),
      tokens: int(env, 'LIMIT_TOKENS', DEFAULT_LIMITS.tokens, 10, 1_000_000),
      directives: int(env, 'LIMIT_DIRECTIVES', DEFAULT_LIMITS.directives, 0, 100_000),
      cost: int(env, 'LIMIT_COST', DEFAULT_LIMITS.cost, 1, BIG),
    },
    executionMs: int(env, 'LIMIT_EXECUTION_MS', 10_000, 1, 600_000),
    responseBytes: int(env, 'LIMIT_RESPONSE_BYTES', 5 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    ratePerMinute,
    login: {
      maxFailures: int(env, 'LOGIN_MAX_FAILURES', 10, 1, 1000),
      blockSeconds: int(env, 'LOGIN_BLOCK_SECONDS', 3600, 1, 7 * 24 * 3600),
    },
    trustedDocuments: env.TRUSTED_DOCUMENTS || null,
    suggestions: playground,
    redisUrl: env.REDIS_URL || null,
    redisPrefix: env.REDIS_KEY_PREFIX || 'profile-gateway:',
  };
}
