// OTEL_EXPORTER_OTLP_ENDPOINT set: the gateway exports its spans by OTLP/HTTP to that collector
// (here a small HTTP server standing in for one), flushed at shutdown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPES, startTestGateway } from '../helpers/gateway.js';

let collector: Server;
const received: { path: string; body: string }[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  await new Promise<void>((r) => collector.close(() => r()));
});

describe('OTLP export', () => {
  it('sends the operation spans to the collector, continuing the caller\'s trace', async () => {
    const port = (collector.address() as AddressInfo).port;
    const gw = await startTestGateway({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
    const traceId = 'c'.repeat(32);
    const token = await gw.token('admin', ADMIN_SCOPES);
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${'d'.repeat(16)}-01` },
      body: JSON.stringify({ query: 'query Exported { connections { name } }' }),
    });
    expect(res.status).toBe(200);
    await gw.close(); // flushes the batch processor
    const traces = received.filter((r) => r.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    const all = traces.map((t) => t.body).join('\n');
    expect(all).toContain('query Exported');
    expect(all).toContain(traceId);
    expect(all).toContain('profile-gateway');
  });
});
