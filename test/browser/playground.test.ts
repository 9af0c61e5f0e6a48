// The admin playground in real headless Chromium: GraphiQL served by the gateway (no CDN) as a
// small page and cacheable compressed files, the headers pane ready for a bearer token, the docs
// from introspection, and a query that runs.
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type Browser, isLocal, launchChromium } from './chromium.js';

/** An editor's text without whitespace: Monaco renders non-breaking spaces and wraps long lines. */
const text = async (locator: { innerText(): Promise<string> }) => (await locator.innerText()).replace(/\s+/g, '');

describe('the playground (GET /graphql from a browser)', () => {
  let gw: TestGateway;
  let browser: Browser;
  /** What reached the gateway: method, path and status of every request, in order. */
  const served: string[] = [];

  beforeAll(async () => {
    [gw, browser] = await Promise.all([startTestGateway({ seed: true }), launchChromium()]);
    gw.runtime.gateway.server.on('request', (req, res) => {
      res.on('finish', () => served.push(`${req.method} ${req.url}`));
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('loads with no request leaving the machine, then runs a query with a token', async () => {
    const page = await browser.context.newPage();
    const responses: Response[] = [];
    page.on('response', (response) => responses.push(response));
    const document = await page.goto(gw.url);

    // The headers pane is open and holds the Authorization template; the example query is loaded.
    const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
    await expect.poll(() => text(headers)).toContain('"Authorization":"Bearer"}');
    await expect.poll(() => text(page.locator('.graphiql-query-editor'))).toContain('fieldPolicies{fieldeditablereasonmessage}');

    // Introspection worked: the docs explorer lists the schema's types and their descriptions.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await page.locator('.graphiql-doc-explorer').getByText('Mutation', { exact: true }).click();
    await page.locator('.graphiql-doc-explorer').getByText('updateUser', { exact: true }).waitFor();

    // Paste a token after "Bearer ", as a person would, and run the example query.
    await headers.getByText('Bearer').click();
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.insertText(await gw.token('admin@tenant', ADMIN_SCOPES));
    await page.getByRole('button', { name: /Execute query/ }).click();
    const response = page.locator('.graphiql-response');
    await expect.poll(() => text(response), { timeout: 10_000 }).toContain('gabriel.silva@gmail.example');
    expect(await text(response)).toContain('SYNCED_FROM_IDENTITY_PROVIDER');

    const external = browser.requests.filter((url) => !isLocal(url));
    expect(external).toEqual([]);
    expect(browser.requests.filter((url) => url.startsWith(gw.url)).length).toBeGreaterThanOrEqual(3);

    // A small page; GraphiQL's script and style are files of their own, sent compressed.
    expect((await document?.body())?.length).toBeLessThanOrEqual(50 * 1024);
    const files = responses.filter((r) => /\/graphql\/playground\/graphiql-[0-9a-f]+\.(js|css)$/.test(r.url()));
    expect(files.map((r) => r.url().split('.').pop()).sort()).toEqual(['css', 'js']);
    for (const file of files) {
      expect(file.headers()['content-encoding']).toBe('br');
      expect(file.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
      const { responseBodySize } = await file.request().sizes();
      expect(responseBodySize).toBeLessThan((await file.body()).length / 2);
    }
    await page.close();
  }, 30_000);

  it('a second visit fetches only the page again; GraphiQL comes from the cache', async () => {
    // GraphiQL, started from the cache, renders its editors (it restores the last visit's tabs).
    const ready = async (page: Page) => {
      await page.goto(gw.url);
      const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
      await expect.poll(() => text(headers), { timeout: 15_000 }).toContain('"Authorization":"Bearer"}');
      await page.getByText('UserWithPolicies', { exact: true }).waitFor();
    };
    const first = await browser.context.newPage();
    await ready(first);
    await first.close();

    served.length = 0;
    const page = await browser.context.newPage();
    await ready(page);
    // The page itself comes again (under 1 KB compressed): GraphiQL's POST to the same URL makes
    // the browser drop its copy (RFC 9111, 4.4); its 304 is checked over HTTP in test/e2e.
    expect(served.filter((line) => line.startsWith('GET'))).toEqual(['GET /graphql']);
    await page.close();
  }, 30_000);
});

describe('the playground switch', () => {
  const introspect = '{ __schema { queryType { name } } }';
  const fetchPage = (url: string) => fetch(url, { headers: { accept: 'text/html' } });

  it('is off in production: no page, no introspection', async () => {
    const gw = await startTestGateway({ env: { NODE_ENV: 'production' } });
    try {
      const page = await fetchPage(gw.url);
      expect(page.headers.get('content-type') ?? '').not.toContain('text/html');
      const res = await gw.gql(introspect, {}, await gw.token('admin@tenant', ADMIN_SCOPES));
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0]?.message).toMatch(/introspection/i);
    } finally {
      await gw.close();
    }
  });

  it('PLAYGROUND=1 turns both on in production', async () => {
    const gw = await startTestGateway({ env: { NODE_ENV: 'production', PLAYGROUND: '1' } });
    try {
      const page = await fetchPage(gw.url);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toContain('YogaGraphiQL');
      const res = await gw.gql<{ __schema: { queryType: { name: string } } }>(introspect);
      expect(res.data?.__schema.queryType.name).toBe('Query');
    } finally {
      await gw.close();
    }
  });

  it('is on by default outside production, and PLAYGROUND=0 turns it off', async () => {
    const gw = await startTestGateway({ env: { PLAYGROUND: '0' } });
    try {
      expect((await fetchPage(gw.url)).headers.get('content-type') ?? '').not.toContain('text/html');
      expect((await gw.gql(introspect)).errors?.[0]?.message).toMatch(/introspection/i);
    } finally {
      await gw.close();
    }
    const dev = await startTestGateway();
    try {
      expect((await fetchPage(dev.url)).headers.get('content-type')).toContain('text/html');
    } finally {
      await dev.close();
    }
  });
});
