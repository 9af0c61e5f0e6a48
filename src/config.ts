// Configuration from the environment (names fixed by shared/api-contract.md). Read once, at start.
import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GuardConfig, GuardConfigError, loadGuardConfig } from './guard/config.js';
import { CorsOriginError, parseCorsOrigins } from './http/cors.js';

export interface Config {
  port: number;
  /** The SQLite file (DATABASE_URL=file:PATH); unused when `databaseUrl` is set. */
  databasePath: string;
  /** DATABASE_URL=postgres://…: the PostgreSQL server (null: SQLite). Only src/store reads it. */
  databaseUrl: string | null;
  /** DATABASE_READ_URL=postgres://…: a streaming replica of it for reads (null: none). Only src/store reads it. */
  databaseReadUrl: string | null;
  /** Where the dev secret and other local state live: the database file's folder. */
  dataDir: string;
  seedDemo: boolean | 'if-new';
  production: boolean;
  auth: {
    jwtSecret: string | null;
    jwksUrl: string | null;
    issuer: string | null;
    audience: string | null;
  };
  customDbScriptsDir: string;
  customDbScriptTimeoutMs: number;
  /** The playground and introspection: on by default outside production. */
  playground: boolean;
  tickets: TicketSettings;
  /** `fileChosen`: OUTBOX_FILE was set on purpose (production needs SMTP_URL or that). */
  mail: { smtpUrl: string | null; from: string; file: string; fileChosen: boolean };
  observability: ObservabilityConfig;
  /** Operation limits, budget, rate limits, brute-force protection, trusted documents (src/guard). */
  guard: GuardConfig;
  /** CORS_ORIGINS: exact origins whose pages may call /graphql from a browser; none by default. */
  corsOrigins: string[];
  /** PSEUDONYM_SECRET: the key of erased users' pseudonyms (null: a key file beside the database). */
  pseudonymSecret: string | null;
  /** IMPORT_KEYS_IN_MEMORY: how many keys an import holds in memory before the database (PostgreSQL). */
  importKeysInMemory: number;
  /** DATABASE_POOL_SIZE, DATABASE_POOL_TIMEOUT_MS: each PostgreSQL pool's connections and how long a statement waits for one. */
  databasePool: { size: number; timeoutMs: number };
  /** DATABASE_MIGRATION_LOCK_WAIT_MS: how long a PostgreSQL start waits for another instance's migration before it fails. */
  databaseMigrationLockWaitMs: number;
  /** Change events: webhooks, their delivery, retention, NATS. */
  events: EventsConfig;
}

export interface EventsConfig {
  /** WEBHOOK_ALLOW_PRIVATE=1: webhooks may point at loopback and private addresses (tests, closed networks). */
  allowPrivate: boolean;
  /** WEBHOOK_SECRET_KEY: the AES-256-GCM key of webhook secrets (null: a key file beside the database). */
  secretKey: string | null;
  /** EVENT_RETENTION_DAYS: events older than this are deleted (default 30). */
  retentionDays: number;
  /** NATS_URL: also publish to JetStream. */
  natsUrl: string | null;
  /** EVENT_SOURCE: the CloudEvents `source` (default /profile-gateway). */
  source: string;
  /** EVENTS_POLL_MS: how often the delivery worker looks for new events (default 100). */
  pollMs: number;
  /** WEBHOOK_RETRY_BASE_MS, WEBHOOK_RETRY_MAX_MS: the first retry delay and its cap (defaults 5 s, 1 h). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** WEBHOOK_GIVE_UP_AFTER_SECONDS: how long an event is retried before it is marked failed (default 3 days). */
  giveUpAfterMs: number;
  /** WEBHOOK_TIMEOUT_MS: bound on one delivery (default 10 s). */
  timeoutMs: number;
}

