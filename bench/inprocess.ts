// F1 and F2, in a process of their own (clean heap and JIT), on the benchmark's SQLite file:
//   F1: graphql execute() of scenario 1 (and 2) with the bare schema and with shield, each with a
//       fresh context from buildContext, as a request gets it; context and execution timed apart.
//   F2: the raw better-sqlite3 prepared statement that reads one user (and, for comparison, the
//       same read through the store, and the statements behind a page of users).
// Also counts the SQL statements each scenario's request runs (context + execution).
// Usage: node --import tsx bench/inprocess.ts CONFIG.json  → one JSON object on stdout.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { type DocumentNode, execute, type GraphQLSchema, parse, validate } from 'graphql';
import { createTokenVerifier } from '../src/auth/tokens.js';
import { DEFAULT_TICKET_SETTINGS, MIGRATIONS_FOLDER } from '../src/config.js';
import { ScriptRegistry } from '../src/connectors/custom-db.js';
import { buildContext, type ContextDeps } from '../src/graphql/context.js';
import { buildBareSchema, buildSchema } from '../src/graphql/schema.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { cursorAt, LOGIN, loginInput, PAGE, PROFILE, pick, UPDATE } from './lib/queries.js';

export interface InProcessConfig {
  dbPath: string;
  secret: string;
  adminToken: string;
  loginToken: string;
  profileId: string;
  ownIds: string[];
  pageAfterIds: string[];
  google: { upstreamId: string; email: string; given: string; family: string }[];
  /** Scenario 1 executions per schema. */
  iterations: number;
}

export interface ExecTiming {
  iterations: number;
  contextUs: number;
  executeUs: number;
  totalUs: number;
}

export interface InProcessResult {
  f1: {
    profile: { bare: ExecTiming; shield: ExecTiming; executeRatio: number; totalRatio: number };
    page: { bare: ExecTiming; shield: ExecTiming; executeRatio: number; totalRatio: number };
  };
  f2: {
    rawUserByIdUs: number;
    rawUserByIdOpsPerSec: number;
    storeUserByIdUs: number;
    rawCountUsersUs: number;
    rawPageOf100Us: number;
    storeListPageOf100Us: number;
  };
  statements: Record<'profile' | 'page' | 'update' | 'login', { count: number; sql: string[] }>;
}

const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as InProcessConfig;
const now = () => performance.now();

const deps = (store: ContextDeps['store']): ContextDeps => ({
  store,
  verifier: createTokenVerifier({ jwtSecret: config.secret, jwksUrl: null, issuer: null, audience: null }),
  scripts: new ScriptRegistry(resolve('scripts'), 5000),
  tickets: DEFAULT_TICKET_SETTINGS,
});

async function runOnce(
  d: ContextDeps,
  schema: GraphQLSchema,
  document: DocumentNode,
  token: string,
  variables: Record<string, unknown>,
): Promise<{ contextMs: number; executeMs: number }> {
  const t0 = now();
  const contextValue = await buildContext(d, `Bearer ${token}`);
  const t1 = now();
  const result = await execute({ schema, document, contextValue, variableValues: variables });
  const t2 = now();
  if (result.errors?.length) throw new Error(`in-process execute failed: ${JSON.stringify(result.errors)}`);
  return { contextMs: t1 - t0, executeMs: t2 - t1 };
}

/** Alternates bare and shielded runs in rounds, so drift (GC, CPU frequency) hits both alike. */
async function compare(
  d: ContextDeps,
  schemas: { bare: GraphQLSchema; shield: GraphQLSchema },
  document: DocumentNode,
  variables: () => Record<string, unknown>,
  iterations: number,
) {
  const warm = Math.max(50, Math.floor(iterations / 10));
  for (const schema of [schemas.bare, schemas.shield]) {
    for (let i = 0; i < warm; i++) await runOnce(d, schema, document, config.adminToken, variables());
  }
  const acc = { bare: { c: 0, e: 0, n: 0 }, shield: { c: 0, e: 0, n: 0 } };
  const rounds = 10;
  const per = Math.max(1, Math.floor(iterations / rounds));
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? (['bare', 'shield'] as const) : (['shield', 'bare'] as const)) {
      const a = acc[which];
      for (let i = 0; i < per; i++) {
        const t = await runOnce(d, schemas[which], document, config.adminToken, variables());
        a.c += t.contextMs;
        a.e += t.executeMs;
        a.n += 1;
      }
    }
  }
  const timing = (a: { c: number; e: number; n: number }): ExecTiming => ({
    iterations: a.n,
    contextUs: (a.c / a.n) * 1000,
    executeUs: (a.e / a.n) * 1000,
    totalUs: ((a.c + a.e) / a.n) * 1000,
  });
  const bare = timing(acc.bare);
  const shield = timing(acc.shield);
  return { bare, shield, executeRatio: shield.executeUs / bare.executeUs, totalRatio: shield.totalUs / bare.totalUs };
}

