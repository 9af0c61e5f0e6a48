// `npm run bench`: builds a tenant of N users on a temporary SQLite file, starts the gateway as its
// own process (NODE_ENV=production, as deployed), measures the scenarios over HTTP with autocannon,
// then the floors on the same data (F0 bare node:http with scenario 1's exact bytes; F1 execute()
// with and without shield; F2 the raw prepared statement), then the bulk import CLI. Writes
// bench/results/latest.json and latest.md and prints the ratios and whether the targets are met.
//
// `--store postgres`: the same tenant copied row for row into a fresh schema on TEST_DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/test), the gateway on DATABASE_URL=postgres://…, the
// same scenarios, F0 and the import CLI into PostgreSQL (F1/F2 and the what-ifs run in-process on
// the SQLite store: skipped, and said so in the results); `--instances 1,2` adds scenario 1 through
// one and two gateway instances on that database. Results: latest-postgres.json and .md.
// `--store sqlite,postgres` runs both, one after the other.
//
//   npm run bench -- [--store sqlite|postgres|sqlite,postgres] [--instances 1,2] [--users N]
//                    [--import-users N] [--stream-users N] [--duration S] [--warmup S]
//                    [--quick] [--profile] [--skip-bulk] [--skip-whatif] [--keep] [--out DIR]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { signToken } from '../src/auth/tokens.js';
import { PROJECT_ROOT } from '../src/config.js';
import { cursorKeyOf } from '../src/store/pseudonyms.js';
import { openStore } from '../src/store/index.js';
import { createTestDatabase } from '../test/helpers/database.js';
import type { InProcessConfig, InProcessResult } from './inprocess.js';
import type { WhatIfConfig, WhatIfResult } from './whatif.js';
import { createImportConnection, runImportCli, writeNdjson } from './lib/bulk.js';
import { gatewayEnv } from './lib/gateway-env.js';
import { type LoadResult, runLoad } from './lib/load.js';
import { memoryOf, runMeasured, startProcess, stopProcess } from './lib/proc.js';
import { copySqliteToPg, pgSchemaMb } from './lib/pg-copy.js';
import { type ProfileSummary, summarizeProfile } from './lib/profile.js';
import {
  cursorAt,
  DECLARE_DEPARTMENT,
  LOGIN,
  loginInput,
  noErrors,
  noUserErrors,
  PAGE,
  PROFILE,
  pick,
  SEARCH,
  UPDATE,
} from './lib/queries.js';
import { type BenchResults, type InstancesRow, type Target, toMarkdown } from './lib/report.js';
import { buildTenant, DEPARTMENTS, inProcessSamples, newSecret, type Tenant } from './lib/tenant.js';
import { currentTree, type Tree } from './lib/tree.js';

const USAGE = `npm run bench -- [options]
  --store S          sqlite (default), postgres, or sqlite,postgres (both, one after the other).
                     postgres: the same tenant copied into a fresh schema on TEST_DATABASE_URL
                     (default postgres://postgres@127.0.0.1:5432/test), the gateway on it, the same
                     HTTP scenarios, F0 and the import CLI; F1/F2 and what-if are SQLite-only
                     (in-process) and skipped. Results: latest-postgres.json and latest-postgres.md
  --instances L      with postgres: scenario 1 (profile read, 50 connections in all, split) through
                     each count of gateway instances in the comma list L on one database, e.g. 1,2
  --instance-rounds R  interleaved rounds of the --instances counts (default 3, 1 with --quick);
                     the median round by req/s is reported
  --users N          users in the tenant (default 100000)
  --import-users N   records imported through the CLI into a fresh connection (default 100000)
  --stream-users N   records streamed from one NDJSON file into a new database (default 1000000,
                     fewer when the import rate just measured says that many would not finish
                     within the time budget; npm run bench:full always streams 1000000)
  --budget-minutes M the time budget the default stream size must fit in (default 10)
  --duration S       seconds per measured run (default 10)
  --warmup S         seconds of warm-up before each run (default 3)
  --soak             the guard's soak and attack run instead (bench/soak.ts: --users --duration
                     --connections --attackers --out)
  --quick            a small, fast run (5000 users, 3 s runs, small imports): checks the harness
  --profile          also profile the gateway (node --cpu-prof) during scenarios 1 and 2
  --skip-bulk        no import figures
  --skip-whatif      no what-if measurements of the proposed fixes
  --keep             keep the temporary directory (database, profiles)
  --out DIR          where latest.json and latest.md go (default bench/results)
  --against REF      this tree and git commit REF back to back on the same data, interleaved
                     (--rounds R, default 3; medians), and their ratios: against.json / against.md
  --rounds R         interleaved rounds per scenario and side with --against (default 3)
  --import-rounds R  alternating import runs per side with --against (default 2; 0: none)`;

