// Starts the real gateway (startRuntime, as `npm start` does) on a temporary database (a SQLite
// file, or a schema of its own on PostgreSQL: ./database.ts chooses) and a free port, and talks to
// it over real HTTP with real signed tokens.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { assertNoLeaks } from './log-scan.js';

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface TestGateway {
  url: string;
  dir: string;
  /** The SQLite file (on PostgreSQL, a path that does not exist: use `database`). */
  dbPath: string;
  /** The gateway's database: its DATABASE_URL, and SQL on it when it is PostgreSQL. */
  database: TestDatabase;
  secret: string;
  runtime: Runtime;
  /** The gateway's JSON log (LOG_LEVEL debug), scanned for personal data and secrets at close. */
  logFile: string;
  /** POST /graphql with an optional bearer token (a string, or null for none). */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<GqlResponse<T>>;
  token(sub: string, scope?: string, opts?: { orgId?: string; ttlSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

export const ADMIN_SCOPES =
  'read:users create:users update:users delete:users read:connections create:connections update:connections read:organizations create:organizations update:organizations login:users import:users read:audit';

export async function startTestGateway(
  opts: { seed?: boolean; env?: Record<string, string>; onStatement?: (sql: string) => void; outboxIntervalMs?: number } = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  const database = await createTestDatabase(dir);
  const dbPath = database.path ?? join(dir, 'gateway.db');
  const secret = randomBytes(32).toString('base64url');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    SEED_DEMO: opts.seed ? '1' : '0',
    PORT: '0',
    AUTH_JWT_SECRET: secret,
    AUTH_ISSUER: 'https://issuer.test/',
    AUTH_AUDIENCE: 'profile-gateway',
    OUTBOX_FILE: join(dir, 'outbox.log'),
    // Every line the gateway can write, so the scan at close sees them all.
    LOG_LEVEL: 'debug',
    ...opts.env,
  });
  process.env.LEGACY_DB_PATH = join(dir, 'legacy.db');
  const logFile = join(dir, 'gateway.log');
  let runtime: Runtime;
  try {
    runtime = await startRuntime(config, {
      logDestination: logFile,
      host: '127.0.0.1',
      onStatement: opts.onStatement,
      outboxIntervalMs: opts.outboxIntervalMs,
    });
  } catch (err) {
    await database.drop();
    throw err;
  }
  const url = `http://127.0.0.1:${runtime.port}/graphql`;
  return {
    url,
    dir,
    dbPath,
    database,
    secret,
    runtime,
    logFile,
    async gql(query, variables, token) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as GqlResponse<never>;
      return { ...body, status: res.status };
    },
    token(sub, scope = '', tokenOpts = {}) {
      return signToken(secret, {
        sub,
        scope,
        orgId: tokenOpts.orgId ?? null,
        ttlSeconds: tokenOpts.ttlSeconds ?? 600,
        issuer: config.auth.issuer,
        audience: config.auth.audience,
      });
    },
    async close() {
      await runtime.close();
      // TEST_SHOW_ERRORS=1: the gateway's error lines, for a failing test's cause.
      if (process.env.TEST_SHOW_ERRORS) for (const line of readFileSync(logFile, 'utf8').split('\n')) if (/"level":(50|60)/.test(line)) console.error(line);
      try {
        assertNoLeaks(logFile);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await database.drop();
      }
    },
  };
}

/** The first error's code, for terse assertions. */
export const errorCode = (res: GqlResponse<unknown>) => res.errors?.[0]?.extensions?.code;
