// `npm run bench -- --against REF`: this tree and the commit REF, measured back to back in one run
// on the same data and machine, and their ratios: on a machine shared by several people (2 cores
// here) only figures taken side by side, interleaved, mean anything.
//
// Both gateways are started (each on its own byte-identical copy of the tenant's database), each as
// its own package.json starts it; then every scenario runs R rounds, the two trees alternating
// (A B, B A, A B, …, so drift in the machine's load falls on both), and the report takes each side's
// median. The floors (F0 bare node:http, F1 execute(), F2 raw statement) are measured once, on this
// tree's code and data. The import CLI of each tree runs alternately on fresh files.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { signToken } from '../src/auth/tokens.js';
import type { InProcessConfig, InProcessResult } from './inprocess.js';
import { createImportConnection, type ImportFigures, runImportCli, writeNdjson } from './lib/bulk.js';
import { gatewayEnv } from './lib/gateway-env.js';
import { type LoadResult, runLoad } from './lib/load.js';
import { memoryOf, runMeasured, type Started, startProcess, stopProcess } from './lib/proc.js';
import { LOGIN, loginInput, noErrors, noUserErrors, PAGE, PROFILE, pick, UPDATE } from './lib/queries.js';
import { buildTenant, inProcessSamples, newSecret, type Tenant } from './lib/tenant.js';
import { checkoutTree, currentTree, type Tree } from './lib/tree.js';

export interface AgainstOptions {
  ref: string;
  root: string;
  outDir: string;
  users: number;
  rounds: number;
  duration: number;
  warmup: number;
  importUsers: number;
  importRounds: number;
  f1Iterations: number;
  keep: boolean;
}

interface Side {
  tree: Tree;
  gateway: Started & { url: string };
  startSeconds: number;
  idleRssMb: number;
}

interface ScenarioSpec {
  key: string;
  name: string;
  connections: number;
  token: string;
  body: string | (() => string);
  verify: (body: string) => boolean;
}

interface SideFigures {
  runs: LoadResult[];
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  failures: number;
}

export interface AgainstScenario {
  key: string;
  name: string;
  connections: number;
  ref: SideFigures;
  current: SideFigures;
  /** current ÷ ref of the medians. */
  rpsRatio: number;
  p99Ratio: number;
}

export interface AgainstResults {
  version: 1;
  at: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; loadAverageAtStart: number[] };
  ref: { label: string; commit: string; modules: string };
  current: { label: string; commit: string };
  options: Omit<AgainstOptions, 'root' | 'outDir'>;
  tenant: { users: number; organizations: number; memberships: number };
  /** Scenario 1's answer from both trees, compared byte for byte before any write. */
  profileAnswersIdentical: boolean;
  scenarios: AgainstScenario[];
  memory: { ref: { idleRssMb: number; peakHwmMb: number; startSeconds: number }; current: { idleRssMb: number; peakHwmMb: number; startSeconds: number } };
  f0: LoadResult[];
  inProcess: { ref: InProcessResult | null; current: InProcessResult | null; refError?: string };
  imports: { ref: ImportFigures[]; current: ImportFigures[]; refRecordsPerSecond: number; currentRecordsPerSecond: number; ratio: number };
  targets: { name: string; goal: string; measured: string; met: boolean }[];
  seconds: number;
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const headersFor = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });

