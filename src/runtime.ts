// Assembles a running gateway from a Config: store (migrated), token verifier, scripts, HTTP server.
// The start command and the end-to-end tests both use it, so tests run what users run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTokenVerifier, loadOrCreateDevSecret } from './auth/tokens.js';
import { type Config, ConfigError } from './config.js';
import { ScriptRegistry } from './connectors/custom-db.js';
import { OutboxSender } from './outbox/sender.js';
import { createTransport } from './outbox/transports.js';
import { seedDemo } from './seed/demo.js';
import { createGateway, type Gateway } from './server.js';
import { type OpenStoreOptions, openStore } from './store/index.js';
import type { Store } from './store/types.js';

export interface Runtime {
  gateway: Gateway;
  store: Store;
  port: number;
  /** The HS256 secret tokens are signed with, when the gateway has one (configured or dev). */
  signingSecret: string | null;
  /** Whether this start loaded the demo tenant. */
  seeded: boolean;
  /** The outbox's sender (tests drain it rather than wait for its timer). */
  outbox: OutboxSender;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  log?: (line: string) => void;
  onStatement?: OpenStoreOptions['onStatement'];
  host?: string;
  /** How often the outbox is polled (default 1 s). */
  outboxIntervalMs?: number;
}

export async function startRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const log = opts.log ?? (() => {});
  let jwtSecret = config.auth.jwtSecret;
  if (!jwtSecret && !config.auth.jwksUrl) {
    if (config.production) {
      throw new ConfigError('In production set AUTH_JWT_SECRET or AUTH_JWKS_URL: tokens must be verifiable.');
    }
    jwtSecret = loadOrCreateDevSecret(config.dataDir);
  }
  if (config.production && !config.mail.smtpUrl && !config.mail.fileChosen) {
    // The file transport keeps addresses and tickets on disk: not a silent default in production.
    throw new ConfigError('In production set SMTP_URL for the outbox (or OUTBOX_FILE to keep its messages in a file on purpose).');
  }
  // The demo's legacy database lives beside the gateway's own file unless told otherwise.
  process.env.LEGACY_DB_PATH ??= join(config.dataDir, 'legacy.db');

  const isNew = config.databasePath === ':memory:' || !existsSync(config.databasePath);
  const store = openStore(config, { onStatement: opts.onStatement });
  const scripts = new ScriptRegistry(config.customDbScriptsDir, config.customDbScriptTimeoutMs);
  try {
    const seeded = config.seedDemo === true || (config.seedDemo === 'if-new' && isNew);
    if (seeded) await seedDemo({ store, scripts, legacyDbPath: process.env.LEGACY_DB_PATH, log });

    const verifier = createTokenVerifier({ ...config.auth, jwtSecret });
    const gateway = await createGateway({
      store,
      verifier,
      scripts,
      tickets: config.tickets,
      playground: config.playground,
      corsOrigins: config.corsOrigins,
      // The message and the error's own text only: no request, no token.
      logError: (message, err) =>
        console.error(`${message}:`, err instanceof Error ? err.message : String(err)),
    });
    // Tickets and invitations for users and the help desk leave through the outbox.
    const sender = new OutboxSender(store.outbox, createTransport({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, file: config.mail.file }), {
      log,
      ...(opts.outboxIntervalMs ? { intervalMs: opts.outboxIntervalMs } : {}),
    });
    sender.start();
    const port = await gateway.listen(config.port, opts.host);
    return {
      gateway,
      store,
      port,
      signingSecret: jwtSecret,
      seeded,
      outbox: sender,
      async close() {
        await gateway.close();
        await sender.stop();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
