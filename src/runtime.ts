// Assembles a running gateway from a Config: store (migrated), token verifier, scripts, HTTP server.
// The start command and the end-to-end tests both use it, so tests run what users run.
import { join } from 'node:path';
import { createTokenVerifier, loadOrCreateDevSecret } from './auth/tokens.js';
import { type Config, ConfigError } from './config.js';
import { ScriptRegistry } from './connectors/custom-db.js';
import { Observability } from './observability/index.js';
import { instrumentStore } from './observability/store.js';
import { startTracing } from './observability/tracing.js';
import { createGuard, type Guard, type Refusal } from './guard/index.js';
import type { RefusalReason } from './observability/metrics.js';
import { TrustedDocumentsError } from './guard/trusted-documents.js';
import { EventDispatcher, type EventSink } from './outbox/events.js';
import { NATS_CONSUMER } from './outbox/events.js';
import type { NatsPublisher } from './outbox/nats.js';
import { OutboxSender } from './outbox/sender.js';
import { loadSecretBoxKey, SecretBox } from './outbox/signing.js';
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
  /** The change events' delivery worker (webhooks, NATS). */
  events: EventDispatcher;
  /** Logs and metrics of this gateway. */
  obs: Observability;
  /** The management port (METRICS_PORT), when there is one. */
  managementPort: number | null;
  /** Something else to close at shutdown (a Redis or PostgreSQL client), after the HTTP server, bounded by the deadline. */
  onClose(name: string, close: () => Promise<unknown>): void;
  /**
   * Readiness 503, no new connections, in-flight requests get `deadlineMs` (SHUTDOWN_TIMEOUT_MS)
   * to finish; then every connection still open is dropped and the rest is closed, each step
   * bounded, so this always ends. `drained` is false when something had to be cut short.
   */
  close(deadlineMs?: number): Promise<{ drained: boolean }>;
}

export interface RuntimeOptions {
  log?: (line: string) => void;
  onStatement?: OpenStoreOptions['onStatement'];
  host?: string;
  /** How often the outbox is polled (default 1 s). */
  outboxIntervalMs?: number;
  /** Where the JSON log lines go: a file path (tests) instead of stdout. */
  logDestination?: string;
}

/** After the deadline, how long each remaining close step may still take. */
const CLOSE_STEP_GRACE_MS = 2000;