function eventsConfig(env: NodeJS.ProcessEnv): EventsConfig {
  const natsUrl = env.NATS_URL?.trim() || null;
  if (natsUrl && !/^nats:\/\/[^/\s]+$/.test(natsUrl)) throw new ConfigError('NATS_URL must be nats://HOST:PORT.');
  const retentionDays = int('EVENT_RETENTION_DAYS', env.EVENT_RETENTION_DAYS, 30, 1, 3650);
  const giveUpAfterMs = int('WEBHOOK_GIVE_UP_AFTER_SECONDS', env.WEBHOOK_GIVE_UP_AFTER_SECONDS, 3 * 86_400, 0, 30 * 86_400) * 1000;
  // An event must be given up (and so listed in the webhook's failures) before retention deletes it.
  if (giveUpAfterMs >= retentionDays * 86_400_000) {
    throw new ConfigError('WEBHOOK_GIVE_UP_AFTER_SECONDS must be shorter than EVENT_RETENTION_DAYS, or undelivered events would be deleted unseen.');
  }
  return {
    allowPrivate: flag(env.WEBHOOK_ALLOW_PRIVATE) ?? false,
    secretKey: env.WEBHOOK_SECRET_KEY || null,
    retentionDays,
    natsUrl,
    source: env.EVENT_SOURCE || '/profile-gateway',
    pollMs: int('EVENTS_POLL_MS', env.EVENTS_POLL_MS, 100, 5, 60_000),
    retryBaseMs: int('WEBHOOK_RETRY_BASE_MS', env.WEBHOOK_RETRY_BASE_MS, 5000, 1, 3_600_000),
    retryMaxMs: int('WEBHOOK_RETRY_MAX_MS', env.WEBHOOK_RETRY_MAX_MS, 3_600_000, 1, 86_400_000),
    giveUpAfterMs,
    timeoutMs: int('WEBHOOK_TIMEOUT_MS', env.WEBHOOK_TIMEOUT_MS, 10_000, 100, 60_000),
  };
}

export interface ObservabilityConfig {
  /** LOG_LEVEL: fatal, error, warn, info (default), debug, trace, silent. */
  logLevel: string;
  /** METRICS=1: `GET /metrics` on the main port. */
  metrics: boolean;
  /** METRICS_PORT: `/metrics`, `/healthz`, `/readyz` on their own port. */
  metricsPort: number | null;
  /** Where spans go by OTLP/HTTP: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  otlpEndpoint: string | null;
  /** SHUTDOWN_TIMEOUT_MS: how long in-flight requests get after SIGTERM. */
  shutdownTimeoutMs: number;
}

/** Default lifetimes of tickets, in seconds; a request may ask for a shorter or longer one up to `maxTtl`. */
export interface TicketSettings {
  passwordResetTtl: number;
  emailVerificationTtl: number;
  invitationTtl: number;
  maxTtl: number;
}

export const DEFAULT_TICKET_SETTINGS: TicketSettings = {
  passwordResetTtl: 24 * 3600,
  emailVerificationTtl: 5 * 24 * 3600,
  invitationTtl: 7 * 24 * 3600,
  maxTtl: 30 * 24 * 3600,
};

export class ConfigError extends Error {}

/**
 * The project root (where package.json, schema/ and drizzle/ are), whatever the cwd: the nearest
 * folder above this module with a package.json, so the same code finds it from src/ (tsx) and from
 * dist/src/ (the compiled `npm start`).
 */
export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return `${dir}${sep}`;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
export const MIGRATIONS_FOLDER = resolve(PROJECT_ROOT, 'drizzle');
export const MIGRATIONS_FOLDER_PG = resolve(PROJECT_ROOT, 'drizzle', 'pg');

/** DATABASE_URL when it names a PostgreSQL server, else null. */
export function postgresUrlFrom(url: string | undefined): string | null {
  const value = url?.trim() ?? '';
  return value.startsWith('postgres://') || value.startsWith('postgresql://') ? value : null;
}

