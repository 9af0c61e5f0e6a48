// The environment of a benchmarked gateway process: production, the bench's secret and files,
// nothing inherited from the caller's shell that would change what is measured (nor PSEUDONYM_SECRET:
// the bench seals its cursors with the key file the gateway makes beside its database).
import { join } from 'node:path';

export function gatewayEnv(dir: string, dbPath: string, secret: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(AUTH_|SMTP_|MAIL_|PLAYGROUND|SEED_|CUSTOM_DB_|OUTBOX_|LEGACY_|DATABASE_URL|PORT$|PSEUDONYM_SECRET$)/.test(key)) delete env[key];
  }
  return {
    ...env,
    NODE_ENV: 'production',
    DATABASE_URL: `file:${dbPath}`,
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
