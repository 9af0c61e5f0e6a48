// `npm start`: migrate, seed the demo tenant when the database is new, serve, shut down gracefully.
import { constants } from 'node:os';
import { ALL_SCOPES, signToken } from '../auth/tokens.js';
import { ConfigError, loadConfig } from '../config.js';
import { scrub } from '../observability/logger.js';
import { startRuntime } from '../runtime.js';
import { DIALECT_LABELS } from '../store/index.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const runtime = await startRuntime(config);
  const log = runtime.obs.log;
  const url = `http://localhost:${runtime.port}/graphql`;
  log.info({ event: 'listening', url }, `Profile gateway listening on ${url} (${DIALECT_LABELS[runtime.store.dialect]}: ${runtime.store.location})`);
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

  // Log lines are written asynchronously: wait (briefly) for the ones under way before exiting.
  const exit = (code: number): void => {
    const done = () => process.exit(code);
    setTimeout(done, 500).unref();
    log.flush(done);
  };

  // The first signal drains (SHUTDOWN_TIMEOUT_MS), the second exits at once; either way it ends.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ event: 'forced_exit', signal }, `${signal} again: exiting now.`);
      // 128 + the signal's number, as a shell reports a process killed by it (143 for SIGTERM).
      exit(128 + (constants.signals[signal as NodeJS.Signals] ?? 2));
      return;
    }
    stopping = true;
    const deadline = config.observability.shutdownTimeoutMs;
    log.info({ event: 'signal', signal, deadlineMs: deadline }, `${signal}: finishing in-flight requests (up to ${deadline} ms), then closing the database.`);
    // Every close step is bounded; this is the last resort should one still hang.
    const force = setTimeout(() => {
      log.error({ event: 'forced_exit' }, 'shutdown did not end in time: exiting.');
      exit(1);
    }, deadline + 10_000);
    force.unref();
    try {
      const { drained } = await runtime.close(deadline);
      exit(drained ? 0 : 1);
    } catch (err) {
      runtime.obs.error('shutdown failed', err);
      exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Before the logger exists (a configuration error), or a start-up failure: one scrubbed line.
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : `Start-up failed: ${err instanceof Error ? scrub(err.message) : 'unknown error'}`);
  process.exit(1);
});
