// The environment of a benchmarked gateway process: production, the bench's secret and files,
// nothing inherited from the caller's shell that would change what is measured (nor PSEUDONYM_SECRET:
// on SQLite the bench seals its cursors with the key file the gateway makes beside its database; on
// PostgreSQL it passes its own PSEUDONYM_SECRET, since the key the store would make lives in a table).
import { join } from 'node:path';

/** `database`: a SQLite file's path, or a postgres://… URL (then `pseudonymSecret` is the gateway's PSEUDONYM_SECRET). */
export function gatewayEnv(dir: string, database: string, secret: string, pseudonymSecret?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(AUTH_|SMTP_|MAIL_|PLAYGROUND|SEED_|CUSTOM_DB_|OUTBOX_|LEGACY_|DATABASE_|REDIS_|IMPORT_KEYS|EVENTS_|WEBHOOK|NATS_|OTEL_|PORT$|PSEUDONYM_SECRET$)/.test(key)) delete env[key];
  }
  return {
    ...env,
    NODE_ENV: 'production',
    DATABASE_URL: database.startsWith('postgres://') ? database : `file:${database}`,
    ...(pseudonymSecret ? { PSEUDONYM_SECRET: pseudonymSecret } : {}),
    SEED_DEMO: '0',
    PORT: '0',
    AUTH_JWT_SECRET: secret,
    OUTBOX_FILE: join(dir, 'outbox.log'),
    LEGACY_DB_PATH: join(dir, 'legacy.db'),
    // One token at full speed would spend any real budget in a second: the scenarios measure the
    // pipeline (the limiter still counts every request); bench/soak.ts measures the refusals.
    RATE_LIMIT_PER_MINUTE: '1000000000',
  };
}