export function databasePathFromUrl(url: string | undefined): string {
  if (postgresUrlFrom(url)) return resolve('data', 'gateway.db');
  const value = url?.trim() || 'file:./data/gateway.db';
  if (!value.startsWith('file:')) throw new ConfigError('DATABASE_URL must be file:PATH (SQLite) or postgres://USER@HOST:PORT/DB (PostgreSQL).');
  const path = value.slice('file:'.length);
  if (path === ':memory:') return path;
  if (!path) throw new ConfigError('DATABASE_URL: file: needs a path.');
  return resolve(path);
}

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return value === '1' || value.toLowerCase() === 'true';
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}.`);
  }
  return n;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function observabilityConfig(env: NodeJS.ProcessEnv): ObservabilityConfig {
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}.`);
  return {
    logLevel,
    metrics: flag(env.METRICS) ?? false,
    metricsPort: env.METRICS_PORT ? int('METRICS_PORT', env.METRICS_PORT, 0, 0, 65535) : null,
    // The OpenTelemetry convention: the traces endpoint as given, or the base endpoint + /v1/traces.
    otlpEndpoint:
      env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ||
      (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : null),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', env.SHUTDOWN_TIMEOUT_MS, 10_000, 0, 600_000),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const databasePath = databasePathFromUrl(env.DATABASE_URL);
  const databaseUrl = postgresUrlFrom(env.DATABASE_URL);
  const readUrl = env.DATABASE_READ_URL?.trim() || null;
  if (readUrl && !postgresUrlFrom(readUrl)) throw new ConfigError('DATABASE_READ_URL must be postgres://USER@HOST:PORT/DB (a replica of DATABASE_URL).');
  if (readUrl && !databaseUrl) throw new ConfigError('DATABASE_READ_URL needs DATABASE_URL=postgres://… (a replica of SQLite is not a thing).');
  const seed = flag(env.SEED_DEMO);
  const playground = flag(env.PLAYGROUND) ?? !production;
  let guard: GuardConfig;
  try {
    guard = loadGuardConfig(env, playground);
  } catch (err) {
    throw err instanceof GuardConfigError ? new ConfigError(err.message) : err;
  }
  return {
    port: int('PORT', env.PORT, 4000, 0, 65535),
    databasePath,
    databaseUrl,
    databaseReadUrl: readUrl,
    dataDir: databasePath === ':memory:' ? resolve('data') : resolve(databasePath, '..'),
    seedDemo: seed ?? (production ? false : 'if-new'),
    production,
    auth: {
      jwtSecret: env.AUTH_JWT_SECRET || null,
      jwksUrl: env.AUTH_JWKS_URL || null,
      issuer: env.AUTH_ISSUER || null,
      audience: env.AUTH_AUDIENCE || null,
    },
    customDbScriptsDir: resolve(env.CUSTOM_DB_SCRIPTS_DIR || './scripts'),
    customDbScriptTimeoutMs: int(
      'CUSTOM_DB_SCRIPT_TIMEOUT_MS',
      env.CUSTOM_DB_SCRIPT_TIMEOUT_MS,
      5000,
      1,
      10000,
    ),
    playground,
    tickets: {
      passwordResetTtl: int('PASSWORD_RESET_TTL_SECONDS', env.PASSWORD_RESET_TTL_SECONDS, DEFAULT_TICKET_SETTINGS.passwordResetTtl, 60, DEFAULT_TICKET_SETTINGS.maxTtl),
      emailVerificationTtl: int('EMAIL_VERIFICATION_TTL_SECONDS', env.EMAIL_VERIFICATION_TTL_SECONDS, DEFAULT_TICKET_SETTINGS.emailVerificationTtl, 60, DEFAULT_TICKET_SETTINGS.maxTtl),
      invitationTtl: int('INVITATION_TTL_SECONDS', env.INVITATION_TTL_SECONDS, DEFAULT_TICKET_SETTINGS.invitationTtl, 60, DEFAULT_TICKET_SETTINGS.maxTtl),
      maxTtl: DEFAULT_TICKET_SETTINGS.maxTtl,
    },
    mail: {
      smtpUrl: env.SMTP_URL || null,
      from: env.MAIL_FROM || 'Profile gateway <no-reply@profile-gateway.local>',
      file: resolve(env.OUTBOX_FILE || resolve(databasePath === ':memory:' ? resolve('data') : resolve(databasePath, '..'), 'outbox.log')),
      fileChosen: Boolean(env.OUTBOX_FILE),
    },
    observability: observabilityConfig(env),
    guard,
    corsOrigins: corsOrigins(env.CORS_ORIGINS),
    pseudonymSecret: env.PSEUDONYM_SECRET || null,
    importKeysInMemory: int('IMPORT_KEYS_IN_MEMORY', env.IMPORT_KEYS_IN_MEMORY, 200_000, 0, 10_000_000),
    databasePool: {
      size: int('DATABASE_POOL_SIZE', env.DATABASE_POOL_SIZE, 10, 1, 1000),
      timeoutMs: int('DATABASE_POOL_TIMEOUT_MS', env.DATABASE_POOL_TIMEOUT_MS, 5000, 1, 600_000),
    },
    databaseMigrationLockWaitMs: int('DATABASE_MIGRATION_LOCK_WAIT_MS', env.DATABASE_MIGRATION_LOCK_WAIT_MS, 600_000, 1, 86_400_000),
    events: eventsConfig(env),
  };
}

function corsOrigins(value: string | undefined): string[] {
  try {
    return parseCorsOrigins(value);
  } catch (err) {
    throw err instanceof CorsOriginError ? new ConfigError(err.message) : err;
  }
}
