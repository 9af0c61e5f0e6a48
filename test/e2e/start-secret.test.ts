// `npm start` with a configured signing secret or key set prints no token (an all-scope token
// signed with a real secret would be a credential in a log); with AUTH_JWT_SECRET it prints the
// command that makes one, and that command, run as printed, gives a token the gateway accepts.
// (With the dev secret it makes itself it prints a token: test/e2e/start.test.ts.)
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;
/** What `npm start` prints last once it serves (outside production, with the playground on). */
const LAST_LINE = /^Playground: open .* in a browser\.$/m;

interface Started {
  child: ChildProcess;
  output: () => string;
  url: string;
  env: NodeJS.ProcessEnv;
}

const dirs: string[] = [];
const children: ChildProcess[] = [];

async function start(extra: NodeJS.ProcessEnv, until: RegExp): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-start-secret-'));
  dirs.push(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: `file:${join(dir, 'gateway.db')}`, PORT: '0', NODE_ENV: 'development', ...extra };
  delete env.SEED_DEMO;
  delete env.LEGACY_DB_PATH;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/start.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const started = Date.now();
  while (!until.test(output)) {
    if (Date.now() - started > 45_000 || child.exitCode !== null) throw new Error(`gateway did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /listening on (http:\/\/\S+)/.exec(output)?.[1] ?? '';
  return { child, output: () => output, url, env };
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm start with a configured secret', () => {
  it('AUTH_JWT_SECRET: no token in the output, and the printed command makes one the gateway accepts', async () => {
    const gw = await start({ AUTH_JWT_SECRET: randomBytes(32).toString('base64url') }, LAST_LINE);
    expect(gw.output()).not.toMatch(JWT);
    expect(gw.output()).toMatch(/Tokens are signed with AUTH_JWT_SECRET, so none is printed here/);

    const command = /^\s+(npm run token -- .*)$/m.exec(gw.output())?.[1] ?? '';
    const { stdout } = await promisify(execFile)('sh', ['-c', command], { env: gw.env });
    const token = JWT.exec(stdout)?.[0] ?? '';
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ users(first: 1) { totalCount } connections { name } }' }),
    });
    const body = (await res.json()) as { data?: { users: { totalCount: number }; connections: unknown[] } };
    expect(body.data?.users.totalCount).toBe(24);
    expect(body.data?.connections.length).toBe(8);
  }, 90_000);

  it('AUTH_JWKS_URL: no token, and where tokens come from', async () => {
    const gw = await start({ AUTH_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json', AUTH_JWT_SECRET: '' }, LAST_LINE);
    expect(gw.output()).not.toMatch(JWT);
    expect(gw.output()).toMatch(/Tokens come from the identity provider whose keys are at AUTH_JWKS_URL/);
  }, 60_000);
});