function timeLoop(iterations: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn(i);
  const t0 = now();
  for (let i = 0; i < iterations; i++) fn(i);
  return ((now() - t0) / iterations) * 1000;
}

async function timeLoopAsync(iterations: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, iterations); i++) await fn(i);
  const t0 = now();
  for (let i = 0; i < iterations; i++) await fn(i);
  return ((now() - t0) / iterations) * 1000;
}

async function main(): Promise<void> {
  const store = openSqliteStore({ path: config.dbPath, migrationsFolder: MIGRATIONS_FOLDER });
  const d = deps(store);
  const schemas = { bare: buildBareSchema(), shield: buildSchema() };
  const profileDoc = parse(PROFILE);
  const pageDoc = parse(PAGE);
  for (const doc of [profileDoc, pageDoc, parse(UPDATE), parse(LOGIN)]) {
    const errors = validate(schemas.shield, doc);
    if (errors.length > 0) throw new Error(`invalid benchmark document: ${errors.map((e) => e.message).join('; ')}`);
  }

  // F1
  const profile = await compare(d, schemas, profileDoc, () => ({ id: config.profileId }), config.iterations);
  const page = await compare(
    d,
    schemas,
    pageDoc,
    () => ({ after: cursorAt(config.dbPath, config.adminToken, pick(config.pageAfterIds)) }),
    Math.max(20, Math.floor(config.iterations / 40)),
  );

  // F2
  const sqlite = new Database(config.dbPath, { readonly: true });
  const userSql = `SELECT id, connection_id, email, email_verified, username, phone_number, phone_verified, name,
    nickname, given_name, family_name, picture, user_metadata, app_metadata, blocked, migrated, version, created_at,
    updated_at, last_login, last_ip, logins_count, profile_synced_at FROM users WHERE id = ?`;
  const byId = sqlite.prepare(userSql);
  const ids = config.ownIds.concat(config.pageAfterIds);
  const n = 50_000;
  const rawUserByIdUs = timeLoop(n, (i) => byId.get(ids[i % ids.length]));
  const storeUserByIdUs = await timeLoopAsync(20_000, (i) => store.users.byIds([ids[i % ids.length] as string]));
  const countStmt = sqlite.prepare('SELECT count(*) AS n FROM users');
  const rawCountUsersUs = timeLoop(300, () => countStmt.get());
  const pageStmt = sqlite.prepare(`${userSql.replace('WHERE id = ?', 'WHERE id > ?')} ORDER BY id LIMIT 101`);
  const rawPageOf100Us = timeLoop(2000, (i) => pageStmt.all(ids[i % ids.length]));
  const storeListPageOf100Us = await timeLoopAsync(300, (i) =>
    store.users.list({ first: 100, after: ids[i % ids.length] as string, filter: {}, visibleTo: undefined }),
  );
  sqlite.close();
  await store.close();

  // Statements per request: a second store whose every statement is recorded.
  let log: string[] | null = null;
  const counted = openSqliteStore({
    path: config.dbPath,
    migrationsFolder: MIGRATIONS_FOLDER,
    onStatement: (sql) => log?.push(sql),
  });
  const dc = deps(counted);
  const statements = {} as InProcessResult['statements'];
  const count = async (
    name: keyof InProcessResult['statements'],
    doc: string,
    token: string,
    variables: Record<string, unknown>,
  ) => {
    // Once unmeasured (scripts, caches), then counted.
    await runOnce(dc, schemas.shield, parse(doc), token, variables);
    log = [];
    await runOnce(dc, schemas.shield, parse(doc), token, name === 'update' ? { ...variables, metadata: { bench: `v${Math.random()}` } } : variables);
    statements[name] = { count: log.length, sql: log.map((s) => s.replace(/\s+/g, ' ').slice(0, 160)) };
    log = null;
  };
  await count('profile', PROFILE, config.adminToken, { id: config.profileId });
  await count('page', PAGE, config.adminToken, { after: cursorAt(config.dbPath, config.adminToken, pick(config.pageAfterIds)) });
  await count('update', UPDATE, config.adminToken, { id: pick(config.ownIds), metadata: { bench: 'x' } });
  await count('login', LOGIN, config.loginToken, { input: loginInput(pick(config.google)) });
  await counted.close();

  const result: InProcessResult = {
    f1: { profile, page },
    f2: {
      rawUserByIdUs,
      rawUserByIdOpsPerSec: 1e6 / rawUserByIdUs,
      storeUserByIdUs,
      rawCountUsersUs,
      rawPageOf100Us,
      storeListPageOf100Us,
    },
    statements,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
