// Unexpected failures are masked: no stack trace, SQL or driver message reaches the client; the
// readiness check says the database is gone while the liveness check stays up.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('an oversized body', () => {
  it('is answered 413 BAD_REQUEST and its connection closed (the rest of the body is not read)', async () => {
    const { status, connection, body } = await new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      const req = request(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
      });
      // The gateway may close while this is still sending: only the answer matters.
      req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
      req.end(`{"query":"${'x'.repeat(11 * 1024 * 1024)}"}`);
    });
    expect(status).toBe(413);
    expect(connection).toBe('close');
    expect(JSON.parse(body)).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });
});

describe('error masking', () => {
  it('answers a database failure as INTERNAL_SERVER_ERROR without details, and readyz turns 503', async () => {
    const token = await gw.token('admin', ADMIN_SCOPES);
    const base = gw.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    await gw.runtime.store.close();
    const res = await gw.gql('{ users { totalCount } connections { id } }', {}, token);
    logged.mockRestore();
    const text = JSON.stringify(res);
    expect(res.errors?.length).toBeGreaterThan(0);
    for (const e of res.errors ?? []) {
      expect(e.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(e.message).toBe('Internal server error.');
    }
    expect(text).not.toMatch(/sqlite|database connection|stack|\.ts:\d+|SELECT/i);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('answers malformed JSON and unknown paths without a 500', async () => {
    const bad = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(bad.status).toBe(400);
    const missing = await fetch(gw.url.replace(/\/graphql$/, '/nope'));
    expect(missing.status).toBe(404);
  });
});
