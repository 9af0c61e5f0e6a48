// Logs, metrics and request ids through the real server: one JSON line per request with the
// operation, outcome and caller kind; x-request-id taken or made; Prometheus metrics whose
// operation label stays bounded whatever names clients send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OPERATION_NAMES } from '../../src/observability/metrics.js';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { findLeaks, logLines } from '../helpers/log-scan.js';

let gw: TestGateway;
let admin: string;
let loginServer: string;

beforeAll(async () => {
  gw = await startTestGateway({ seed: true, env: { METRICS: '1' } });
  admin = await gw.token('admin', ADMIN_SCOPES);
  loginServer = await gw.token('login-server', 'login:users');
});

afterAll(async () => {
  await gw?.close();
});

const base = () => gw.url.replace(/\/graphql$/, '');

async function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const requestLines = () => logLines(gw.logFile).filter((l) => l.event === 'request');

async function metrics(url = `${base()}/metrics`): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

/** The value of one sample, by metric name and exact labels (in any order). */
function sample(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return null;
}

describe('request ids', () => {
  it('takes a plain x-request-id and returns it; the request\'s log line carries it', async () => {
    const res = await post({ query: 'query Me { me { id } }' }, { authorization: `Bearer ${admin}`, 'x-request-id': 'req-abc.123' });
    expect(res.headers.get('x-request-id')).toBe('req-abc.123');
    const line = requestLines().find((l) => l.requestId === 'req-abc.123');
    expect(line).toMatchObject({ operationName: 'Me', operationType: 'query', outcome: 'ok', status: 200, callerKind: 'tenant_admin', errorCodes: [] });
    expect(typeof line?.durationMs).toBe('number');
    expect(typeof line?.instance).toBe('string');
  });

  it('makes one when there is none, or when the given one is too long or has unsafe characters', async () => {
    for (const given of [undefined, 'x'.repeat(129), 'a b', 'id\u00e9', '<script>']) {
      const res = await post({ query: '{ __typename }' }, given === undefined ? {} : { 'x-request-id': given });
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(id).not.toBe(given);
    }
    // Probes answer with one too.
    expect((await fetch(`${base()}/healthz`, { headers: { 'x-request-id': 'probe-1' } })).headers.get('x-request-id')).toBe('probe-1');
  });
});

