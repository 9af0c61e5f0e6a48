// `npm start`: migrate, seed the demo tenant when the database is new, serve, shut down gracefully.
import { ALL_SCOPES, signToken } from '../auth/tokens.js';
import { ConfigError, loadConfig } from '../config.js';
import { startRuntime } from '../runtime.js';
import { DIALECT_LABELS } from '../store/index.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const runtime = await startRuntime(config, { log: (line) => console.log(line) });
  const url = `http://localhost:${runtime.port}/graphql`;
  console.log(`Profile gateway listening on ${url} (${DIALECT_LABELS[runtime.store.dialect]}: ${config.databasePath})`);
  // A token is printed only when it is signed with the dev secret this start made for itself: one
  // signed with a configured secret would be an all-scope credential left in a log.
  const devSecret = config.auth.jwtSecret ? null : runtime.signingSecret;
  if (devSecret && !config.production) {
    const token = await signToken(devSecret, {
      sub: 'admin@tenant',
      scope: ALL_SCOPES,
      ttlSeconds: 12 * 3600,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
    });
    console.log('\nA tenant-administrator token (12 hours; `npm run token -- --help` makes others):');
    console.log(token);
  } else if (config.auth.jwtSecret) {
    console.log(
      `\nTokens are signed with AUTH_JWT_SECRET, so none is printed here. Make a tenant administrator's where that variable is set:\n  npm run token -- --sub admin@tenant --scope "${ALL_SCOPES}" --ttl 3600`,
    );
  } else if (config.auth.jwksUrl) {
    console.log('\nTokens come from the identity provider whose keys are at AUTH_JWKS_URL; none is printed here.');
  }
  if (!config.production) {
    console.log(
      `\nTry:\n  curl -s ${url} -H 'content-type: application/json' -H "authorization: Bearer <token>" \\\n    -d '{"query":"{ users(first: 5) { totalCount edges { node { id email connection { name kind } organizations { organization { name } roles } } } } }"}'`,
    );
    if (config.playground) console.log(`\nPlayground: open ${url} in a browser.`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing in-flight requests, then closing the database.`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
});