async function bounded(step: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([step.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const obs = new Observability({
    log: { level: config.observability.logLevel, ...(opts.logDestination ? { destination: opts.logDestination } : {}) },
  });
  const log = opts.log ?? ((line: string) => obs.log.info(line));
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

  const migrationStarted = performance.now();
  let store: Store;
  try {
    store = await openStore(config, { onStatement: opts.onStatement, onPool: (name, pool) => obs.metrics.registerDbPool(name, pool) });
  } catch (err) {
    obs.error('database migration failed', err, { event: 'migration_failed' });
    throw err;
  }
  obs.log.info({ event: 'migrated', dialect: store.dialect, applied: store.migrationsApplied, durationMs: Math.round(performance.now() - migrationStarted) }, 'database schema is at the latest migration');
  if (store.dialect === 'postgres' && !config.pseudonymSecret) {
    // Once per start, and never the key itself.
    obs.log.warn(
      { event: 'pseudonym_secret_in_database' },
      `PSEUDONYM_SECRET is not set: the key of erased users' pseudonyms and of cursors${config.events.secretKey ? '' : ' (and, without WEBHOOK_SECRET_KEY, of webhook secrets)'} is kept in the database's store_settings table, so a dump of the database holds the key beside the data it protects. Set PSEUDONYM_SECRET${config.events.secretKey ? '' : ' and WEBHOOK_SECRET_KEY'} on every instance to keep it out.`,
    );
  }
  const rawStore = store;
  store = instrumentStore(rawStore, obs.metrics);
  obs.metrics.setOutboxCounts(() => rawStore.outbox.counts());
  const scripts = new ScriptRegistry(config.customDbScriptsDir, config.customDbScriptTimeoutMs, (call) =>
    obs.scriptCall(call.connection, call.fn, call.outcome, call.seconds, call.err),
  );
  const tracing = await startTracing({ endpoint: config.observability.otlpEndpoint, serviceName: 'profile-gateway', instance: obs.instance });
  const closers: { name: string; close: () => Promise<unknown> }[] = [];
  try {
    const seeded = config.seedDemo === true || (config.seedDemo === 'if-new' && rawStore.fresh);
    if (seeded) await seedDemo({ store, scripts, legacyDbPath: process.env.LEGACY_DB_PATH, log });

    const verifier = createTokenVerifier({ ...config.auth, jwtSecret });
    // Unset on PostgreSQL: the store's key, the same on every instance (no file beside a database there).
    const box = new SecretBox(
      config.events.secretKey || !rawStore.secretBoxKey
        ? loadSecretBoxKey(config.events.secretKey, config.dataDir, config.databasePath === ':memory:')
        : rawStore.secretBoxKey,
    );
    const extraSinks = new Map<string, EventSink>();
    let nats: NatsPublisher | null = null;
    if (config.events.natsUrl) {
      // The NATS client is loaded only when NATS_URL is set.
      const { openNatsPublisher } = await import('./outbox/nats.js');
      nats = await openNatsPublisher(config.events.natsUrl, { retentionDays: config.events.retentionDays });
      closers.push({ name: 'NATS publisher', close: () => (nats as NatsPublisher).close() });
      await store.deliveries.ensure(NATS_CONSUMER);
      extraSinks.set(NATS_CONSUMER, nats.sink);
    }
    const dispatcher = new EventDispatcher({
      store,
      box,
      owner: obs.instance,
      allowPrivate: config.events.allowPrivate,
      source: config.events.source,
      pollMs: config.events.pollMs,
      backoffBaseMs: config.events.retryBaseMs,
      maxBackoffMs: config.events.retryMaxMs,
      giveUpAfterMs: config.events.giveUpAfterMs,
      timeoutMs: config.events.timeoutMs,
      retentionDays: config.events.retentionDays,
      extraSinks,
      log: (level, fields, message) => obs.log[level](fields, message),
      onDelivered: (consumer, event) => obs.metrics.eventDelivery(consumer === NATS_CONSUMER ? 'nats' : 'webhook', 'delivered', (Date.now() - event.time.getTime()) / 1000),
      onFailed: (consumer, givenUp) => obs.metrics.eventDelivery(consumer === NATS_CONSUMER ? 'nats' : 'webhook', givenUp ? 'given_up' : 'failed'),
    });
    let guard: Guard;
    try {
      guard = createGuard(config.guard, { log: (line) => console.error(line) });
    } catch (err) {
      throw err instanceof TrustedDocumentsError ? new ConfigError(err.message) : err;
    }
    // Every refusal the guard makes is counted and logged (gateway_operations_refused_total).
    guard.events.on('refused', (refusal: Refusal) => obs.refused(refusalReason(refusal), { limit: refusal.limit ?? (refusal.code === 'RATE_LIMITED' || refusal.code.startsWith('TRUSTED') ? undefined : refusal.code) }));
    if (config.guard.redisUrl) await guard.ready();
    const gateway = await createGateway({
      store,
      verifier,
      scripts,
      tickets: config.tickets,
      playground: config.playground,
      guard,
      corsOrigins: config.corsOrigins,
      // The message and the error's own (scrubbed) text only: no request, no token.
      logError: (message, err) => obs.error(message, err),
      obs,
      metricsOnMainPort: config.observability.metrics,
      events: { box, allowPrivate: config.events.allowPrivate, source: config.events.source, notify: () => dispatcher.kick() },
    });
    // Tickets and invitations for users and the help desk leave through the outbox.
    const sender = new OutboxSender(store.outbox, createTransport({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, file: config.mail.file }), {
      // Lines with ids and counts only; the give-ups are logged as errors by onDelivery.
      log: (line) => obs.log.debug({ event: 'outbox' }, line),
      onDelivery: (outcome, id, attempts) => obs.outboxDelivery(outcome, id, attempts),
      ...(opts.outboxIntervalMs ? { intervalMs: opts.outboxIntervalMs } : {}),
    });
    sender.start();
    dispatcher.start();
    const port = await gateway.listen(config.port, opts.host);
    const managementPort =
      config.observability.metricsPort === null ? null : await gateway.listenManagement(config.observability.metricsPort, opts.host);
    obs.log.info(
      { event: 'started', port, managementPort, dialect: store.dialect, metrics: config.observability.metrics || managementPort !== null, tracing: tracing !== null },
      'gateway started',
    );
    let closing: Promise<{ drained: boolean }> | null = null;
    return {
      gateway,
      store,
      port,
      signingSecret: jwtSecret,
      seeded,
      outbox: sender,
      events: dispatcher,
      obs,
      managementPort,
      onClose(name, close) {
        closers.push({ name, close });
      },
      close(deadlineMs = config.observability.shutdownTimeoutMs) {
        closing ??= (async () => {
          const started = performance.now();
          gateway.beginShutdown();
          const inFlight = gateway.inFlight;
          obs.log.info({ event: 'stopping', inFlight, deadlineMs }, 'stopping: no new connections, in-flight requests may finish');
          let { drained } = await gateway.close(deadlineMs);
          if (!drained) obs.log.warn({ event: 'shutdown_deadline', inFlight: gateway.inFlight }, 'shutdown deadline reached: open connections were dropped');
          const left = () => Math.max(CLOSE_STEP_GRACE_MS, deadlineMs - (performance.now() - started));
          const steps: { name: string; close: () => Promise<unknown> }[] = [
            { name: 'outbox sender', close: () => sender.stop() },
            { name: 'event delivery', close: () => dispatcher.stop() },
            ...closers,
            { name: 'database', close: () => rawStore.close() },
            ...(tracing ? [{ name: 'tracing', close: () => tracing.shutdown() }] : []),
          ];
          for (const step of steps) {
            let ok: boolean;
            try {
              ok = await bounded(step.close(), left());
            } catch (err) {
              obs.error(`closing the ${step.name} failed`, err, { event: 'close_failed' });
              ok = false;
            }
            if (!ok) {
              drained = false;
              obs.log.warn({ event: 'close_timeout', step: step.name }, `closing the ${step.name} did not finish in time; left behind`);
            }
          }
          obs.log.info({ event: 'stopped', drained, durationMs: Math.round(performance.now() - started) }, 'gateway stopped');
          return { drained };
        })();
        return closing;
      },
    };
  } catch (err) {
    await store.close();
    await tracing?.shutdown();
    throw err;
  }
}

/** The metric's reason for a guard refusal: rate limits, trusted-document rules, and every other limit. */
function refusalReason(refusal: Refusal): RefusalReason {
  if (refusal.code === 'RATE_LIMITED') return 'rate_limit';
  if (refusal.code === 'TRUSTED_DOCUMENT_REQUIRED' || refusal.code === 'TRUSTED_DOCUMENT_NOT_FOUND') return 'trusted_document';
  return 'limit';
}
