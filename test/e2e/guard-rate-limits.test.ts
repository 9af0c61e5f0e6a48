// Rate limits per caller, in cost units, through the real server: headers on every answer, 429
// with RATE_LIMITED and Retry-After once the budget is spent, budgets by kind of caller, one
// budget for two instances on one Redis, and service while Redis is away.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function post(gw: TestGateway, query: string, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(gw.url, { method: 'POST', headers, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  const h = (name: string) => res.headers.get(name);
  return {
    status: res.status,
    body,
    limit: h('ratelimit-limit'),
    remaining: h('ratelimit-remaining') === null ? null : Number(h('ratelimit-remaining')),
    reset: h('ratelimit-reset') === null ? null : Number(h('ratelimit-reset')),
    retryAfter: h('retry-after'),
  };
}

/** users(first: 20) { totalCount } costs 20. */
const COST_20 = '{ users(first: 20) { totalCount } }';

describe('rate limits in the process', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { RATE_LIMIT_PER_MINUTE: '100' } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('counts cost units per caller, answers 429 RATE_LIMITED with Retry-After, and spares other callers', async () => {
    const token = await gw.token('rate-a', ADMIN_SCOPES);
    const first = await post(gw, COST_20, token);
    expect(first.status).toBe(200);
    expect(first).toMatchObject({ limit: '100', remaining: 80 });
    expect(first.reset).toBeGreaterThanOrEqual(1);
    expect(first.reset).toBeLessThanOrEqual(60);
    for (const left of [60, 40, 20, 0]) expect((await post(gw, COST_20, token)).remaining).toBe(left);
    const refused = await post(gw, COST_20, token);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', budget: 100 });
    expect(refused.body.errors?.[0]?.message).toMatch(/Try again in \d+ s/);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused).toMatchObject({ limit: '100', remaining: 0 });
    // Another token's budget is its own.
    const other = await post(gw, COST_20, await gw.token('rate-b', ADMIN_SCOPES));
    expect(other).toMatchObject({ status: 200, remaining: 80 });
  });

  it('counts a request refused before execution as 1, and keys callers without a token by address', async () => {
    const bad = await post(gw, '{ nope }');
    expect(bad.status).toBe(400);
    expect(bad).toMatchObject({ limit: '100', remaining: 99 });
    const anonymous = await post(gw, '{ me { id } }');
    expect(anonymous).toMatchObject({ limit: '100', remaining: 98 });
  });
});

describe('budgets by kind of caller', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ seed: true, env: { RATE_LIMIT_HELP_DESK_PER_MINUTE: '12345' } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('gives end users, help desks, tenant administrators and the login server their own budgets', async () => {
    const admin = await gw.token('admin', ADMIN_SCOPES);
    const found = await gw.gql<{ users: { edges: { node: { id: string } }[] } }>(
      '{ users(first: 1, filter: { email: "helpdesk@acme.example" }) { edges { node { id } } } }',
      {},
      admin,
    );
    const helpDeskId = found.data!.users.edges[0]!.node.id;
    expect((await post(gw, '{ me { id } }', await gw.token('auth0|someone'))).limit).toBe('6000');
    expect((await post(gw, '{ me { id } }', await gw.token(helpDeskId))).limit).toBe('12345');
    expect((await post(gw, '{ me { id } }', await gw.token('an-admin', 'read:users update:users'))).limit).toBe('300000');
    expect((await post(gw, '{ me { id } }', await gw.token('login-server', 'login:users'))).limit).toBe('1200000');
  });
});

describe('rate limits shared through Redis', () => {
  const prefix = `test-${randomBytes(6).toString('hex')}:`;
  let one: TestGateway;
  let two: TestGateway;

  beforeAll(async () => {
    const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '50' };
    [one, two] = await Promise.all([startTestGateway({ env }), startTestGateway({ env })]);
  });
  afterAll(async () => {
    const redis = one?.runtime.gateway && (await import('ioredis')).Redis;
    if (redis) {
      const client = new redis(REDIS_URL);
      const keys = await client.keys(`${prefix}*`);
      if (keys.length) await client.del(...keys);
      client.disconnect();
    }
    await Promise.all([one?.close(), two?.close()]);
  });

  it('draws one budget for a caller, whichever instance answers', async () => {
    const a = await post(one, COST_20, await one.token('shared-caller', ADMIN_SCOPES));
    expect(a).toMatchObject({ status: 200, limit: '50', remaining: 30 });
    const b = await post(two, COST_20, await two.token('shared-caller', ADMIN_SCOPES));
    expect(b).toMatchObject({ status: 200, remaining: 10 });
    const c = await post(one, COST_20, await one.token('shared-caller', ADMIN_SCOPES));
    expect(c.status).toBe(429);
    expect(c.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const d = await post(two, COST_20, await two.token('shared-caller', ADMIN_SCOPES));
    expect(d.status).toBe(429);
  });
});

describe('when Redis is away', () => {
  let gw: TestGateway;
  const logged = vi.spyOn(console, 'error').mockImplementation(() => {});

  beforeAll(async () => {
    // Nothing listens on port 1: every counter call fails.
    gw = await startTestGateway({ env: { REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_PER_MINUTE: '10' } });
  });
  afterAll(async () => {
    await gw?.close();
    logged.mockRestore();
  });

  it('keeps serving (fail open) and says so in its log', async () => {
    const token = await gw.token('no-redis', ADMIN_SCOPES);
    for (let i = 0; i < 3; i++) {
      const res = await post(gw, COST_20, token);
      expect(res.status).toBe(200);
      expect(res.limit).toBeNull();
    }
    expect(logged.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/fail open|let through/);
  });
});
