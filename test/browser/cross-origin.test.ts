// The example page served from its own origin with no proxy, calling the gateway on another
// origin (another port) in real headless Chromium: CORS_ORIGINS lists the page's origin, Apollo's
// CSRF prevention is on, and a page from an unlisted origin is refused by the browser itself.
import { join } from 'node:path';
// Then the page as a reference client on that setup: request ids, a save that lost a race
// (VERSION_CONFLICT), a token that expired.
import type { ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleServer, startExampleServer } from '../../examples/profile-page/serve.mjs';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type Browser, launchChromium } from './chromium.js';
import { buildExamplePage, EXAMPLE_ROOT, type ExampleBuild, examplePageFolder } from './example-build.js';

describe('the profile page on another origin than the gateway (CORS)', () => {
  let gw: TestGateway;
  let browser: Browser;
  let listed: ExampleServer;
  let unlisted: ExampleServer;
  let folder: ExampleBuild;
  let adminToken: string;

  const originOf = (url: string) => new URL(url).origin;

  type Alice = { id: string; name: string | null; nickname: string | null; version: number };
  async function alice(): Promise<Alice> {
    const res = await gw.gql<{ users: { edges: { node: Alice }[] } }>(
      '{ users(first: 1, filter: { email: "alice@acme.example" }) { edges { node { id name nickname version } } } }',
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
    // The page sends documentIds from its manifest (trusted documents, src/guard).
    gw = await startTestGateway({
      seed: true,
      env: { CORS_ORIGINS: `https://other.example,${originOf(listed.url)}`, TRUSTED_DOCUMENTS: join(EXAMPLE_ROOT, 'src/gql/persisted-documents.json') },
    });
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

  it('sends an x-request-id with every request, a new one each time', async () => {
    const sent: { id: string | undefined; echoed: string | null }[] = [];
    const before = await alice();
    const page = await browser.context.newPage();
    page.on('response', (response) => {
      if (response.url() !== gw.url || response.request().method() !== 'POST') return;
      sent.push({ id: response.request().headers()['x-request-id'], echoed: response.headers()['x-request-id'] ?? null });
    });
    await page.goto(listed.url);
    await page.getByLabel('Bearer token').fill(await gw.token(before.id, ''));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#profile-form').waitFor();
    await page.getByRole('button', { name: 'Save' }).click(); // nothing changed: no request
    await page.locator('#field-nickname').fill(`ally-${Date.now()}`);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#status').innerText()).toBe('Saved.');
    expect(sent).toHaveLength(2);
    for (const { id, echoed } of sent) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      // A gateway that returns the id (its logs' key) returns the same one.
      if (echoed !== null) expect(echoed).toBe(id);
    }
    expect(new Set(sent.map((s) => s.id)).size).toBe(2);
    await page.close();
  }, 30_000);

  it('VERSION_CONFLICT: the page reloads, says what changed elsewhere, keeps the other edits, and saves them on the new version', async () => {
    const before = await alice();
    const { page } = await signIn(listed, await gw.token(before.id, ''));
    await page.locator('#profile-form').waitFor();
    // Someone else (a tenant administrator) renames Alice while she edits her nickname.
    const renamed = await gw.gql(
      'mutation($id: ID!) { updateUser(id: $id, input: { name: "Alice Renamed Elsewhere" }) { user { version } userErrors { code } } }',
      { id: before.id },
      adminToken,
    );
    expect(renamed.errors).toBeUndefined();
    await page.locator('#field-nickname').fill('ally-conflict');
    await page.getByRole('button', { name: 'Save' }).click();

    const banner = page.locator('#banner');
    await expect.poll(() => banner.innerText()).toContain('changed elsewhere');
    const text = await banner.innerText();
    expect(text).toContain(`version ${before.version} → ${before.version + 1}`);
    expect(text).toContain(`Name from “${before.name}” to “Alice Renamed Elsewhere”`);
    expect(text).not.toContain('Nickname from');
    expect(await page.locator('#status').innerText()).toBe('Not saved.');
    // The form shows the new version, marks what changed, and still holds her own edit.
    expect(await page.locator('#field-name').inputValue()).toBe('Alice Renamed Elsewhere');
    expect(await page.locator('[data-field="name"]').getAttribute('class')).toContain('changed');
    expect(await page.locator('#field-nickname').inputValue()).toBe('ally-conflict');
    expect((await alice()).nickname).toBe(before.nickname);

    // Saving again applies her edit on top of the other change.
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#status').innerText()).toBe('Saved.');
    const after = await alice();
    expect(after).toMatchObject({ name: 'Alice Renamed Elsewhere', nickname: 'ally-conflict', version: before.version + 2 });
    await page.close();
  }, 30_000);

  it('an expired token: the next request signs out, saying the sign-in expired, and the token is forgotten', async () => {
    const before = await alice();
    const { page } = await signIn(listed, await gw.token(before.id, '', { ttlSeconds: 2 }));
    await page.locator('#profile-form').waitFor();
    await page.locator('#field-nickname').fill('too-late');
    await new Promise((resolve) => setTimeout(resolve, 3500));
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#banner').innerText()).toMatch(/^Signed out: your sign-in expired at .+\. Sign in again/);
    expect(await page.locator('#profile').isHidden()).toBe(true);
    expect(await page.locator('#sign-in').isVisible()).toBe(true);
    expect((await alice()).nickname).toBe(before.nickname);
    // Forgotten: a reload asks to sign in rather than trying the token again.
    await page.reload();
    await page.locator('#sign-in-form').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.locator('#profile').isHidden()).toBe(true);
    await page.close();
  }, 30_000);
});
