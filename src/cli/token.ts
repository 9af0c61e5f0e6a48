// `npm run token -- --sub SUB --scope "SCOPES" [--org ORG_ID] [--ttl SECONDS]`: prints an HS256
// token signed with AUTH_JWT_SECRET, or with the dev secret `npm start` keeps in the data folder.
import { parseArgs } from 'node:util';
import { readDevSecret, signToken } from '../auth/tokens.js';
import { ConfigError, loadConfig } from '../config.js';

const USAGE = `Usage: npm run token -- --sub SUB [--scope "read:users update:users"] [--org ORG_ID] [--ttl SECONDS]
  --sub    the caller: a user id (self-service, help desk) or any name for a machine client
  --scope  space-separated scopes (tenant administrator, login server)
  --org    the org_id claim: narrows a help desk's powers to that organization
  --ttl    lifetime in seconds (default 3600)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      scope: { type: 'string', default: '' },
      org: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.sub) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const config = loadConfig();
  const secret = config.auth.jwtSecret ?? readDevSecret(config.dataDir);
  if (!secret) {
    throw new ConfigError(
      'No signing secret: set AUTH_JWT_SECRET, or run `npm start` once so it creates the dev secret in the data folder.',
    );
  }
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1) throw new ConfigError('--ttl must be a whole number of seconds.');
  console.log(
    await signToken(secret, {
      sub: values.sub,
      scope: values.scope,
      orgId: values.org ?? null,
      ttlSeconds: ttl,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