async function post(url: string, token: string, body: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: headersFor(token), body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status} from ${url}: ${text.slice(0, 500)}`);
  return text;
}

function scenarioList(tenant: Tenant, tokens: { admin: string; helpDesk: string; login: string }): ScenarioSpec[] {
  const profileBody = JSON.stringify({ query: PROFILE, variables: { id: tenant.profileId } });
  const profileShown = (b: string) => noErrors(b) && b.includes('"fieldPolicies":[');
  // The first page: a cursor is sealed by the gateway that issued it (src/graphql/pagination.ts),
  // and REF's gateway may spell cursors otherwise, so one body cannot name a position in both.
  const pageBody = JSON.stringify({ query: PAGE, variables: { after: null } });
  const updateBody = () =>
    JSON.stringify({ query: UPDATE, variables: { id: pick(tenant.ownIds), metadata: { theme: `t${Math.floor(Math.random() * 1e9)}` } } });
  const loginBody = () => JSON.stringify({ query: LOGIN, variables: { input: loginInput(pick(tenant.google)) } });
  return [
    { key: 'profile-c1', name: '1. profile by id', connections: 1, token: tokens.admin, body: profileBody, verify: profileShown },
    { key: 'profile-c50', name: '1. profile by id', connections: 50, token: tokens.admin, body: profileBody, verify: profileShown },
    { key: 'helpdesk-c50', name: '1h. profile by id (help desk)', connections: 50, token: tokens.helpDesk, body: profileBody, verify: profileShown },
    { key: 'page-c1', name: '2. first page of 100 users', connections: 1, token: tokens.admin, body: pageBody, verify: noErrors },
    { key: 'page-c10', name: '2. first page of 100 users', connections: 10, token: tokens.admin, body: pageBody, verify: noErrors },
    { key: 'update-c10', name: '3. updateUser user_metadata', connections: 10, token: tokens.admin, body: updateBody, verify: noUserErrors },
    { key: 'login-c10', name: '4. recordLogin google-oauth2', connections: 10, token: tokens.login, body: loginBody, verify: noUserErrors },
  ];
}

async function startSide(tree: Tree, dir: string, dbPath: string, secret: string): Promise<Side> {
  const { command, args } = tree.command('start');
  const started = performance.now();
  const gw = await startProcess(command, args, {
    cwd: tree.dir,
    env: gatewayEnv(dir, dbPath, secret),
    ready: /listening on http:\/\/localhost:(\d+)\/graphql/,
  });
  const startSeconds = (performance.now() - started) / 1000;
  return { tree, gateway: { ...gw, url: `http://127.0.0.1:${gw.match[1]}/graphql` }, startSeconds, idleRssMb: Number.NaN };
}

function figures(runs: LoadResult[]): SideFigures {
  return {
    runs,
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.latencyMs.p50)),
    p99: median(runs.map((r) => r.latencyMs.p99)),
    cpuMsPerRequest: median(runs.map((r) => r.serverCpuMsPerRequest)),
    failures: runs.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx + r.failedBodies, 0),
  };
}