describe('request log lines', () => {
  it('one line per GraphQL request, with the outcome and error codes, for every kind of caller', async () => {
    const before = requestLines().length;
    const id = (n: string) => ({ 'x-request-id': `lines-${n}` });
    await post({ query: 'query Anonymous { me { id } }' }, id('anon'));
    await post({ query: '{ users(first: 1) { totalCount } }' }, { ...id('admin'), authorization: `Bearer ${admin}` });
    await post({ query: 'mutation Login($i: AuthenticateInput!) { authenticate(input: $i) { user { id } userErrors { code } } }', variables: { i: { connection: 'Username-Password-Authentication', identifier: 'alice@acme.example', password: 'wrong-password-1' } } }, { ...id('login'), authorization: `Bearer ${loginServer}` });
    await post({ query: '{ nope' }, id('parse'));
    await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', ...id('json') }, body: '{not json' });
    const lines = requestLines().slice(before);
    expect(lines).toHaveLength(5);
    const by = (n: string) => lines.find((l) => l.requestId === `lines-${n}`);
    expect(by('anon')).toMatchObject({ operationName: 'Anonymous', callerKind: 'anonymous', outcome: 'error', errorCodes: ['UNAUTHENTICATED'] });
    expect(by('admin')).toMatchObject({ operationName: null, operationType: 'query', callerKind: 'tenant_admin', outcome: 'ok' });
    expect(by('login')).toMatchObject({ operationName: 'Login', operationType: 'mutation', callerKind: 'login_server', outcome: 'ok' });
    expect(by('parse')).toMatchObject({ operationName: null, operationType: null, outcome: 'error', errorCodes: ['GRAPHQL_PARSE_FAILED'], status: 400 });
    expect(by('json')).toMatchObject({ outcome: 'error', status: 400 });
  });

  it('writes start and migration lines, and nothing personal (the scan the suite runs at every close)', () => {
    const events = logLines(gw.logFile).map((l) => l.event);
    expect(events).toContain('migrated');
    expect(events).toContain('started');
    expect(findLeaks(readLog())).toEqual([]);
  });

  it('the scan finds what it looks for', () => {
    const line = (o: unknown) => JSON.stringify(o);
    expect(findLeaks(line({ msg: 'alice@acme.example' }))[0]?.what).toBe('an email address');
    expect(findLeaks(line({ msg: 'call +14155550101' }))[0]?.what).toBe('a phone number');
    expect(findLeaks(line({ t: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abc' }))[0]?.what).toBe('a token');
    expect(findLeaks(line({ ticket: 'q'.repeat(43) }))[0]?.what).toBe('a ticket or secret');
    expect(findLeaks('plain text')[0]?.what).toBe('a line that is not JSON');
  });
});

function readLog(): string {
  return logLines(gw.logFile).map((l) => JSON.stringify(l)).join('\n');
}

describe('GET /metrics (METRICS=1)', () => {
  it('exports requests by operation and outcome, errors by code, logins, script calls, store calls, the outbox and the process', async () => {
    await post({ query: 'query Me { me { id } }' }, { authorization: `Bearer ${admin}` });
    await post({ query: 'query Me { me { id } }' });
    const auth = (connection: string, identifier: string, password: string) =>
      post({ query: 'mutation ($i: AuthenticateInput!) { authenticate(input: $i) { userErrors { code } } }', variables: { i: { connection, identifier, password } } }, { authorization: `Bearer ${loginServer}` });
    await auth('Username-Password-Authentication', 'alice@acme.example', 'correct-horse-battery');
    await auth('Username-Password-Authentication', 'alice@acme.example', 'not-her-password');
    await auth('legacy-db', 'lena.legacy@acme.example', 'correct-horse-battery');
    await auth('no-such-connection', 'x@y.example', 'whatever-123');
    const text = await metrics();
    expect(sample(text, 'gateway_graphql_request_duration_seconds_count', { operation: 'Me', type: 'query', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gateway_graphql_request_duration_seconds_count', { operation: 'Me', type: 'query', outcome: 'error' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gateway_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBeGreaterThanOrEqual(1);
    const logins = (connection: string, kind: string, outcome: string) => sample(text, 'gateway_logins_total', { connection, kind, outcome });
    expect(logins('Username-Password-Authentication', 'DATABASE', 'success')).toBe(1);
    expect(logins('Username-Password-Authentication', 'DATABASE', 'WRONG_CREDENTIALS')).toBeGreaterThanOrEqual(1);
    expect(logins('legacy-db', 'DATABASE', 'success')).toBe(1);
    expect(logins('unknown', 'unknown', 'NOT_FOUND')).toBe(1);
    expect(sample(text, 'gateway_custom_db_script_duration_seconds_count', { connection: 'legacy-db', function: 'login', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gateway_store_call_duration_seconds_count', { call: 'users.withRelationsByIds' })).toBeGreaterThan(0);
    for (const status of ['pending', 'sent', 'failed']) expect(sample(text, 'gateway_outbox_messages', { status })).not.toBeNull();
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^# TYPE gateway_operations_refused_total counter$/m);
  });

  it('keeps the operation label bounded: 1,000 distinct names give at most a few hundred series', async () => {
    for (let i = 0; i < 1000; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => post({ query: `query Op${i + j}x { __typename }` })));
    }
    const text = await metrics();
    const operations = new Set([...text.matchAll(/^gateway_graphql_request_duration_seconds_count\{[^}]*operation="([^"]*)"/gm)].map((m) => m[1]));
    expect(operations.size).toBeLessThanOrEqual(MAX_OPERATION_NAMES + 3);
    expect(operations.has('other')).toBe(true);
    const series = text.split('\n').filter((l) => l.startsWith('gateway_graphql_request_duration_seconds_bucket')).length;
    expect(series).toBeLessThan((MAX_OPERATION_NAMES + 10) * 2 * 14);
  });
});

describe('METRICS_PORT', () => {
  it('serves /metrics, /healthz and /readyz on their own port, and not on the main one', async () => {
    const other = await startTestGateway({ env: { METRICS_PORT: '0' } });
    try {
      const port = other.runtime.managementPort;
      expect(port).toBeGreaterThan(0);
      const text = await metrics(`http://127.0.0.1:${port}/metrics`);
      expect(text).toMatch(/gateway_graphql_request_duration_seconds/);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect((await fetch(other.url.replace(/\/graphql$/, '/metrics'))).status).toBe(404);
    } finally {
      await other.close();
    }
  });

  it('without METRICS or METRICS_PORT there is no /metrics', async () => {
    const plain = await startTestGateway();
    try {
      expect(plain.runtime.managementPort).toBeNull();
      expect((await fetch(plain.url.replace(/\/graphql$/, '/metrics'))).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

// The hooks other parts call (the operation guard's refusals and login blocks, a PostgreSQL
// pool): called on the running gateway's Observability, seen in its log and on its /metrics.
describe('hooks for the guard and the database pool', () => {
  it('refused() and loginBlocked() write one warning line each and count by reason, with no identifier', async () => {
    const obs = gw.runtime.obs;
    const count = async (reason: string, limit: string) => sample(await metrics(), 'gateway_operations_refused_total', { reason, limit }) ?? 0;
    const before = { depth: await count('limit', 'DEPTH'), rate: await count('rate_limit', ''), block: await count('login_block', '') };
    obs.refused('limit', { limit: 'DEPTH', callerKind: 'user', requestId: 'hook-depth' });
    obs.refused('rate_limit', { callerKind: 'login_server', organization: 'org_1', requestId: 'hook-rate', retryAfterSeconds: 12 });
    obs.loginBlocked({ connection: 'Username-Password-Authentication', untilSeconds: 300, requestId: 'hook-block' });
    expect(await count('limit', 'DEPTH')).toBe(before.depth + 1);
    expect(await count('rate_limit', '')).toBe(before.rate + 1);
    expect(await count('login_block', '')).toBe(before.block + 1);
    const lines = logLines(gw.logFile);
    const by = (id: string) => lines.find((l) => l.requestId === id);
    expect(by('hook-depth')).toMatchObject({ level: 40, event: 'operation_refused', reason: 'limit', limit: 'DEPTH', callerKind: 'user' });
    expect(by('hook-rate')).toMatchObject({ level: 40, event: 'rate_limited', reason: 'rate_limit', callerKind: 'login_server', organization: 'org_1', retryAfterSeconds: 12 });
    expect(by('hook-block')).toMatchObject({ level: 40, event: 'login_blocked', connection: 'Username-Password-Authentication', untilSeconds: 300 });
  });

  it('a registered pool (registerDbPool, what the PostgreSQL store hands the runtime) is read at every scrape', async () => {
    const pool = { totalCount: 5, idleCount: 2, waitingCount: 1 };
    gw.runtime.obs.metrics.registerDbPool('hook-pool', pool);
    let text = await metrics();
    const state = (s: string) => sample(text, 'gateway_db_pool_connections', { pool: 'hook-pool', state: s });
    expect([state('in_use'), state('idle'), state('waiting')]).toEqual([3, 2, 1]);
    pool.idleCount = 5;
    pool.waitingCount = 0;
    text = await metrics();
    expect([state('in_use'), state('idle'), state('waiting')]).toEqual([0, 5, 0]);
  });
});

describe('the guard, seen', () => {
  it('its refusals (a limit, a rate limit, a login block) are counted and logged by the real server', async () => {
    const guarded = await startTestGateway({
      seed: true,
      env: { METRICS: '1', LIMIT_DEPTH: '3', RATE_LIMIT_END_USER_PER_MINUTE: '2', LOGIN_MAX_FAILURES: '2' },
    });
    try {
      const url = guarded.url.replace(/\/graphql$/, '/metrics');
      const send = (body: unknown, token: string) =>
        fetch(guarded.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      const tenantAdmin = await guarded.token('admin', ADMIN_SCOPES);
      const deep = await send({ query: '{ me { organizations { members { edges { node { user { id } } } } } } }' }, tenantAdmin);
      expect(deep.status).toBe(400);
      const user = await guarded.token('auth0|rate-limited-user', 'openid');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await send({ query: '{ me { id } }' }, user)).status);
      expect(statuses).toContain(429);
      const server = await guarded.token('login-server', 'login:users');
      for (let i = 0; i < 3; i += 1) {
        await send({ query: 'mutation ($i: AuthenticateInput!) { authenticate(input: $i) { userErrors { code } } }', variables: { i: { connection: 'Username-Password-Authentication', identifier: 'alice@acme.example', password: 'wrong-password-1', ip: '203.0.113.9' } } }, server);
      }
      const text = await metrics(url);
      expect(sample(text, 'gateway_operations_refused_total', { reason: 'limit', limit: 'DEPTH' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'gateway_operations_refused_total', { reason: 'rate_limit', limit: '' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'gateway_operations_refused_total', { reason: 'login_block', limit: '' })).toBe(1);
      const events = logLines(guarded.logFile).map((l) => l.event);
      expect(events).toEqual(expect.arrayContaining(['operation_refused', 'rate_limited', 'login_blocked']));
    } finally {
      await guarded.close();
    }
  });
});