// --soak: the guard's soak and attack run instead (bench/soak.ts, its own options).
if (process.argv.includes('--soak')) {
  await (await import('./soak.js')).runSoak();
  process.exit(0);
}

const { values: args } = parseArgs({
  options: {
    users: { type: 'string' },
    'import-users': { type: 'string' },
    'stream-users': { type: 'string' },
    'budget-minutes': { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'skip-bulk': { type: 'boolean', default: false },
    'skip-whatif': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
    against: { type: 'string' },
    rounds: { type: 'string' },
    'import-rounds': { type: 'string' },
    store: { type: 'string' },
    instances: { type: 'string' },
    'instance-rounds': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const num = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a number.\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const quick = args.quick;
const stores = (args.store ?? 'sqlite').split(',').map((s) => s.trim()) as ('sqlite' | 'postgres')[];
if (stores.length === 0 || stores.some((s) => s !== 'sqlite' && s !== 'postgres') || new Set(stores).size !== stores.length) {
  console.error(`--store must be sqlite, postgres or sqlite,postgres.\n\n${USAGE}`);
  process.exit(2);
}
const instanceCounts = args.instances === undefined ? [] : args.instances.split(',').map((n) => Number(n.trim()));
if (instanceCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) {
  console.error(`--instances must be a comma list of counts from 1 to 8, e.g. 1,2.\n\n${USAGE}`);
  process.exit(2);
}
if (instanceCounts.length && !stores.includes('postgres')) {
  console.error(`--instances needs --store postgres (a SQLite file is one process's).\n\n${USAGE}`);
  process.exit(2);
}
if (args.against && args.store && args.store !== 'sqlite') {
  console.error(`--against measures SQLite only.\n\n${USAGE}`);
  process.exit(2);
}
const opts = {
  users: num(args.users, quick ? 5000 : 100_000, 'users'),
  importUsers: num(args['import-users'], quick ? 5000 : 100_000, 'import-users'),
  streamUsers: num(args['stream-users'], quick ? 20_000 : 1_000_000, 'stream-users'),
  /** False when --stream-users was given: then it is never scaled down. */
  streamUsersAdaptive: args['stream-users'] === undefined && !quick,
  budgetSeconds: num(args['budget-minutes'], 10, 'budget-minutes') * 60,
  duration: num(args.duration, quick ? 3 : 10, 'duration'),
  warmup: num(args.warmup, quick ? 1 : 3, 'warmup'),
  f1Iterations: quick ? 1000 : 4000,
  whatIfIterations: quick ? 300 : 2000,
  whatIf: !args['skip-whatif'],
  instanceRounds: num(args['instance-rounds'], quick ? 1 : 3, 'instance-rounds'),
  profile: args.profile,
  bulk: !args['skip-bulk'],
  quick,
};
const root = PROJECT_ROOT.replace(/\/$/, '');
const outDir = resolve(args.out ?? join(root, 'bench/results'));

const log = (line: string) => console.log(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const t0 = performance.now();

/** This tree as its package.json starts it (built first when it has a build step). */
let tree: Tree | null = null;
type Gateway = Awaited<ReturnType<typeof startProcess>> & { url: string };
async function startGateway(dir: string, db: BenchDatabase, secret: string, extraNodeArgs: string[] = []): Promise<Gateway> {
  tree ??= currentTree(root, log);
  const start = tree.command('start');
  const started = await startProcess(start.command, [...extraNodeArgs, ...start.args], {
    cwd: root,
    env: gatewayEnv(dir, db.pgUrl ?? db.path, secret, db.pseudonymSecret),
    ready: /listening on http:\/\/localhost:(\d+)\/graphql/,
  });
  return { ...started, url: `http://127.0.0.1:${started.match[1]}/graphql` };
}

async function post(url: string, token: string, body: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status} from the gateway: ${text.slice(0, 500)}`);
  return text;
}

interface Scenario {
  name: string;
  connections: number;
  token: string;
  body: string | (() => string);
  verify: (body: string) => boolean;
}

function scenarios(cursorSource: string | { key: Buffer }, tenant: Tenant, tokens: Tokens): Scenario[] {
  const profileBody = JSON.stringify({ query: PROFILE, variables: { id: tenant.profileId } });
  const pageBody = () => JSON.stringify({ query: PAGE, variables: { after: cursorAt(cursorSource, tokens.admin, pick(tenant.allIds)) } });
  const updateBody = () =>
    JSON.stringify({
      query: UPDATE,
      variables: { id: pick(tenant.ownIds), metadata: { theme: `t${Math.floor(Math.random() * 1e9)}` } },
    });
  // A profile answer must hold the profile (a help desk that may not read it would get null, no error).
  const profileShown = (b: string) => noErrors(b) && b.includes('"fieldPolicies":[');
  // A search must find someone: only the departments the tenant's users reach (all 500 from 10,000
  // users up; a --quick tenant of 5,000 fills the first 250, see departmentOf).
  const departments = Math.min(DEPARTMENTS, Math.ceil(tenant.users / 20));
  const searchBody = () => JSON.stringify({ query: SEARCH, variables: { department: `dept-${Math.floor(Math.random() * departments)}` } });
  const found = (b: string) => noErrors(b) && b.includes('"department":"dept-');
  const loginBody = () => JSON.stringify({ query: LOGIN, variables: { input: loginInput(pick(tenant.google)) } });
  return [
    { name: '1. profile by id (tenant admin)', connections: 1, token: tokens.admin, body: profileBody, verify: profileShown },
    { name: '1. profile by id (tenant admin)', connections: 50, token: tokens.admin, body: profileBody, verify: profileShown },
    { name: '1h. profile by id (help desk)', connections: 50, token: tokens.helpDesk, body: profileBody, verify: profileShown },
    { name: '2. page of 100 users', connections: 1, token: tokens.admin, body: pageBody, verify: noErrors },
    { name: '2. page of 100 users', connections: 10, token: tokens.admin, body: pageBody, verify: noErrors },
    { name: '3. updateUser user_metadata', connections: 10, token: tokens.admin, body: updateBody, verify: noUserErrors },
    { name: '4. recordLogin google-oauth2', connections: 10, token: tokens.login, body: loginBody, verify: noUserErrors },
    { name: '5. search by a declared attribute', connections: 1, token: tokens.admin, body: searchBody, verify: found },
  ];
}

/** The commit measured, and the source files that differ from it (others edit the tree concurrently). */
function sourceState(): { commit: string | null; modified: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src', 'schema', 'drizzle', 'package.json'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { commit, modified: status.split('\n').filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return { commit: null, modified: [] };
  }
}

const headersFor = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });

type StoreName = 'sqlite' | 'postgres';

/** The database one store's run measures: the tenant's SQLite file, and on PostgreSQL its copy in a fresh schema. */
interface BenchDatabase {
  store: StoreName;
  /** The SQLite file the tenant is built in (the gateway's database on SQLite). */
  path: string;
  /** postgres://… with the schema in its search_path (PostgreSQL only). */
  pgUrl: string | null;
  /** The PSEUDONYM_SECRET the bench gives the gateway and the import CLI on PostgreSQL. */
  pseudonymSecret?: string;
  /** What cursorAt seals page cursors with. */
  cursorSource: string | { key: Buffer };
  mb: number;
  drop(): Promise<void>;
}

type Tokens = { admin: string; helpDesk: string; login: string };

/** The tenant, built on SQLite and on PostgreSQL copied row for row into a fresh, migrated schema. */
async function prepareDatabase(dir: string, store: StoreName): Promise<{ tenant: Tenant; db: BenchDatabase }> {
  const dbPath = join(dir, 'gateway.db');
  log(`building a tenant of ${opts.users.toLocaleString('en-US')} users…`);
  const tenant = await buildTenant(dbPath, opts.users);
  const liteMb = statSync(dbPath).size / (1024 * 1024);
  log(`tenant built in ${tenant.seconds.toFixed(1)} s: ${tenant.organizations} organizations, ${tenant.memberships} memberships, ${liteMb.toFixed(0)} MB`);
  if (store === 'sqlite') return { tenant, db: { store, path: dbPath, pgUrl: null, cursorSource: dbPath, mb: liteMb, drop: async () => undefined } };

  const started = performance.now();
  const pgDb = await createTestDatabase(dir, 'postgres');
  const url = pgDb.url;
  try {
    const pseudonymSecret = newSecret();
    // Migrated by the store itself, then filled from the SQLite tenant.
    await (await openStore({ databasePath: '', databaseUrl: url, pseudonymSecret })).close();
    const copied = await copySqliteToPg(dbPath, url);
    const mb = await pgSchemaMb(url);
    tenant.seconds += (performance.now() - started) / 1000;
    log(`copied into PostgreSQL schema ${pgDb.schema} in ${((performance.now() - started) / 1000).toFixed(1)} s (${Object.entries(copied).map(([t, n]) => `${t} ${n}`).join(', ')}), ${mb.toFixed(0)} MB`);
    return {
      tenant,
      db: { store, path: dbPath, pgUrl: url, pseudonymSecret, cursorSource: { key: cursorKeyOf(pseudonymSecret) }, mb, drop: () => pgDb.drop() },
    };
  } catch (err) {
    await pgDb.drop();
    throw err;
  }
}

async function signTokens(secret: string, tenant: Tenant): Promise<Tokens> {
  const sign = (sub: string, scope: string) => signToken(secret, { sub, scope, ttlSeconds: 4 * 3600 });
  return {
    admin: await sign('bench-admin@clients', 'read:users update:users read:organizations read:connections update:connections'),
    helpDesk: await sign(tenant.helpDeskId, ''),
    login: await sign('login-server@clients', 'login:users'),
  };
}

/** Scenario 5's declaration (through the API, as a tenant would: it creates the expression index), then one checked request of each scenario. */
async function checkScenarios(url: string, tokens: Tokens, list: Scenario[], dir: string): Promise<{ profileResponse: string; responseFile: string }> {
  const declared = await post(url, tokens.admin, JSON.stringify({ query: DECLARE_DEPARTMENT }));
  if (!declared.includes('"userErrors":[]')) throw new Error(`declaring department failed: ${declared.slice(0, 500)}`);
  const profileResponse = await post(url, tokens.admin, list[0]?.body as string);
  if (!noErrors(profileResponse) || !profileResponse.includes('"fieldPolicies"')) {
    throw new Error(`scenario 1 answered with errors: ${profileResponse.slice(0, 500)}`);
  }
  const responseFile = join(dir, 'profile-response.json');
  writeFileSync(responseFile, profileResponse);
  for (const s of list) {
    const text = await post(url, s.token, typeof s.body === 'string' ? s.body : s.body());
    if (!s.verify(text)) throw new Error(`${s.name}: the check request failed: ${text.slice(0, 500)}`);
  }
  return { profileResponse, responseFile };
}

const loadLine = (r: LoadResult) =>
  `  ${Math.round(r.rps)} req/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx}, failed bodies ${r.failedBodies}, gateway ${r.serverCpuMsPerRequest.toFixed(3)} CPU ms/req, ${r.serverMaxRssMb.toFixed(0)} MB`;

const loadOf = (s: Scenario, url: string, pid: number, connections = s.connections): Promise<LoadResult> =>
  runLoad({
    name: s.name,
    url,
    connections,
    seconds: opts.duration,
    warmupSeconds: opts.warmup,
    headers: headersFor(s.token),
    body: s.body,
    verify: s.verify,
    serverPid: pid,
  });

async function runHttp(list: Scenario[], gw: { url: string; pid: number }): Promise<LoadResult[]> {
  const http: LoadResult[] = [];
  for (const s of list) {
    log(`${s.name}, ${s.connections} connection(s): ${opts.warmup} s warm-up + ${opts.duration} s…`);
    const r = await loadOf(s, gw.url, gw.pid);
    log(loadLine(r));
    http.push(r);
  }
  return http;
}

/**
 * Scenario 1 through 1, 2, … gateway instances on one database: as many fresh gateways as the
 * largest count, started the same way as the one above (the compiled start, production); a count
 * of k loads the first k, the connections split evenly, each instance by its own autocannon at
 * once (warm-up included); requests added up, the slowest instance's percentiles. The counts are
 * measured in interleaved rounds (1 2, 2 1, 1 2: drift in the machine's load falls on each) and
 * the round with the median req/s is reported, with every round's req/s beside it.
 */
async function runInstances(dir: string, db: BenchDatabase, secret: string, profile: Scenario, counts: number[]): Promise<InstancesRow[]> {
  const gateways: Gateway[] = [];
  const measured = new Map<number, InstancesRow[]>(counts.map((c) => [c, []]));
  try {
    // One after the other: the first migrates (a no-op here), the next finds it done.
    for (let k = 0; k < Math.max(...counts); k++) gateways.push(await startGateway(dir, db, secret));
    for (let round = 0; round < opts.instanceRounds; round++) {
      for (const count of round % 2 === 0 ? counts : [...counts].reverse()) {
        const each = Math.max(1, Math.round(profile.connections / count));
        log(`${profile.name} through ${count} instance(s), ${each} connection(s) each, round ${round + 1}/${opts.instanceRounds}: ${opts.warmup} s warm-up + ${opts.duration} s…`);
        const results = await Promise.all(gateways.slice(0, count).map((g) => loadOf(profile, g.url, g.pid, each)));
        const worst = (key: 'p50' | 'p90' | 'p99') => Math.max(...results.map((r) => r.latencyMs[key]));
        const row: InstancesRow = {
          instances: count,
          connections: each * count,
          rps: results.reduce((a, r) => a + r.rps, 0),
          requests: results.reduce((a, r) => a + r.requests, 0),
          latencyMs: { p50: worst('p50'), p90: worst('p90'), p99: worst('p99') },
          failures: results.reduce((a, r) => a + r.errors + r.timeouts + r.non2xx + r.failedBodies, 0),
          serverCpuMsPerRequest: results.map((r) => r.serverCpuMsPerRequest),
        };
        log(`  ${Math.round(row.rps)} req/s in all, p50 ${row.latencyMs.p50.toFixed(2)} ms, p99 ${row.latencyMs.p99.toFixed(2)} ms (slowest instance), failures ${row.failures}`);
        measured.get(count)?.push(row);
      }
    }
  } finally {
    for (const g of gateways) await stopProcess(g.child);
  }
  return counts.map((count) => {
    const rounds = measured.get(count) as InstancesRow[];
    const median = [...rounds].sort((a, b) => a.rps - b.rps)[Math.floor((rounds.length - 1) / 2)] as InstancesRow;
    return { ...median, roundsRps: rounds.map((r) => Math.round(r.rps)) };
  });
}

/** F0: scenario 1's exact bytes from a bare node:http server. */
async function runF0(responseFile: string, profile: Scenario, profileResponse: string): Promise<LoadResult[]> {
  const floor = await startProcess(process.execPath, ['--import', 'tsx', 'bench/floor-server.ts', responseFile], {
    cwd: root,
    env: process.env,
    ready: /floor listening on (\d+)/,
  });
  const floorUrl = `http://127.0.0.1:${floor.match[1]}/graphql`;
  const f0: LoadResult[] = [];
  try {
    for (const connections of [1, 50]) {
      log(`F0 bare node:http, ${connections} connection(s)…`);
      const r = await runLoad({
        name: 'F0. bare node:http, same bytes',
        url: floorUrl,
        connections,
        seconds: opts.duration,
        warmupSeconds: opts.warmup,
        headers: headersFor(profile.token),
        body: profile.body,
        verify: (b) => b.length === profileResponse.length,
        serverPid: floor.pid,
      });
      log(`  ${Math.round(r.rps)} req/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms`);
      f0.push(r);
    }
  } finally {
    await stopProcess(floor.child);
  }
  return f0;
}

/** F1, F2 and statement counts, in their own process on the same SQLite file. */
async function runInProcess(dir: string, dbPath: string, secret: string, tokens: Tokens, tenant: Tenant): Promise<{ result: InProcessResult; pageAfterIds: string[] }> {
  log(`F1/F2 in-process (${opts.f1Iterations} executions per schema)…`);
  const inConfig: InProcessConfig = {
    dbPath,
    secret,
    adminToken: tokens.admin,
    loginToken: tokens.login,
    ...inProcessSamples(tenant),
    iterations: opts.f1Iterations,
  };
  const configFile = join(dir, 'inprocess.json');
  writeFileSync(configFile, JSON.stringify(inConfig));
  const inRun = await runMeasured(process.execPath, ['--import', 'tsx', 'bench/inprocess.ts', configFile], { cwd: root, env: process.env });
  if (inRun.code !== 0) throw new Error(`bench/inprocess.ts failed:\n${inRun.stderr.slice(-4000)}`);
  const result = JSON.parse(inRun.stdout.trim().split('\n').pop() as string) as InProcessResult;
  const pr = result.f1.profile;
  log(`  F1 execute(): bare ${pr.bare.executeUs.toFixed(0)} µs, shield ${pr.shield.executeUs.toFixed(0)} µs (${pr.executeRatio.toFixed(2)}×); buildContext ${pr.bare.contextUs.toFixed(0)} µs`);
  log(`  F2 raw statement ${result.f2.rawUserByIdUs.toFixed(2)} µs/op; through the store ${result.f2.storeUserByIdUs.toFixed(1)} µs/op`);
  return { result, pageAfterIds: inConfig.pageAfterIds };
}

/** What-if: the proposed fixes, measured in-process (SQLite) without changing src/. */
async function runWhatIf(dir: string, dbPath: string, secret: string, tokens: Tokens, tenant: Tenant, pageAfterIds: string[]): Promise<WhatIfResult> {
  log(`what-if: scenario 1 and 2 through Apollo in-process, with each proposed fix in turn…`);
  const wiConfig: WhatIfConfig = { dbPath, secret, adminToken: tokens.admin, profileId: tenant.profileId, pageAfterIds, iterations: opts.whatIfIterations };
  const wiFile = join(dir, 'whatif.json');
  writeFileSync(wiFile, JSON.stringify(wiConfig));
  const wiRun = await runMeasured(process.execPath, ['--import', 'tsx', 'bench/whatif.ts', wiFile], { cwd: root, env: process.env });
  if (wiRun.code !== 0) throw new Error(`bench/whatif.ts failed:\n${wiRun.stderr.slice(-4000)}`);
  const whatIf = JSON.parse(wiRun.stdout.trim().split('\n').pop() as string) as WhatIfResult;
  for (const v of whatIf.variants) {
    log(`  ${v.name}: profile ${v.profileUs.toFixed(0)} µs, page ${(v.pageUs / 1000).toFixed(1)} ms, ${v.pageAllocatedMb.toFixed(1)} MB allocated per page`);
  }
  return whatIf;
}

/** A gateway of its own under --cpu-prof, one per profiled scenario. */
async function runProfiles(dir: string, db: BenchDatabase, secret: string, list: Scenario[], suffix: string): Promise<ProfileSummary[]> {
  const profiles: ProfileSummary[] = [];
  for (const which of [1, 4] as const) {
    const s = list[which] as Scenario;
    const profDir = join(dir, `profile-${which}`);
    mkdirSync(profDir, { recursive: true });
    log(`profiling the gateway during ${s.name} (${s.connections} connections)…`);
    const pg = await startGateway(dir, db, secret, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    await loadOf(s, pg.url, pg.pid);
    await stopProcess(pg.child);
    const file = readdirSync(profDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(profDir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (!file) throw new Error('the gateway wrote no CPU profile');
    const kept = join(outDir, `scenario-${which === 1 ? 1 : 2}${suffix}.cpuprofile`);
    mkdirSync(outDir, { recursive: true });
    copyFileSync(file, kept);
    profiles.push(summarizeProfile(kept, root));
    log(`  profile: ${kept}`);
  }
  return profiles;
}

/** The import CLI into a fresh connection of the tenant's database, then a large file streamed into a new database (a new schema on PostgreSQL). */
async function runBulk(dir: string, db: BenchDatabase, storeT0: number): Promise<BenchResults['bulk']> {
  const bulk: BenchResults['bulk'] = {};
  const target = db.pgUrl ?? db.path;
  if (opts.importUsers > 0) {
    log(`import: writing ${opts.importUsers.toLocaleString('en-US')} records, importing them into a fresh connection…`);
    const file = join(dir, 'import.ndjson');
    const fileMb = await writeNdjson(file, opts.importUsers, 'imp');
    await createImportConnection(target, 'bench-import', db.pseudonymSecret);
    bulk.import = await runImportCli({ cwd: root, dbPath: target, pseudonymSecret: db.pseudonymSecret, connection: 'bench-import', file, records: opts.importUsers, fileMb });
    rmSync(file, { force: true });
    log(`  ${Math.round(bulk.import.recordsPerSecond)} records/s, peak RSS ${bulk.import.maxRssMb.toFixed(0)} MB, ${bulk.import.failed} failed`);
  }
  let streamUsers = opts.streamUsers;
  let streamNote: string | null = null;
  if (streamUsers > 0 && opts.streamUsersAdaptive && bulk.import) {
    // What is left of the budget (a minute kept for writing the file and the rest), at the rate just measured.
    const left = opts.budgetSeconds - (performance.now() - storeT0) / 1000 - 60;
    const fits = Math.floor((bulk.import.recordsPerSecond * left * 0.9) / 50_000) * 50_000;
    if (fits < streamUsers) {
      streamUsers = Math.max(50_000, fits);
      streamNote = `${streamUsers.toLocaleString('en-US')} records instead of ${opts.streamUsers.toLocaleString('en-US')}: at ${Math.round(bulk.import.recordsPerSecond)} records/s the default would not fit the ${opts.budgetSeconds / 60}-minute budget (--stream-users 1000000 or npm run bench:full streams them all)`;
      log(`stream: ${streamNote}`);
    }
  }
  if (streamUsers > 0) {
    log(`stream: writing ${streamUsers.toLocaleString('en-US')} records, streaming them into a new ${db.pgUrl ? 'schema' : 'database'}…`);
    const file = join(dir, 'stream.ndjson');
    const fileMb = await writeNdjson(file, streamUsers, 'str');
    const streamDb = db.pgUrl ? await createTestDatabase(dir, 'postgres') : null;
    const streamTarget = streamDb?.url ?? join(dir, 'stream.db');
    try {
      await createImportConnection(streamTarget, 'bench-stream', db.pseudonymSecret);
      const figures = await runImportCli({ cwd: root, dbPath: streamTarget, pseudonymSecret: db.pseudonymSecret, connection: 'bench-stream', file, records: streamUsers, fileMb });
      bulk.stream = { ...figures, note: streamNote };
    } finally {
      rmSync(file, { force: true });
      if (streamDb) await streamDb.drop();
      else rmSync(streamTarget, { force: true });
    }
    log(`  ${Math.round(bulk.stream.recordsPerSecond)} records/s, peak RSS ${bulk.stream.maxRssMb.toFixed(0)} MB, ${bulk.stream.failed} failed`);
  }
  return bulk;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const failures = (l: LoadResult) => l.errors + l.timeouts + l.non2xx + l.failedBodies;

function ratiosAndTargets(http: LoadResult[], f0: LoadResult[], inProcess: InProcessResult | undefined, gateway: BenchResults['gateway']) {
  const byName = (name: string, c: number) => http.find((h) => h.name.startsWith(name) && h.connections === c) as LoadResult;
  const s1c1 = byName('1.', 1);
  const s1c50 = byName('1.', 50);
  const s2c1 = byName('2.', 1);
  const s5 = byName('5.', 1);
  const f0c1 = f0[0] as LoadResult;
  const f0c50 = f0[1] as LoadResult;
  const pr = inProcess?.f1.profile;
  const ratios: BenchResults['ratios'] = {
    scenario1OverF0AtC50: s1c50.rps / f0c50.rps,
    scenario1OverF0AtC1: s1c1.rps / f0c1.rps,
    ...(inProcess && pr ? { shieldExecuteRatio: pr.executeRatio, shieldTotalRatio: pr.totalRatio, shieldPageExecuteRatio: inProcess.f1.page.executeRatio } : {}),
    p99Ms: Object.fromEntries([...http, ...f0].map((l) => [`${l.name} c${l.connections}`, Math.round(l.latencyMs.p99 * 100) / 100])),
  };
  const targets: Target[] = [
    {
      name: 'scenario 1 at 50 connections vs F0',
      goal: '≥ 30 % of F0 req/s, no errors, p99 < 25 ms',
      measured: `${pct(ratios.scenario1OverF0AtC50)} (${Math.round(s1c50.rps)} vs ${Math.round(f0c50.rps)} req/s), ${failures(s1c50)} errors, p99 ${s1c50.latencyMs.p99.toFixed(1)} ms`,
      met: ratios.scenario1OverF0AtC50 >= 0.3 && failures(s1c50) === 0 && s1c50.latencyMs.p99 < 25,
    },
    ...(pr
      ? [
          {
            name: 'shield overhead (F1, scenario 1)',
            goal: '≤ 1.3× unshielded execute()',
            measured: `${pr.executeRatio.toFixed(2)}× (${pr.bare.executeUs.toFixed(0)} → ${pr.shield.executeUs.toFixed(0)} µs); with buildContext ${pr.totalRatio.toFixed(2)}×`,
            met: pr.executeRatio <= 1.3,
          },
        ]
      : []),
    {
      name: 'page of 100 users',
      goal: 'p50 < 15 ms',
      measured: `p50 ${s2c1.latencyMs.p50.toFixed(1)} ms at 1 connection (p99 ${s2c1.latencyMs.p99.toFixed(1)} ms)`,
      met: s2c1.latencyMs.p50 < 15,
    },
    {
      name: 'search by a declared attribute (#19)',
      goal: 'p50 < 10 ms',
      measured: `p50 ${s5.latencyMs.p50.toFixed(1)} ms at 1 connection (p99 ${s5.latencyMs.p99.toFixed(1)} ms, ${Math.round(s5.rps)} req/s) over ${opts.users.toLocaleString('en-US')} users`,
      met: s5.latencyMs.p50 < 10,
    },
    {
      name: `gateway memory with ${opts.users.toLocaleString('en-US')} users`,
      goal: '< 300 MB RSS while serving',
      measured: `peak ${gateway.peakHwmMb.toFixed(0)} MB (VmHWM)`,
      met: gateway.peakHwmMb < 300,
    },
  ];
  return { ratios, targets };
}

function machine(): BenchResults['machine'] {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGb: totalmem() / 1024 ** 3,
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** latest.json / latest.md for SQLite, latest-postgres.json / .md for PostgreSQL. */
function writeResults(results: BenchResults): void {
  const base = results.store === 'postgres' ? 'latest-postgres' : 'latest';
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, `${base}.md`), toMarkdown(results));
  const { ratios, targets, bulk } = results;
  console.log('');
  console.log(`[${results.store}] scenario 1 ÷ F0 (50 connections): ${pct(ratios.scenario1OverF0AtC50)}   (1 connection: ${pct(ratios.scenario1OverF0AtC1)})`);
  if (ratios.shieldExecuteRatio !== undefined) {
    console.log(`shield ÷ bare execute(): ${ratios.shieldExecuteRatio.toFixed(2)}× (scenario 1), ${ratios.shieldPageExecuteRatio?.toFixed(2)}× (page of 100)`);
  }
  console.log(`p99 (ms): ${Object.entries(ratios.p99Ms).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  for (const i of results.instances ?? []) {
    console.log(`instances ×${i.instances}: ${Math.round(i.rps)} req/s in all, p50 ${i.latencyMs.p50.toFixed(2)} ms, p99 ${i.latencyMs.p99.toFixed(2)} ms`);
  }
  for (const t of targets) console.log(`${t.met ? 'MET    ' : 'NOT MET'}  ${t.name}: ${t.goal} — ${t.measured}`);
  if (bulk.import) console.log(`import: ${Math.round(bulk.import.recordsPerSecond)} records/s (${bulk.import.records} records), peak RSS ${bulk.import.maxRssMb.toFixed(0)} MB`);
  if (bulk.stream) console.log(`stream: ${bulk.stream.records} records at ${Math.round(bulk.stream.recordsPerSecond)} records/s, peak RSS ${bulk.stream.maxRssMb.toFixed(0)} MB`);
  log(`wrote ${join(outDir, `${base}.json`)} and ${base}.md`);
}

/** One store's whole run: tenant, scenarios over HTTP, instances, floors, what-if, profiles, imports. */
async function runStore(store: StoreName): Promise<void> {
  const storeT0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'gateway-bench-'));
  log(`[${store}] temporary directory ${dir}`);
  let db: BenchDatabase | null = null;
  try {
    const prepared = await prepareDatabase(dir, store);
    const { tenant } = prepared;
    db = prepared.db;
    const secret = newSecret();
    const tokens = await signTokens(secret, tenant);
    const skipped: string[] = [];

    // The gateway, one checked request of each scenario, then the measured runs.
    const gw = await startGateway(dir, db, secret);
    let http: LoadResult[];
    let instances: InstancesRow[] | undefined;
    let gateway: BenchResults['gateway'];
    const list = scenarios(db.cursorSource, tenant, tokens);
    const profile = list[1] as Scenario;
    let checked: { profileResponse: string; responseFile: string };
    try {
      const idle = memoryOf(gw.pid);
      log(`gateway pid ${gw.pid} on ${gw.url} (${store}), ${idle?.rssMb.toFixed(0)} MB RSS after start`);
      checked = await checkScenarios(gw.url, tokens, list, dir);
      http = await runHttp(list, gw);
      const end = memoryOf(gw.pid);
      gateway = {
        idleRssMb: idle?.rssMb ?? Number.NaN,
        peakRssMb: Math.max(...http.map((h) => h.serverMaxRssMb)),
        peakHwmMb: end?.hwmMb ?? Math.max(...http.map((h) => h.serverHwmMb)),
      };
    } finally {
      await stopProcess(gw.child);
    }
    if (store === 'postgres' && instanceCounts.length) instances = await runInstances(dir, db, secret, profile, instanceCounts);

    const f0 = await runF0(checked.responseFile, list[0] as Scenario, checked.profileResponse);
    let inProcess: InProcessResult | undefined;
    let whatIf: WhatIfResult | undefined;
    if (store === 'sqlite') {
      const ran = await runInProcess(dir, db.path, secret, tokens, tenant);
      inProcess = ran.result;
      if (opts.whatIf) whatIf = await runWhatIf(dir, db.path, secret, tokens, tenant, ran.pageAfterIds);
    } else {
      skipped.push('F1/F2 floors and statement counts (bench/inprocess.ts opens the SQLite store in the bench process)');
      if (opts.whatIf) skipped.push('what-if (bench/whatif.ts patches the SQLite store in-process)');
      log(`F1/F2 and what-if skipped: they run in-process on the SQLite store`);
    }
    const profiles = opts.profile ? await runProfiles(dir, db, secret, list, store === 'postgres' ? '-postgres' : '') : [];
    const bulk = opts.bulk ? await runBulk(dir, db, storeT0) : {};

    const { ratios, targets } = ratiosAndTargets(http, f0, inProcess, gateway);
    writeResults({
      version: 1,
      at: new Date().toISOString(),
      store,
      ...(skipped.length ? { skipped } : {}),
      machine: machine(),
      source: sourceState(),
      options: { ...opts, store, ...(instances ? { instances: instanceCounts } : {}), freeMemoryGbAtStart: Math.round((freemem() / 1024 ** 3) * 10) / 10 },
      tenant: { users: tenant.users, organizations: tenant.organizations, memberships: tenant.memberships, buildSeconds: tenant.seconds, dbMb: db.mb },
      gateway,
      http,
      ...(instances ? { instances } : {}),
      floors: { f0, ...(inProcess ? { inProcess } : {}) },
      ...(whatIf ? { whatIf } : {}),
      ratios,
      bulk,
      targets,
      ...(profiles.length ? { profiles } : {}),
      seconds: (performance.now() - storeT0) / 1000,
    });
  } finally {
    if (args.keep) log(`kept ${dir}${db?.pgUrl ? ` (and the PostgreSQL schema in ${db.pgUrl})` : ''}`);
    else {
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function main(): Promise<void> {
  for (const store of stores) await runStore(store);
}

async function against(ref: string): Promise<void> {
  const { againstMarkdown, runAgainst } = await import('./against.js');
  const results = await runAgainst(
    {
      ref,
      root,
      outDir,
      users: opts.users,
      rounds: num(args.rounds, quick ? 1 : 3, 'rounds'),
      duration: num(args.duration, quick ? 3 : 5, 'duration'),
      warmup: num(args.warmup, quick ? 1 : 2, 'warmup'),
      importUsers: num(args['import-users'], quick ? 5000 : 50_000, 'import-users'),
      importRounds: opts.bulk ? num(args['import-rounds'], quick ? 1 : 2, 'import-rounds') : 0,
      f1Iterations: opts.f1Iterations,
      keep: args.keep,
    },
    log,
  );
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'against.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = againstMarkdown(results);
  writeFileSync(join(outDir, 'against.md'), md);
  console.log('');
  for (const t of results.targets) console.log(`${t.met ? 'MET    ' : 'NOT MET'}  ${t.name}: ${t.goal} — ${t.measured}`);
  log(`wrote ${join(outDir, 'against.json')} and against.md`);
}

(args.against ? against(args.against) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
