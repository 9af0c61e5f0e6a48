// CORS over real HTTP: CORS_ORIGINS lists exact origins; a listed origin's preflight and requests
// get the headers a browser needs, any other origin gets none, and Apollo's CSRF prevention
// still refuses a simple (unpreflighted) request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const LISTED = 'https://app.example.com';
const ALSO_LISTED = 'http://127.0.0.1:5173';
const UNLISTED = 'https://evil.example';

function preflight(url: string, origin: string, headers = 'content-type, authorization, x-request-id') {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
  });
}

function corsHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, key) => {
    if (key.startsWith('access-control-')) out[key] = value;
  });
  return out;
}

describe('CORS_ORIGINS', () => {
  it('is empty by default, takes exact origins (normalized), and refuses anything else at start', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: ` ${LISTED}/ , HTTP://127.0.0.1:5173,` }).corsOrigins).toEqual([LISTED, ALSO_LISTED]);
    for (const bad of ['*', 'https://*.example.com', 'https://app.example.com/profile', 'app.example.com', 'ftp://files.example']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });
});

describe('CORS with an allow-list', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { CORS_ORIGINS: `${LISTED},${ALSO_LISTED}` } });
    token = await gw.token('admin', ADMIN_SCOPES);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("answers a listed origin's preflight with the methods and headers a GraphQL client sends, no credentials", async () => {
    const res = await preflight(gw.url, LISTED, 'content-type, authorization, x-request-id, apollo-require-preflight');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(res.headers.get('access-control-allow-methods')?.split(/,\s*/)).toEqual(expect.arrayContaining(['GET', 'POST']));
    const allowed = res.headers.get('access-control-allow-headers')?.split(/,\s*/) ?? [];
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'authorization', 'x-request-id', 'apollo-require-preflight']));
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/\borigin\b/i);
  });

  it("gives a listed origin's POST its origin, Vary: Origin, and the rate-limit and request-id headers to read", async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { origin: ALSO_LISTED, 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ users(first: 1) { totalCount } }' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown }).data).toEqual({ users: { totalCount: 0 } });
    expect(res.headers.get('access-control-allow-origin')).toBe(ALSO_LISTED);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(exposed).toEqual(
      expect.arrayContaining(['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'x-request-id']),
    );
    expect(res.headers.get('vary')).toMatch(/\borigin\b/i);
  });

  it('gives an unlisted origin no CORS headers, on the preflight and on the request', async () => {
    const pre = await preflight(gw.url, UNLISTED);
    expect(pre.status).toBe(403);
    expect(corsHeaders(pre)).toEqual({});
    expect(pre.headers.get('vary')).toMatch(/\borigin\b/i);
    // A look-alike of a listed origin is not listed: the match is exact.
    for (const lookalike of [`${LISTED}.evil.example`, 'http://app.example.com', 'https://app.example.com:8443']) {
      const res = await preflight(gw.url, lookalike);
      expect(corsHeaders(res), lookalike).toEqual({});
    }
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { origin: UNLISTED, 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ users(first: 1) { totalCount } }' }),
    });
    expect(corsHeaders(res)).toEqual({});
  });

  it("keeps Apollo's CSRF prevention: a listed origin's simple request (text/plain, no preflight header) is refused", async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { origin: LISTED, 'content-type': 'text/plain', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ users(first: 1) { totalCount } }' }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF|preflight/i);
    // A GET query without a preflight header is refused the same way.
    const get = await fetch(`${gw.url}?query=${encodeURIComponent('{ me { id } }')}`, { headers: { origin: LISTED } });
    expect(get.status).toBe(400);
  });

  it('adds nothing to the other endpoints', async () => {
    const res = await fetch(gw.url.replace(/\/graphql$/, '/healthz'), { headers: { origin: LISTED } });
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({});
  });
});

describe('CORS without an allow-list (the default)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('sends no CORS headers to any origin; same-origin use is unchanged', async () => {
    const pre = await preflight(gw.url, LISTED);
    expect(corsHeaders(pre)).toEqual({});
    expect(pre.status).toBeGreaterThanOrEqual(400);
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { origin: LISTED, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(corsHeaders(res)).toEqual({});
    expect(res.headers.get('vary') ?? '').not.toMatch(/origin/i);
  });
});
