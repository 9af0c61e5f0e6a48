// The playground over plain HTTP (no browser): a small page, GraphiQL's files served by the
// gateway under content-hashed names, kept by caches for a year, revalidated by ETag (304), and
// compressed with brotli or gzip when the client accepts it.
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The bytes as sent (still compressed when content-encoding says so). */
  body: Buffer;
}

/** A GET with exactly these headers (fetch would add Accept-Encoding and decompress). */
function get(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const HTML = { accept: 'text/html' };
const decode = { br: brotliDecompressSync, gzip: gunzipSync } as const;

describe('the playground over HTTP', () => {
  let gw: TestGateway;
  let origin: string;
  let page: Raw;
  /** The files the page names: its stylesheet, script, icon and Monaco's workers. */
  let assets: string[];

  beforeAll(async () => {
    gw = await startTestGateway();
    origin = new URL(gw.url).origin;
    page = await get(gw.url, HTML);
    const html = page.body.toString('utf8');
    assets = [...html.matchAll(/"(\/graphql\/playground\/[^"]+)"/g)].map((m) => m[1] ?? '');
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('the page is small, names its files by path on this gateway, and is revalidated by ETag', async () => {
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body.length).toBeLessThanOrEqual(50 * 1024);
    expect(page.headers['cache-control']).toBe('no-cache');
    const html = page.body.toString('utf8');
    expect(html).toContain('YogaGraphiQL.renderYogaGraphiQL');
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(assets.filter((path) => /\/graphiql-[0-9a-f]{16}\.(js|css)$/.test(path))).toHaveLength(2);
    expect(assets.filter((path) => /\/(editor|json|graphql)\.worker-[0-9a-f]{16}\.js$/.test(path))).toHaveLength(3);

    const etag = String(page.headers.etag);
    const again = await get(gw.url, { ...HTML, 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
  });

  it('every file is named by the hash of its content and cached for a year', async () => {
    expect(assets.length).toBeGreaterThanOrEqual(6);
    for (const path of assets) {
      const res = await get(origin + path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-encoding'], path).toBeUndefined();
      expect(Number(res.headers['content-length']), path).toBe(res.body.length);
      const hash = createHash('sha256').update(res.body).digest('hex').slice(0, 16);
      expect(path).toContain(`-${hash}.`);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(res.headers.etag).toBe(`"${hash}"`);
    }
    const script = await get(origin + (assets.find((path) => path.endsWith('.js') && path.includes('/graphiql-')) ?? ''));
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body.toString('utf8')).toContain('renderYogaGraphiQL');
  });

  it('sends brotli or gzip as the client accepts, the same bytes once decoded; 304 for any encoding of a known ETag', async () => {
    const script = assets.find((path) => /\/graphiql-.*\.js$/.test(path)) ?? '';
    const plain = await get(origin + script);
    for (const [accept, encoding] of [
      ['gzip, deflate, br, zstd', 'br'],
      ['br;q=1.0, gzip;q=0.8', 'br'],
      ['gzip', 'gzip'],
      ['deflate, gzip;q=0.5, br;q=0', 'gzip'],
    ] as const) {
      const res = await get(origin + script, { 'accept-encoding': accept });
      expect(res.headers['content-encoding'], accept).toBe(encoding);
      expect(res.body.length, accept).toBeLessThan(plain.body.length / 2);
      expect(decode[encoding](res.body).equals(plain.body), accept).toBe(true);
      expect(res.headers.etag).toBe(`${String(plain.headers.etag).slice(0, -1)}-${encoding}"`);

      const revalidated = await get(origin + script, { 'accept-encoding': accept, 'if-none-match': String(res.headers.etag) });
      expect(revalidated.status).toBe(304);
      expect(revalidated.body.length).toBe(0);
    }
    expect((await get(origin + script, { 'accept-encoding': 'identity' })).headers['content-encoding']).toBeUndefined();
    expect((await get(origin + script, { 'if-none-match': '"0123456789abcdef"' })).status).toBe(200);
  });

  it('all of GraphiQL arrives brotli-compressed in under a third of its size', async () => {
    let plain = 0;
    let sent = 0;
    for (const path of assets.filter((p) => !p.endsWith('.ico'))) {
      plain += (await get(origin + path)).body.length;
      sent += (await get(origin + path, { 'accept-encoding': 'br' })).body.length;
    }
    expect(plain).toBeGreaterThan(5_000_000);
    expect(sent).toBeLessThan(plain / 3);
  });

  it('an unknown file is 404; without the playground there are no files', async () => {
    expect((await get(`${origin}/graphql/playground/graphiql-0000000000000000.js`)).status).toBe(404);
    const off = await startTestGateway({ env: { PLAYGROUND: '0' } });
    try {
      expect((await get(new URL(off.url).origin + (assets[0] ?? ''))).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
