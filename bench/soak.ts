// `npm run bench -- --soak` (or `npm run bench:soak`): the guard under load (issue #12). Builds a
// tenant on a temporary SQLite file, starts the gateway as its own process (production), then:
//   1. the server time to refuse each attack (sequential requests on loopback, idle gateway);
//   2. 60 s of mixed traffic at 100 connections (profile reads, pages, updates, logins);
//   3. the same 60 s with an attacker sending the attacks of the issue alongside.
// Goals: no 5xx, no restart, the normal traffic's p99 with the attacker at most 2× without, RSS
// bounded, each refusal under 5 ms. Writes bench/results/soak.json and soak.md. Loopback only;
// every loop is bounded by the duration or a count.
//
//   npm run bench:soak -- [--users N] [--duration S] [--connections N] [--attackers N] [--out DIR]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import { signToken } from '../src/auth/tokens.js';
import { PROJECT_ROOT } from '../src/config.js';
import { cpuSecondsOf, memoryOf, startProcess, stopProcess } from './lib/proc.js';
import { LOGIN, loginInput, PAGE, PROFILE, pick, UPDATE } from './lib/queries.js';
import { buildTenant, newSecret } from './lib/tenant.js';

export async function runSoak(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: args } = parseArgs({
    args: argv.filter((a) => a !== '--soak'),
    options: {
      users: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      attackers: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const users = Number(args.users ?? 5000);
  const seconds = Number(args.duration ?? 60);
  const connections = Number(args.connections ?? 100);
  const attackers = Number(args.attackers ?? 10);
  const root = PROJECT_ROOT;
  const outDir = resolve(args.out ?? join(root, 'bench/results'));
  const t0 = performance.now();
  const log = (line: string) => console.log(`[soak ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

  const dir = mkdtempSync(join(tmpdir(), 'gateway-soak-'));
  const dbPath = join(dir, 'gateway.db');
  const secret = newSecret();
  log(`building a tenant of ${users} users`);
  const tenant = await buildTenant(dbPath, users);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(AUTH_|SMTP_|MAIL_|PLAYGROUND|SEED_|CUSTOM_DB_|OUTBOX_|LEGACY_|DATABASE_URL|PORT$|LIMIT_|RATE_LIMIT|REDIS_|TRUSTED_)/.test(key)) delete env[key];
  }
  const started = await startProcess(process.execPath, ['--import', 'tsx', 'src/cli/start.ts'], {
    cwd: root,
    env: {
      ...env,
      NODE_ENV: 'production',
      DATABASE_URL: `file:${dbPath}`,
      SEED_DEMO: '0',
      PORT: '0',
      AUTH_JWT_SECRET: secret,
      OUTBOX_FILE: join(dir, 'outbox.log'),
      LEGACY_DB_PATH: join(dir, 'legacy.db'),
      // The normal traffic is a few callers at full speed: their budgets must not be what is
      // measured. The attacker's help-desk token keeps the default budget.
      RATE_LIMIT_END_USER_PER_MINUTE: '1000000000',
      RATE_LIMIT_TENANT_ADMIN_PER_MINUTE: '1000000000',
      RATE_LIMIT_LOGIN_SERVER_PER_MINUTE: '1000000000',
    },
    ready: /listening on http:\/\/localhost:(\d+)\/graphql/,
  });
  const url = `http://127.0.0.1:${started.match[1]}/graphql`;
  const pid = started.pid;
  const token = (sub: string, scope = '') => signToken(secret, { sub, scope, orgId: null, ttlSeconds: 7200, issuer: null, audience: null });
  const admin = await token('soak-admin', 'read:users update:users');
  const loginServer = await token('soak-login-server', 'login:users');
  const helpDesk = await token(tenant.helpDeskId);
  const selves = await Promise.all(tenant.ownIds.slice(0, 200).map(async (id) => ({ id, token: await token(id) })));

  // The normal traffic: 40% profile reads (the user's own), 10% pages of 100 users (an
  // administrator), 25% metadata updates (the user's own), 25% logins reported by the login server.
  const normal = (): { body: string; auth: string } => {
    const r = Math.random();
    if (r < 0.4) {
      const self = pick(selves);
      return { body: JSON.stringify({ query: PROFILE, variables: { id: self.id } }), auth: self.token };
    }
    if (r < 0.5) return { body: JSON.stringify({ query: PAGE, variables: {} }), auth: admin };
    if (r < 0.75) {
      const self = pick(selves);
      return { body: JSON.stringify({ query: UPDATE, variables: { id: self.id, metadata: { soak: Math.random() } } }), auth: self.token };
    }
    return { body: JSON.stringify({ query: LOGIN, variables: { input: loginInput(pick(tenant.google)) } }), auth: loginServer };
  };

  // The attacks of issue #12, each with the code it must be refused with.
  const aliases = (n: number, sel: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${sel}`).join(' ')} }`;
  let nested = 'id email';
  for (let i = 0; i < 8; i++) nested = `id organizations { organization { members(first: 100) { edges { node { user { ${nested} } } } } } }`;
  const selfToken = selves[0]!.token;
  const attacks: { name: string; code: string; body: string; auth: string }[] = [
    { name: 'members nested 8 levels (help desk)', code: 'OPERATION_LIMIT_EXCEEDED', auth: helpDesk, body: JSON.stringify({ query: `{ organizations { members(first: 100) { edges { node { user { ${nested} } } } } } }` }) },
    { name: '5,000 aliases of me { fieldPolicies }', code: 'OPERATION_LIMIT_EXCEEDED', auth: selfToken, body: JSON.stringify({ query: aliases(5000, 'me { fieldPolicies { field editable reason message } }') }) },
    { name: '300 aliases of users(first: 100)', code: 'OPERATION_LIMIT_EXCEEDED', auth: admin, body: JSON.stringify({ query: aliases(300, 'users(first: 100) { edges { node { id email } } }') }) },
    { name: '2 MB document of repeated fields', code: 'OPERATION_LIMIT_EXCEEDED', auth: selfToken, body: JSON.stringify({ query: `{ me { ${'id '.repeat(700_000)} } }` }) },
    {
      name: 'members(first: $n) twice, n = 100 (cost)',
      code: 'OPERATION_LIMIT_EXCEEDED',
      auth: helpDesk,
      body: JSON.stringify({
        query: 'query ($n: Int) { a: organizations { members(first: $n) { edges { node { user { id } } } } } b: organizations { members(first: $n) { edges { node { user { id } } } } } }',
        variables: { n: 100 },
      }),
    },
    {
      name: 'password guessing on one identifier (after 10 failures)',
      code: 'TOO_MANY_ATTEMPTS',
      auth: loginServer,
      body: JSON.stringify({
        query: 'mutation ($input: AuthenticateInput!) { authenticate(input: $input) { user { id } userErrors { code } } }',
        variables: { input: { connection: 'Username-Password-Authentication', identifier: 'victim@soak.example', password: 'guess', ip: '203.0.113.66' } },
      }),
    },
  ];

  async function send(body: string, auth: string) {
    const start = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` }, body });
    const text = await res.text();
    return { ms: performance.now() - start, status: res.status, text };
  }

  // 1. Refusal times, idle gateway: 10 warm-up failures start the login block first.
  for (let i = 0; i < 10; i++) await send(attacks[5]!.body, loginServer);
  // The floor: the cheapest answer there is, measured the same way (on a busy machine most of a
  // request's wall time is waiting for a core); the server's CPU time per request is read from /proc.
  const floor = { name: 'floor: { __typename } (not an attack)', code: '', body: JSON.stringify({ query: '{ __typename }' }), auth: selfToken };
  const refusals: { name: string; code: string; refusedWith: string; status: number; medianMs: number; p95Ms: number; serverCpuMs: number }[] = [];
  for (const attack of [floor, ...attacks]) {
    const times: number[] = [];
    let last = { status: 0, text: '' };
    const cpuBefore = cpuSecondsOf(pid);
    for (let i = 0; i < 30; i++) {
      const r = await send(attack.body, attack.auth);
      times.push(r.ms);
      last = r;
    }
    const serverCpuMs = ((cpuSecondsOf(pid) - cpuBefore) * 1000) / 30;
    times.sort((a, b) => a - b);
    const refusedWith = attack.code === '' ? '' : (/"code":"([A-Z_]+)"/.exec(last.text)?.[1] ?? `none (HTTP ${last.status})`);
    refusals.push({ name: attack.name, code: attack.code, refusedWith, status: last.status, medianMs: times[15]!, p95Ms: times[28]!, serverCpuMs });
    log(`refusal: ${attack.name}: ${refusedWith} (HTTP ${last.status}), median ${times[15]!.toFixed(2)} ms, server CPU ${serverCpuMs.toFixed(2)} ms`);
  }

  interface Run {
    name: string;
    requests: number;
    rps: number;
    p50: number;
    p99: number;
    max: number;
    status: Record<string, number>;
    errors: number;
    timeouts: number;
    maxRssMb: number;
    endRssMb: number;
    attacker?: { requests: number; status: Record<string, number>; p50: number; p99: number; errors: number; timeouts: number };
  }

  function cannon(conns: number, next: () => { body: string; auth: string }, times: number[], status: Record<string, number>) {
    const instance = autocannon({
      url,
      connections: conns,
      duration: seconds,
      timeout: 20,
      headers: { 'content-type': 'application/json' },
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const { body, auth } = next();
            return { ...req, body, headers: { ...req.headers, 'content-type': 'application/json', authorization: `Bearer ${auth}` } };
          },
        },
      ],
    });
    instance.on('response', (_c: unknown, code: number, _bytes: number, ms: number) => {
      times.push(ms);
      status[code] = (status[code] ?? 0) + 1;
    });
    return instance as unknown as Promise<Result>;
  }

  const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

  async function run(name: string, withAttacker: boolean): Promise<Run> {
    log(`${name}: ${seconds} s at ${connections} connections${withAttacker ? ` + ${attackers} attacker connections` : ''}`);
    let maxRss = 0;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, memoryOf(pid)?.rssMb ?? 0);
    }, 500);
    const times: number[] = [];
    const status: Record<string, number> = {};
    const aTimes: number[] = [];
    const aStatus: Record<string, number> = {};
    let i = 0;
    const [r, a] = await Promise.all([
      cannon(connections, normal, times, status),
      withAttacker ? cannon(attackers, () => attacks[i++ % attacks.length]!, aTimes, aStatus) : Promise.resolve(null),
    ]);
    clearInterval(sampler);
    times.sort((a, b) => a - b);
    aTimes.sort((a, b) => a - b);
    const requests = times.length;
    return {
      name,
      requests,
      rps: requests / seconds,
      p50: pct(times, 50),
      p99: pct(times, 99),
      max: times.at(-1) ?? Number.NaN,
      status,
      errors: r.errors,
      timeouts: r.timeouts,
      maxRssMb: maxRss,
      endRssMb: memoryOf(pid)?.rssMb ?? Number.NaN,
      ...(a ? { attacker: { requests: aTimes.length, status: aStatus, p50: pct(aTimes, 50), p99: pct(aTimes, 99), errors: a.errors, timeouts: a.timeouts } } : {}),
    };
  }

  const baseline = await run('without attacker', false);
  const attacked = await run('with attacker', true);
  const alive = memoryOf(pid) !== null && started.child.exitCode === null;
  await stopProcess(started.child);
  rmSync(dir, { recursive: true, force: true });

  const fivexx = (run: Run) => Object.entries(run.status).filter(([code]) => code.startsWith('5')).reduce((n, [, c]) => n + c, 0) + Object.entries(run.attacker?.status ?? {}).filter(([code]) => code.startsWith('5')).reduce((n, [, c]) => n + c, 0);
  const goals = [
    { goal: 'no 5xx answers', met: fivexx(baseline) + fivexx(attacked) === 0, value: `${fivexx(baseline) + fivexx(attacked)}` },
    // A request that got no answer in 20 s is left out of the percentiles: it must count against the run.
    {
      goal: 'every request answered within 20 s',
      met: baseline.timeouts + attacked.timeouts + (attacked.attacker?.timeouts ?? 0) === 0,
      value: `${baseline.timeouts} + ${attacked.timeouts} normal, ${attacked.attacker?.timeouts ?? 0} attacker timeouts`,
    },
    { goal: 'no process restart', met: alive, value: alive ? 'same process' : 'the gateway exited' },
    { goal: "normal traffic's p99 with the attacker ≤ 2× without", met: attacked.p99 <= 2 * baseline.p99, value: `${(attacked.p99 / baseline.p99).toFixed(2)}×` },
    { goal: 'RSS bounded (peak with the attacker ≤ 1.5× without)', met: attacked.maxRssMb <= 1.5 * baseline.maxRssMb, value: `${baseline.maxRssMb.toFixed(0)} → ${attacked.maxRssMb.toFixed(0)} MB` },
    { goal: 'every attack refused with its code', met: refusals.every((r) => r.refusedWith === r.code), value: refusals.filter((r) => r.refusedWith !== r.code).map((r) => r.name).join(', ') || 'all' },
    {
      goal: 'each refusal under 5 ms of server CPU',
      met: refusals.every((r) => r.serverCpuMs < 5),
      value: refusals.filter((r) => r.serverCpuMs >= 5).map((r) => `${r.name}: ${r.serverCpuMs.toFixed(1)} ms`).join('; ') || 'all',
    },
    {
      goal: 'each refusal under 5 ms of wall time (median, sequential)',
      met: refusals.every((r) => r.medianMs < 5),
      value: refusals.filter((r) => r.medianMs >= 5).map((r) => `${r.name}: ${r.medianMs.toFixed(1)} ms`).join('; ') || 'all',
    },
  ];
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? '?', loadAverageAtEnd: (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ') };
  const results = { date: new Date().toISOString(), users, seconds, connections, attackers, machine, refusals, baseline, attacked, goals };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'soak.json'), `${JSON.stringify(results, null, 2)}\n`);
  const fmt = (n: number) => n.toFixed(1);
  const statusText = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${k}: ${v}`).join(', ');
  const md = [
    `# Soak and attack (${results.date})`,
    '',
    `${users} users, ${seconds} s per run, ${connections} connections of normal traffic (40% profile reads, 10% pages of 100, 25% updates, 25% logins), ${attackers} attacker connections cycling the attacks. Machine: ${machine.cpus} cores (${machine.model}), load average at the end ${machine.loadAverageAtEnd}: a shared, busy machine, so absolute figures are low and noisy.`,
    '',
    '| run | requests/s | p50 ms | p99 ms | max ms | statuses | peak RSS MB |',
    '|---|---|---|---|---|---|---|',
    ...[baseline, attacked].map((r) => `| ${r.name} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${statusText(r.status)} | ${fmt(r.maxRssMb)} |`),
    ...(attacked.attacker ? [`| (the attacker) | ${fmt(attacked.attacker.requests / seconds)} | ${fmt(attacked.attacker.p50)} | ${fmt(attacked.attacker.p99)} | | ${statusText(attacked.attacker.status)} | |`] : []),
    '',
    '| attack | refused with | HTTP | wall median ms | wall p95 ms | server CPU ms |',
    '|---|---|---|---|---|---|',
    ...refusals.map((r) => `| ${r.name} | ${r.refusedWith} | ${r.status} | ${r.medianMs.toFixed(2)} | ${r.p95Ms.toFixed(2)} | ${r.serverCpuMs.toFixed(2)} |`),
    '',
    '| goal | met | value |',
    '|---|---|---|',
    ...goals.map((g) => `| ${g.goal} | ${g.met ? 'yes' : '**no**'} | ${g.value} |`),
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'soak.md'), md);
  console.log(`\n${md}`);
  log(`wrote ${join(outDir, 'soak.json')} and soak.md`);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/soak.ts')) {
  await runSoak();
}
