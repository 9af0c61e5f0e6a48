// Brute-force protection of authenticate, through the real server: 10 consecutive failures of one
// identifier from one ip block that pair (TOO_MANY_ATTEMPTS, nothing verified, no script called),
// a success resets the count, blocks are audited, listed and lifted, and shared through Redis.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const OWN = 'Username-Password-Authentication';
const PASSWORD = 'correct-horse-battery';

const AUTHENTICATE = `mutation ($input: AuthenticateInput!) {
  authenticate(input: $input) { user { id } userErrors { code message } }
}`;
const BLOCKS = 'query ($c: ID!, $i: String!) { loginBlocks(connection: $c, identifier: $i) { ip until } }';
const REMOVE = 'mutation ($input: RemoveLoginBlocksInput!) { removeLoginBlocks(input: $input) { removed userErrors { code } } }';

type AuthResult = { authenticate: { user: { id: string } | null; userErrors: { code: string; message: string }[] } };

async function login(gw: TestGateway, token: string, identifier: string, password: string, ip: string, connection = OWN) {
  const res = await gw.gql<AuthResult>(AUTHENTICATE, { input: { connection, identifier, password, ip } }, token);
  expect(res.errors).toBeUndefined();
  const a = res.data!.authenticate;
  return a.user ? 'OK' : (a.userErrors[0]?.code as string);
}

async function failTimes(gw: TestGateway, token: string, n: number, identifier: string, ip: string, connection = OWN) {
  for (let i = 0; i < n; i++) expect(await login(gw, token, identifier, 'wrong-password', ip, connection)).toBe('WRONG_CREDENTIALS');
}