async function inProcessOf(tree: Tree, configFile: string): Promise<InProcessResult> {
  if (!existsSync(join(tree.dir, 'bench/inprocess.ts'))) throw new Error('no bench/inprocess.ts in that tree');
  const run = await runMeasured(process.execPath, ['--import', 'tsx', 'bench/inprocess.ts', configFile], { cwd: tree.dir, env: process.env });
  if (run.code !== 0) throw new Error(`bench/inprocess.ts failed in ${tree.label}:\n${run.stderr.slice(-2000)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string) as InProcessResult;
}

export async function runAgainst(opts: AgainstOptions, log: (line: string) => void): Promise<AgainstResults> {
  const t0 = performance.now();
  const loadAverageAtStart = (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100);
  const dir = mkdtempSync(join(tmpdir(), 'gateway-bench-ab-'));
  log(`temporary directory ${dir}; machine load average ${loadAverageAtStart.join(' ')}`);
  const trees: Tree[] = [];
  const sides: Side[] = [];
  try {
    const ref = checkoutTree(opts.root, opts.ref, log);
    trees.push(ref);
    log(`  ${opts.ref} = ${ref.commit.slice(0, 12)}, node_modules ${ref.modules}`);
    const current = currentTree(opts.root, log);
    trees.push(current);

    log(`building a tenant of ${opts.users.toLocaleString('en-US')} users…`);
    const tenantDb = join(dir, 'tenant.db');
    const tenant = await buildTenant(tenantDb, opts.users);
    log(`tenant built in ${tenant.seconds.toFixed(1)} s`);
    // One byte-identical copy per side: the same data, and neither side's writes or migrations touch the other's.
    const dbs = ['ref', 'current'].map((name) => {
      mkdirSync(join(dir, name));
      const path = join(dir, name, 'gateway.db');
      copyFileSync(tenantDb, path);
      return path;
    }) as [string, string];

    const secret = newSecret();
    const sign = (sub: string, scope: string) => signToken(secret, { sub, scope, ttlSeconds: 4 * 3600 });
    const tokens = {
      admin: await sign('bench-admin@clients', 'read:users update:users read:organizations read:connections'),
      helpDesk: await sign(tenant.helpDeskId, ''),
      login: await sign('login-server@clients', 'login:users'),
    };

    for (const [i, tree] of [ref, current].entries()) {
      const side = await startSide(tree, join(dir, i === 0 ? 'ref' : 'current'), dbs[i] as string, secret);
      sides.push(side);
      log(`  ${tree.label}: pid ${side.gateway.pid}, ready in ${side.startSeconds.toFixed(2)} s`);
    }
    // Idle memory once start-up's garbage has settled.
    await new Promise((r) => setTimeout(r, 2000));
    for (const s of sides) s.idleRssMb = memoryOf(s.gateway.pid)?.rssMb ?? Number.NaN;
    const [refSide, curSide] = sides as [Side, Side];

    const list = scenarioList(tenant, tokens);
    const answers: string[] = [];
    for (const s of sides) {
      for (const sc of list) {
        const text = await post(s.gateway.url, sc.token, typeof sc.body === 'string' ? sc.body : sc.body());
        if (!sc.verify(text)) throw new Error(`${s.tree.label}: ${sc.name}: the check request failed: ${text.slice(0, 500)}`);
        if (sc.key === 'profile-c1' && answers.length < sides.indexOf(s) + 1) answers.push(text);
      }
    }
    // The check requests wrote (updateUser, recordLogin) but not to scenario 1's profile.
    const profileAnswersIdentical = answers[0] === answers[1];
    log(`scenario 1's answers of the two trees are ${profileAnswersIdentical ? 'identical, byte for byte' : 'DIFFERENT'}`);

    const scenarios: AgainstScenario[] = [];
    for (const sc of list) {
      const runs: Record<'ref' | 'current', LoadResult[]> = { ref: [], current: [] };
      for (let round = 0; round < opts.rounds; round++) {
        const order = round % 2 === 0 ? [refSide, curSide] : [curSide, refSide];
        for (const side of order) {
          const r = await runLoad({
            name: sc.name,
            url: side.gateway.url,
            connections: sc.connections,
            seconds: opts.duration,
            warmupSeconds: opts.warmup,
            headers: headersFor(sc.token),
            body: sc.body,
            verify: sc.verify,
            serverPid: side.gateway.pid,
          });
          (side === refSide ? runs.ref : runs.current).push(r);
        }
      }
      const a = figures(runs.ref);
      const b = figures(runs.current);
      const row: AgainstScenario = { key: sc.key, name: sc.name, connections: sc.connections, ref: a, current: b, rpsRatio: b.rps / a.rps, p99Ratio: b.p99 / a.p99 };
      scenarios.push(row);
      log(
        `${sc.name}, ${sc.connections} conn.: ${Math.round(a.rps)} → ${Math.round(b.rps)} req/s (${row.rpsRatio.toFixed(2)}×), p99 ${a.p99.toFixed(1)} → ${b.p99.toFixed(1)} ms, CPU ${a.cpuMsPerRequest.toFixed(3)} → ${b.cpuMsPerRequest.toFixed(3)} ms/req, failures ${a.failures}/${b.failures}`,
      );
    }
    const memory = {
      ref: { idleRssMb: refSide.idleRssMb, peakHwmMb: memoryOf(refSide.gateway.pid)?.hwmMb ?? Number.NaN, startSeconds: refSide.startSeconds },
      current: { idleRssMb: curSide.idleRssMb, peakHwmMb: memoryOf(curSide.gateway.pid)?.hwmMb ?? Number.NaN, startSeconds: curSide.startSeconds },
    };
    for (const s of sides.splice(0)) await stopProcess(s.gateway.child);

    // F0 on this tree's answer.
    const responseFile = join(dir, 'profile-response.json');
    writeFileSync(responseFile, answers[1] ?? '');
    const floor = await startProcess(process.execPath, ['--import', 'tsx', 'bench/floor-server.ts', responseFile], {
      cwd: opts.root,
      env: process.env,
      ready: /floor listening on (\d+)/,
    });
    const f0: LoadResult[] = [];
    const profileSpec = list[1] as ScenarioSpec;
    for (const connections of [1, 50]) {
      f0.push(
        await runLoad({
          name: 'F0. bare node:http, same bytes',
          url: `http://127.0.0.1:${floor.match[1]}/graphql`,
          connections,
          seconds: opts.duration,
          warmupSeconds: opts.warmup,
          headers: headersFor(tokens.admin),
          body: profileSpec.body,
          serverPid: floor.pid,
        }),
      );
    }
    await stopProcess(floor.child);
    log(`F0: ${Math.round(f0[0]?.rps ?? 0)} req/s at 1 connection, ${Math.round(f0[1]?.rps ?? 0)} at 50`);

    // F1/F2 and statement counts of each tree (its own bench/inprocess.ts), on this tree's data copy.
    const inConfig: InProcessConfig = {
      dbPath: dbs[1],
      secret,
      adminToken: tokens.admin,
      loginToken: tokens.login,
      ...inProcessSamples(tenant),
      iterations: opts.f1Iterations,
    };
    const configFile = join(dir, 'inprocess.json');
    writeFileSync(configFile, JSON.stringify(inConfig));
    const inProcess: AgainstResults['inProcess'] = { ref: null, current: null };
    try {
      inProcess.current = await inProcessOf(current, configFile);
    } catch (err) {
      log(`F1/F2 of this tree failed: ${(err as Error).message}`);
    }
    try {
      writeFileSync(configFile, JSON.stringify({ ...inConfig, dbPath: dbs[0] }));
      inProcess.ref = await inProcessOf(ref, configFile);
    } catch (err) {
      inProcess.refError = (err as Error).message.slice(0, 500);
    }
    const st = (r: InProcessResult | null) => (r ? `${r.statements.profile.count}/${r.statements.page.count}/${r.statements.update.count}/${r.statements.login.count}` : 'n/a');
    log(`SQL statements (profile/page/update/login): ${st(inProcess.ref)} → ${st(inProcess.current)}`);

    // The import CLI of each tree, alternating, each on a fresh database.
    const imports: AgainstResults['imports'] = { ref: [], current: [], refRecordsPerSecond: Number.NaN, currentRecordsPerSecond: Number.NaN, ratio: Number.NaN };
    if (opts.importUsers > 0 && opts.importRounds > 0) {
      const file = join(dir, 'import.ndjson');
      const fileMb = await writeNdjson(file, opts.importUsers, 'imp');
      for (let round = 0; round < opts.importRounds; round++) {
        const order = round % 2 === 0 ? [ref, current] : [current, ref];
        for (const tree of order) {
          const db = join(dir, `import-${round}-${tree === ref ? 'ref' : 'current'}.db`);
          await createImportConnection(db, 'bench-import');
          const figuresOf = await runImportCli({ cwd: tree.dir, dbPath: db, connection: 'bench-import', file, records: opts.importUsers, fileMb, cli: tree.command('import') });
          (tree === ref ? imports.ref : imports.current).push(figuresOf);
          rmSync(db, { force: true });
          rmSync(`${db}-wal`, { force: true });
          rmSync(`${db}-shm`, { force: true });
        }
      }
      rmSync(file, { force: true });
      imports.refRecordsPerSecond = median(imports.ref.map((i) => i.recordsPerSecond));
      imports.currentRecordsPerSecond = median(imports.current.map((i) => i.recordsPerSecond));
      imports.ratio = imports.currentRecordsPerSecond / imports.refRecordsPerSecond;
      log(`import: ${Math.round(imports.refRecordsPerSecond)} → ${Math.round(imports.currentRecordsPerSecond)} records/s (${imports.ratio.toFixed(2)}×)`);
    }

    const row = (key: string) => scenarios.find((s) => s.key === key) as AgainstScenario;
    const x = (n: number) => `${n.toFixed(2)}×`;
    const rps = (s: AgainstScenario) => `${Math.round(s.ref.rps)} → ${Math.round(s.current.rps)} req/s (${x(s.rpsRatio)})`;
    const shield = inProcess.current?.f1.profile.executeRatio ?? Number.NaN;
    const usersLabel = opts.users.toLocaleString('en-US');
    const targets: AgainstResults['targets'] = [
      {
        name: 'profile by id, 50 connections',
        goal: '≥ 2× req/s, p99 ≤ ½',
        measured: `${rps(row('profile-c50'))}, p99 ${row('profile-c50').ref.p99.toFixed(1)} → ${row('profile-c50').current.p99.toFixed(1)} ms (${x(row('profile-c50').p99Ratio)})`,
        met: row('profile-c50').rpsRatio >= 2 && row('profile-c50').p99Ratio <= 0.5,
      },
      { name: 'page of 100 users, 1 connection', goal: '≥ 3× req/s', measured: rps(row('page-c1')), met: row('page-c1').rpsRatio >= 3 },
      { name: 'updateUser, 10 connections', goal: '≥ 2× req/s', measured: rps(row('update-c10')), met: row('update-c10').rpsRatio >= 2 },
      { name: 'recordLogin, 10 connections', goal: '≥ 2× req/s', measured: rps(row('login-c10')), met: row('login-c10').rpsRatio >= 2 },
      {
        name: 'import',
        goal: '≥ 4× records/s',
        measured: `${Math.round(imports.refRecordsPerSecond)} → ${Math.round(imports.currentRecordsPerSecond)} records/s (${x(imports.ratio)})`,
        met: imports.ratio >= 4,
      },
      { name: 'idle RSS', goal: '≤ 110 MB', measured: `${memory.ref.idleRssMb.toFixed(0)} → ${memory.current.idleRssMb.toFixed(0)} MB`, met: memory.current.idleRssMb <= 110 },
      {
        name: `RSS serving ${usersLabel} users`,
        goal: '≤ 200 MB (VmHWM over the run)',
        measured: `${memory.ref.peakHwmMb.toFixed(0)} → ${memory.current.peakHwmMb.toFixed(0)} MB`,
        met: memory.current.peakHwmMb <= 200,
      },
      {
        name: 'shield overhead (F1, this tree)',
        goal: '≤ 1.15× unshielded execution',
        measured: `${x(shield)}${inProcess.ref ? ` (${opts.ref}: ${x(inProcess.ref.f1.profile.executeRatio)})` : ''}`,
        met: shield <= 1.15,
      },
    ];

    const cpu = cpus();
    return {
      version: 1,
      at: new Date().toISOString(),
      machine: { cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? 'unknown', memoryGb: totalmem() / 1024 ** 3, node: process.versions.node, loadAverageAtStart },
      ref: { label: ref.label, commit: ref.commit, modules: ref.modules },
      current: { label: current.label, commit: current.commit },
      options: { ref: opts.ref, users: opts.users, rounds: opts.rounds, duration: opts.duration, warmup: opts.warmup, importUsers: opts.importUsers, importRounds: opts.importRounds, f1Iterations: opts.f1Iterations, keep: opts.keep },
      tenant: { users: tenant.users, organizations: tenant.organizations, memberships: tenant.memberships },
      profileAnswersIdentical,
      scenarios,
      memory,
      f0,
      inProcess,
      imports,
      targets,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    for (const s of sides) await stopProcess(s.gateway.child);
    if (opts.keep) log(`kept ${dir} and ${trees.map((t) => t.dir).join(', ')}`);
    else {
      for (const t of trees) t.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

export function againstMarkdown(r: AgainstResults): string {
  const out: string[] = [];
  const refName = `${r.ref.label} (${r.ref.commit.slice(0, 7)})`;
  const curName = `this tree (${r.current.commit.slice(0, 7)})`;
  out.push(`# ${curName} against ${refName}`);
  out.push('');
  out.push(
    `${r.at} · ${r.machine.cpus} × ${r.machine.cpuModel} · Node ${r.machine.node} · load average at start ${r.machine.loadAverageAtStart.join(' ')} · ` +
      `${int(r.tenant.users)} users, ${r.tenant.organizations} organizations, ${int(r.tenant.memberships)} memberships · ` +
      `${r.options.rounds} interleaved rounds of ${r.options.warmup} s warm-up + ${r.options.duration} s per side and scenario; medians · total ${f(r.seconds / 60)} min. ` +
      `Both gateways and the load generator share the machine (and so do other people's processes).`,
  );
  out.push('');
  out.push(`Scenario 1's answer is ${r.profileAnswersIdentical ? 'byte-identical' : '**different**'} between the two trees.`);
  out.push('');
  out.push('## Targets (ratios this tree ÷ ref)');
  out.push('');
  out.push('| target | goal | measured | met |');
  out.push('|---|---|---|---|');
  for (const t of r.targets) out.push(`| ${t.name} | ${t.goal} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  out.push('');
  out.push('## HTTP, medians of the interleaved rounds');
  out.push('');
  out.push('| scenario | conn. | ref req/s | req/s | ratio | ref p50 / p99 ms | p50 / p99 ms | p99 ratio | ref CPU ms/req | CPU ms/req | failures ref / this |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of r.scenarios) {
    out.push(
      `| ${s.name} | ${s.connections} | ${int(s.ref.rps)} | ${int(s.current.rps)} | ${f(s.rpsRatio, 2)}× | ${f(s.ref.p50, 2)} / ${f(s.ref.p99, 1)} | ${f(s.current.p50, 2)} / ${f(s.current.p99, 1)} | ${f(s.p99Ratio, 2)}× | ${f(s.ref.cpuMsPerRequest, 3)} | ${f(s.current.cpuMsPerRequest, 3)} | ${s.ref.failures} / ${s.current.failures} |`,
    );
  }
  out.push('');
  out.push('Every round (req/s, ref | this tree):');
  out.push('');
  for (const s of r.scenarios) {
    out.push(`- ${s.name}, ${s.connections} conn.: ${s.ref.runs.map((x) => int(x.rps)).join(', ')} | ${s.current.runs.map((x) => int(x.rps)).join(', ')}`);
  }
  out.push('');
  const m = r.memory;
  out.push(
    `Memory: idle RSS ${f(m.ref.idleRssMb, 0)} → ${f(m.current.idleRssMb, 0)} MB; peak (VmHWM) over the run ${f(m.ref.peakHwmMb, 0)} → ${f(m.current.peakHwmMb, 0)} MB; ready after ${f(m.ref.startSeconds, 2)} → ${f(m.current.startSeconds, 2)} s.`,
  );
  out.push('');
  out.push('## Floors (this tree)');
  out.push('');
  for (const l of r.f0) out.push(`- F0 bare node:http, same bytes, ${l.connections} conn.: ${int(l.rps)} req/s, p99 ${f(l.latencyMs.p99, 2)} ms`);
  const ip = (x: InProcessResult | null, name: string) => {
    if (!x) return;
    out.push(
      `- ${name}: F1 execute() of scenario 1 ${f(x.f1.profile.bare.executeUs, 0)} µs bare, ${f(x.f1.profile.shield.executeUs, 0)} µs with shield (${f(x.f1.profile.executeRatio, 2)}×); page of 100 ${f(x.f1.page.bare.executeUs / 1000, 2)} → ${f(x.f1.page.shield.executeUs / 1000, 2)} ms; F2 raw statement ${f(x.f2.rawUserByIdUs, 2)} µs; SQL statements profile / page / updateUser / recordLogin ${x.statements.profile.count} / ${x.statements.page.count} / ${x.statements.update.count} / ${x.statements.login.count}`,
    );
  };
  ip(r.inProcess.current, 'this tree');
  ip(r.inProcess.ref, r.ref.label);
  if (r.inProcess.refError) out.push(`- ${r.ref.label}: in-process figures unavailable (${r.inProcess.refError.split('\n')[0]})`);
  out.push('');
  if (r.imports.ref.length) {
    out.push('## Import CLI (alternating, fresh database each run)');
    out.push('');
    out.push('| tree | records | records/s (each run) | median | peak RSS MB |');
    out.push('|---|---|---|---|---|');
    out.push(`| ${r.ref.label} | ${int(r.options.importUsers)} | ${r.imports.ref.map((i) => int(i.recordsPerSecond)).join(', ')} | ${int(r.imports.refRecordsPerSecond)} | ${f(Math.max(...r.imports.ref.map((i) => i.maxRssMb)), 0)} |`);
    out.push(`| this tree | ${int(r.options.importUsers)} | ${r.imports.current.map((i) => int(i.recordsPerSecond)).join(', ')} | ${int(r.imports.currentRecordsPerSecond)} | ${f(Math.max(...r.imports.current.map((i) => i.maxRssMb)), 0)} |`);
    out.push('');
  }
  return out.join('\n');
}
