// The example page served from its own origin with no proxy, calling the gateway on another
// origin (another port) in real headless Chromium: CORS_ORIGINS lists the page's origin, Apollo's
// CSRF prevention is on, and a page from an unlisted origin is refused by the browser itself.
import type { ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleServer, startExampleServer } from '../../examples/profile-page/serve.mjs';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type Browser, launchChromium } from './chromium.js';
import { buildExamplePage, type ExampleBuild, examplePageFolder } from './example-build.js';

describe('the profile page on another origin than the gateway (CORS)', () => {
  let gw: TestGateway;
  let browser: Browser;
  let listed: ExampleServer;
  let unlisted: ExampleServer;
  let folder: ExampleBuild;
  let adminToken: string;

  const originOf = (url: string) => new URL(url).origin;

  async function alice(): Promise<{ id: string; name: string | null; version: number }> {
    const res = await gw.gql<{ users: { edges: { node: { id: string; name: string | null; version: number } }[] } }>(
      '{ users(first: 1, filter: { email: "alice@acme.example" }) { edges { node { id name version } } } }',
      {},
      adminToken,
    );
    const node = res.data?.users.edges[0]?.node;
    if (!node) throw new Error(`no demo user alice: ${JSON.stringify(res.errors)}`);
    return node;
  }

  async function signIn(site: ExampleServer, token: string): Promise<{ page: Page; console: string[] }> {
    const page = await browser.context.newPage();
    const messages: string[] = [];
    page.on('console', (m: ConsoleMessage) => messages.push(m.text()));
    await page.goto(site.url);
    await page.getByLabel('Bearer token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    return { page, console: messages };
  }

  beforeAll(async () => {
    folder = examplePageFolder();
    // The page's two origins first (their ports are the OS's), so the gateway can list one of them.
    [listed, unlisted, browser] = await Promise.all([
      startExampleServer({ root: folder.outDir, gatewayUrl: null, port: 0, host: '127.0.0.1' }),
      startExampleServer({ root: folder.outDir, gatewayUrl: null, port: 0, host: '127.0.0.1' }),
      launchChromium(),
    ]);
    gw = await startTestGateway({ seed: true, env: { CORS_ORIGINS: `https://other.example,${originOf(listed.url)}` } });
    await buildExamplePage(folder.outDir, gw.url);
    adminToken = await gw.token('admin@tenant', ADMIN_SCOPES);
  });

  afterAll(async () => {
    await browser?.close();
    await listed?.close();
    await unlisted?.close();
    await gw?.close();
    folder?.remove();
  });

  it('a listed origin reads and saves a profile, straight from the gateway (no proxy)', async () => {
    expect(originOf(listed.url)).not.toBe(originOf(gw.url));
    // The page's own server only serves files (no proxy): every operation goes to the gateway's origin.
    expect((await fetch(new URL('/graphql', listed.url), { method: 'POST' })).status).toBe(405);

    const before = await alice();
    const { page } = await signIn(listed, await gw.token(before.id, ''));
    await page.locator('#profile-form').waitFor();
    expect(await page.locator('#field-name').inputValue()).toBe(before.name);

    await page.locator('#field-name').fill('Alice Cross-Origin');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#status').innerText()).toBe('Saved.');
    const after = await alice();
    expect(after.name).toBe('Alice Cross-Origin');
    expect(after.version).toBe(before.version + 1);

    const gatewayCalls = browser.requests.filter((url) => url === gw.url);
    expect(gatewayCalls.length).toBeGreaterThanOrEqual(2);
    expect(browser.requests.filter((url) => url.startsWith(new URL('/graphql', listed.url).href))).toEqual([]);
    await page.close();
  }, 30_000);

  it('an unlisted origin is refused by the browser: no profile, and the page says why', async () => {
    const before = await alice();
    const { page, console } = await signIn(unlisted, await gw.token(before.id, ''));
    await expect.poll(() => page.locator('#banner').innerText()).toMatch(/could not be reached.*CORS_ORIGINS/s);
    expect(await page.locator('#profile').isHidden()).toBe(true);
    // Chromium's own words: the preflight's answer had no Access-Control-Allow-Origin.
    expect(console.join('\n')).toMatch(/blocked by CORS policy/);
    expect(console.join('\n')).toContain(originOf(unlisted.url));
    await page.close();
  }, 30_000);
});