describe('brute-force protection in one gateway', () => {
  let gw: TestGateway;
  let loginServer: string;
  let scripts: string;

  beforeAll(async () => {
    scripts = mkdtempSync(join(tmpdir(), 'counting-scripts-'));
    cpSync(join(import.meta.dirname, '../../scripts'), scripts, { recursive: true });
    // A legacy database that writes down every login it is asked for, and knows nobody.
    writeFileSync(
      join(scripts, 'counting.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function login(identifier) { appendFileSync(${JSON.stringify(join(scripts, 'calls.log'))}, identifier + '\\n'); return null; }
export async function getUser() { return null; }`,
    );
    gw = await startTestGateway({ seed: true, env: { CUSTOM_DB_SCRIPTS_DIR: scripts } });
    loginServer = await gw.token('login-server', 'login:users');
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(scripts, { recursive: true, force: true });
  });

  it('blocks an identifier from one ip after 10 consecutive failures, even with the right password, and audits it', async () => {
    await failTimes(gw, loginServer, 10, 'alice@acme.example', '203.0.113.9');
    const refused = await gw.gql<AuthResult>(
      AUTHENTICATE,
      { input: { connection: OWN, identifier: 'Alice@Acme.example', password: PASSWORD, ip: '203.0.113.9' } },
      loginServer,
    );
    expect(refused.data?.authenticate.user).toBeNull();
    expect(refused.data?.authenticate.userErrors[0]?.code).toBe('TOO_MANY_ATTEMPTS');
    expect(refused.data?.authenticate.userErrors[0]?.message).toMatch(/refused until \d{4}-/);
    // Another address, and another identifier from this address, are not blocked.
    expect(await login(gw, loginServer, 'alice@acme.example', PASSWORD, '198.51.100.7')).toBe('OK');
    expect(await login(gw, loginServer, 'bob@acme.example', PASSWORD, '203.0.113.9')).toBe('OK');

    const auditor = await gw.token('auditor', 'read:audit');
    const events = await gw.gql<{ auditEvents: { edges: { node: { operation: string; actorId: string; targetUserId: string | null } }[] } }>(
      '{ auditEvents(first: 20) { edges { node { operation actorId targetUserId } } } }',
      {},
      auditor,
    );
    const blocked = events.data!.auditEvents.edges.map((e) => e.node).filter((n) => n.operation === 'loginBlocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]?.actorId).toBe('login-server');
    expect(blocked[0]?.targetUserId).toMatch(/^auth0\|/);
  });

  it('lists the blocks for read:users and lifts them for update:users', async () => {
    const vars = { c: OWN, i: 'alice@acme.example' };
    expect((await gw.gql(BLOCKS, vars, loginServer)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const listed = await gw.gql<{ loginBlocks: { ip: string; until: string }[] }>(BLOCKS, vars, await gw.token('reader', 'read:users'));
    expect(listed.data?.loginBlocks).toEqual([{ ip: '203.0.113.9', until: expect.any(String) }]);
    const until = Date.parse(listed.data!.loginBlocks[0]!.until);
    expect(until).toBeGreaterThan(Date.now() + 3500_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 3600_000);

    const input = { connection: OWN, identifier: 'ALICE@acme.example' };
    expect((await gw.gql(REMOVE, { input }, await gw.token('reader', 'read:users'))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const admin = await gw.token('admin', 'read:users update:users');
    const removed = await gw.gql<{ removeLoginBlocks: { removed: number; userErrors: unknown[] } }>(REMOVE, { input }, admin);
    expect(removed.data?.removeLoginBlocks).toEqual({ removed: 1, userErrors: [] });
    expect((await gw.gql<{ loginBlocks: unknown[] }>(BLOCKS, vars, admin)).data?.loginBlocks).toEqual([]);
    expect(await login(gw, loginServer, 'alice@acme.example', PASSWORD, '203.0.113.9')).toBe('OK');
    const again = await gw.gql<{ removeLoginBlocks: { removed: number } }>(REMOVE, { input }, admin);
    expect(again.data?.removeLoginBlocks.removed).toBe(0);
    const unknown = await gw.gql<{ removeLoginBlocks: { userErrors: { code: string }[] } }>(
      REMOVE,
      { input: { connection: 'no-such-connection', identifier: 'x' } },
      admin,
    );
    expect(unknown.data?.removeLoginBlocks.userErrors[0]?.code).toBe('NOT_FOUND');
  });

  it('starts counting again after a success', async () => {
    await failTimes(gw, loginServer, 9, 'carol@globex.example', '203.0.113.10');
    expect(await login(gw, loginServer, 'carol@globex.example', PASSWORD, '203.0.113.10')).toBe('OK');
    await failTimes(gw, loginServer, 9, 'carol@globex.example', '203.0.113.10');
    expect(await login(gw, loginServer, 'carol@globex.example', PASSWORD, '203.0.113.10')).toBe('OK');
  });

  it('sends nothing to a legacy script while the pair is blocked', async () => {
    const admin = await gw.token('admin', 'create:connections');
    const created = await gw.gql<{ createConnection: { userErrors: unknown[] } }>(
      'mutation { createConnection(input: { name: "counting-db", kind: DATABASE, strategy: "auth0", customDatabase: true, customScripts: "counting" }) { userErrors { code message } } }',
      {},
      admin,
    );
    expect(created.data?.createConnection.userErrors).toEqual([]);
    await failTimes(gw, loginServer, 10, 'zed@legacy.example', '203.0.113.11', 'counting-db');
    const calls = () => readFileSync(join(scripts, 'calls.log'), 'utf8').trim().split('\n').length;
    expect(calls()).toBe(10);
    expect(await login(gw, loginServer, 'zed@legacy.example', 'maybe-this-one', '203.0.113.11', 'counting-db')).toBe('TOO_MANY_ATTEMPTS');
    expect(calls()).toBe(10);
  });
});

describe('brute-force protection shared through Redis', () => {
  const prefix = `test-${randomBytes(6).toString('hex')}:`;
  let one: TestGateway;
  let two: TestGateway;

  beforeAll(async () => {
    const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, LOGIN_MAX_FAILURES: '3' };
    [one, two] = await Promise.all([startTestGateway({ seed: true, env }), startTestGateway({ seed: true, env })]);
  });
  afterAll(async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(REDIS_URL);
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
    client.disconnect();
    await Promise.all([one?.close(), two?.close()]);
  });

  it('counts failures on either instance, blocks on both, and lifts on both', async () => {
    const t1 = await one.token('login-server', 'login:users');
    const t2 = await two.token('login-server', 'login:users');
    await failTimes(one, t1, 2, 'alice@acme.example', '203.0.113.20');
    await failTimes(two, t2, 1, 'alice@acme.example', '203.0.113.20');
    expect(await login(one, t1, 'alice@acme.example', PASSWORD, '203.0.113.20')).toBe('TOO_MANY_ATTEMPTS');
    expect(await login(two, t2, 'alice@acme.example', PASSWORD, '203.0.113.20')).toBe('TOO_MANY_ATTEMPTS');
    const listed = await one.gql<{ loginBlocks: { ip: string }[] }>(
      BLOCKS,
      { c: OWN, i: 'alice@acme.example' },
      await one.token('reader', 'read:users'),
    );
    expect(listed.data?.loginBlocks.map((b) => b.ip)).toEqual(['203.0.113.20']);
    const removed = await two.gql<{ removeLoginBlocks: { removed: number } }>(
      REMOVE,
      { input: { connection: OWN, identifier: 'alice@acme.example' } },
      await two.token('admin', 'update:users'),
    );
    expect(removed.data?.removeLoginBlocks.removed).toBe(1);
    expect(await login(one, t1, 'alice@acme.example', PASSWORD, '203.0.113.20')).toBe('OK');
  });
});
