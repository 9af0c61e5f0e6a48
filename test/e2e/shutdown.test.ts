// A shutdown that always ends: the gateway as its own process (`npm start`'s entry), under load,
// with a custom-database script that never answers and kept-alive sockets. SIGTERM turns
// readiness 503 at once, in-flight requests finish, and the process is gone within
// SHUTDOWN_TIMEOUT_MS (plus the bounded close steps); a second signal exits at once.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens.js';
import { findLeaks } from '../helpers/log-scan.js';

const DEADLINE_MS = 1500;
/** The close steps after the deadline get a bounded grace too; the process start and exit add a little. */
const ALLOWED_MS = DEADLINE_MS + 3000;

const HANGING_SCRIPT = `
export async function login() { return new Promise(() => {}); }
export async function getUser() { return null; }
`;

interface Started {
  child: ChildProcess;
  url: string;
  managementPort: number;
  admin: string;
  login: string;
  output: () => string;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-shutdown-'));
  dirs.push(dir);
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  writeFileSync(join(scripts, 'hang.mjs'), HANGING_SCRIPT);
  const secret = randomBytes(32).toString('base64url');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    DATABASE_URL: `file:${join(dir, 'gateway.db')}`,
    PORT: '0',
    METRICS_PORT: '0',
    SEED_DEMO: '0',
    AUTH_JWT_SECRET: secret,
    CUSTOM_DB_SCRIPTS_DIR: scripts,
    CUSTOM_DB_SCRIPT_TIMEOUT_MS: '10000',
    SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS),
    OUTBOX_FILE: join(dir, 'outbox.log'),
  };
  delete env.AUTH_ISSUER;
  delete env.AUTH_AUDIENCE;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/start.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const began = Date.now();
  let started: { port: number; managementPort: number } | undefined;
  while (!started) {
    if (Date.now() - began > 45_000 || child.exitCode !== null) throw new Error(`gateway did not start:\n${output}`);
    const line = output.split('\n').find((l) => l.includes('"event":"started"'));
    if (line) started = JSON.parse(line) as { port: number; managementPort: number };
    else await new Promise((r) => setTimeout(r, 100));
  }
  const sign = (sub: string, scope: string) => signToken(secret, { sub, scope, ttlSeconds: 600, issuer: null, audience: null });
  return {
    child,
    url: `http://127.0.0.1:${started.port}/graphql`,
    managementPort: started.managementPort,
    admin: await sign('admin', 'read:users update:users create:connections read:connections'),
    login: await sign('login-server', 'login:users'),
    output: () => output,
    closed,
  };
}

async function gql(s: Started, token: string, query: string, variables?: unknown): Promise<{ status: number; body: { data?: Record<string, unknown>; errors?: unknown[] } }> {
  const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown> } };
}

/** A login through the script that never answers: the request stays in flight. */
function hangingLogin(s: Started): Promise<unknown> {
  return fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.login}` },
    body: JSON.stringify({ query: 'mutation { authenticate(input: { connection: "hanging-db", identifier: "someone", password: "whatever-123" }) { userErrors { code } } }' }),
  }).then(
    (res) => res.status,
    () => 'dropped',
  );
}

async function createHangingConnection(s: Started): Promise<void> {
  const res = await gql(s, s.admin, 'mutation { createConnection(input: { name: "hanging-db", kind: DATABASE, customDatabase: true, customScripts: "hang" }) { connection { id } userErrors { code message } } }');
  expect(res.body.errors).toBeUndefined();
  expect((res.body.data?.createConnection as { userErrors: unknown[] }).userErrors).toEqual([]);
}

/** Opens a kept-alive socket and leaves it idle. */
async function idleKeepAlive(url: string): Promise<Agent> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  await new Promise<void>((resolve, reject) => {
    const req = request(url.replace('/graphql', '/healthz'), { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
  return agent;
}

describe('SIGTERM', () => {
  it('under load, with a script that never answers and kept-alive sockets: readiness 503 at once, in-flight requests answered, gone within the deadline', async () => {
    const s = await start();
    await createHangingConnection(s);
    const agent = await idleKeepAlive(s.url);

    // Load: 8 clients in a loop of reads, until the gateway stops taking connections.
    let stop = false;
    const answered: number[] = [];
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) {
        try {
          const res = await gql(s, s.admin, '{ connections { name } users(first: 5) { totalCount } }');
          answered.push(res.status);
        } catch {
          return; // refused: the gateway no longer accepts connections
        }
      }
    });
    await new Promise((r) => setTimeout(r, 500));
    const hanging = [hangingLogin(s), hangingLogin(s)];
    await new Promise((r) => setTimeout(r, 300));

    const signalled = Date.now();
    s.child.kill('SIGTERM');
    // Readiness turns 503 as soon as shutdown begins (the management port stays up while it drains).
    let ready = 0;
    for (let i = 0; i < 20 && ready !== 503; i++) {
      ready = await fetch(`http://127.0.0.1:${s.managementPort}/readyz`).then((r) => r.status, () => 0);
      if (ready !== 503) await new Promise((r) => setTimeout(r, 25));
    }
    expect(ready).toBe(503);

    const { code, at } = await s.closed;
    stop = true;
    await Promise.all(load);
    agent.destroy();
    expect(at - signalled).toBeLessThan(ALLOWED_MS);
    // The hanging logins were cut at the deadline, so the shutdown reports it was not clean.
    expect(code).toBe(1);
    expect(await Promise.all(hanging)).toEqual(['dropped', 'dropped']);
    // Every read that got an answer got a whole one.
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((st) => st === 200)).toBe(true);
    const out = s.output();
    expect(out).toMatch(/"event":"shutdown_deadline"/);
    expect(out).toMatch(/"event":"stopped","drained":false/);
    expect(findLeaks(out.split('\n').filter((l) => l.startsWith('{')).join('\n'))).toEqual([]);
  }, 90_000);

  it('with nothing hanging, in-flight requests finish and it exits 0; a second signal exits at once', async () => {
    const s = await start();
    // Requests in flight at the signal still get their answers.
    const inFlight = Array.from({ length: 10 }, () => gql(s, s.admin, '{ users(first: 100) { totalCount } }').then((r) => r.status, () => 'refused'));
    s.child.kill('SIGTERM');
    const { code } = await s.closed;
    expect(code).toBe(0);
    const statuses = await Promise.all(inFlight);
    expect(statuses.filter((st) => st !== 'refused').every((st) => st === 200)).toBe(true);

    const t = await start();
    await createHangingConnection(t);
    const hanging = hangingLogin(t);
    await new Promise((r) => setTimeout(r, 300));
    t.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const second = Date.now();
    t.child.kill('SIGTERM');
    const closed = await t.closed;
    expect(closed.code).toBe(143);
    expect(closed.at - second).toBeLessThan(DEADLINE_MS);
    expect(await hanging).toBe('dropped');
  }, 120_000);
});
