// `npm start` as a user runs it (the compiled JavaScript its prestart builds): a new database gets
// the demo tenant, the printed token works, and SIGTERM shuts down cleanly.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLeaks } from '../helpers/log-scan.js';

let child: ChildProcess;
let output = '';
let dir: string;
let url: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: `file:${join(dir, 'gateway.db')}`, PORT: '0', NODE_ENV: 'development' };
  delete env.AUTH_JWT_SECRET;
  delete env.SEED_DEMO;
  delete env.LEGACY_DB_PATH;
  execFileSync('npm', ['run', '-s', 'build'], { stdio: 'ignore' });
  child = spawn(process.execPath, ['dist/src/cli/start.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => {
    output += String(d);
  });
  child.stderr?.on('data', (d) => {
    output += String(d);
  });
  const started = Date.now();
  while (!/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/m.test(output)) {
    if (Date.now() - started > 45_000 || child.exitCode !== null) throw new Error(`gateway did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  url = /listening on (http:\/\/\S+)/.exec(output)?.[1] as string;
  token = /^(eyJ[\w-]+\.[\w-]+\.[\w-]+)$/m.exec(output)?.[1] as string;
}, 60_000);

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('serves the demo tenant to the printed tenant-admin token', async () => {
    expect(output).toMatch(/Loaded the demo tenant: 8 connections, 24 users, 2 organizations/);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query:
          '{ users(first: 100) { totalCount edges { node { id email connection { name kind } organizations { organization { name } roles } } } } connections { name kind syncUserRootAttributes } }',
      }),
    });
    const body = (await res.json()) as {
      data: {
        users: { totalCount: number; edges: { node: { id: string; connection: { kind: string }; organizations: { organization: { name: string }; roles: string[] }[] } }[] };
        connections: { name: string; kind: string }[];
      };
    };
    expect(res.status).toBe(200);
    expect(body.data.users.totalCount).toBe(24);
    const kinds = new Set(body.data.users.edges.map((e) => e.node.connection.kind));
    expect(kinds).toEqual(new Set(['DATABASE', 'SOCIAL', 'ENTERPRISE', 'PASSWORDLESS']));
    const helpdesk = body.data.users.edges.find((e) => e.node.organizations.some((o) => o.roles.includes('ADMIN')));
    expect(helpdesk).toBeDefined();
    expect(body.data.connections.map((c) => c.name).sort()).toEqual(
      ['Username-Password-Authentication', 'acme-saml', 'email', 'github', 'google-oauth2', 'legacy-db', 'legacy-import', 'sms'].sort(),
    );
  });

  it('answers health and readiness checks', async () => {
    const base = url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('serves the playground page from the same origin, with no CDN', async () => {
    const res = await fetch(url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/i);
    expect(html).not.toMatch(/<link[^>]+href=["']https?:/i);
  });

  it('npm run token makes tokens the running gateway accepts (the dev secret in the data folder)', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: `file:${join(dir, 'gateway.db')}` };
    delete env.AUTH_JWT_SECRET;
    const users = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ users(filter: { email: "alice@acme.example" }) { edges { node { id } } } }' }),
    });
    const aliceId = ((await users.json()) as { data: { users: { edges: { node: { id: string } }[] } } }).data.users.edges[0]?.node
      .id as string;
    const made = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/token.ts', '--sub', aliceId], { env }).toString().trim();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${made}` },
      body: JSON.stringify({ query: '{ me { id email appMetadata } }' }),
    });
    expect(await res.json()).toEqual({ data: { me: { id: aliceId, email: 'alice@acme.example', appMetadata: { plan: 'pro' } } } });
  });

  it('shuts down on SIGTERM with exit code 0', async () => {
    // 'close': the exit code, after the last of its output has been read.
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGTERM: finishing in-flight requests/);
    expect(output).toMatch(/"event":"stopped"/);
  });

  it('logs JSON lines (beside the banner a person reads) with nothing personal or secret in them', () => {
    const json = output.split('\n').filter((l) => l.startsWith('{'));
    expect(json.map((l) => (JSON.parse(l) as { event?: string }).event)).toEqual(expect.arrayContaining(['migrated', 'started', 'listening', 'request', 'signal', 'stopped']));
    expect(findLeaks(json.join('\n'))).toEqual([]);
  });
});
