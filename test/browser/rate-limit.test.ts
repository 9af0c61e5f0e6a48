// The example page as a reference client against the gateway's real rate limiter (src/guard): an
// end user's budget is tiny here (RATE_LIMIT_END_USER_PER_MINUTE), so a save meets HTTP 429
// RATE_LIMITED. The page says so, counts down the Retry-After seconds, sends nothing meanwhile, and
// sends the same save again once the window has passed, which then goes through.
// Set up as test/browser/cross-origin.test.ts is (the page on its own origin, the gateway listing
// it in CORS_ORIGINS, trusted documents), with its own gateway so the small budget touches no other test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleServer, startExampleServer } from '../../examples/profile-page/serve.mjs';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type Browser, launchChromium } from './chromium.js';
import { buildExamplePage, EXAMPLE_ROOT, type ExampleBuild, examplePageFolder } from './example-build.js';

const MANIFEST = join(EXAMPLE_ROOT, 'src/gql/persisted-documents.json');
/** Enough for signing in and a few more reads; the test spends the rest before saving. */
const END_USER_BUDGET = 400;

describe('the profile page meets RATE_LIMITED from the real rate limiter', () => {
  let gw: TestGateway;
  let browser: Browser;
  let site: ExampleServer;
  let folder: ExampleBuild;
  let adminToken: string;

  type Alice = { id: string; nickname: string | null; version: number };
  async function alice(): Promise<Alice> {
    const res = await gw.gql<{ users: { edges: { node: Alice }[] } }>(
      '{ users(first: 1, filter: { email: "alice@acme.example" }) { edges { node { id nickname version } } } }',
      {},
      adminToken,
    );
    const node = res.data?.users.edges[0]?.node;
    if (!node) throw new Error(`no demo user alice: ${JSON.stringify(res.errors)}`);
    return node;
  }

  /** The page's own Me document, as the page sends it (its trusted-document id). */
  function meDocumentId(): string {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    // Keys are `sha256:<hex>`; a document is its fragments and its operation.
    const id = Object.keys(manifest).find((key) => /\bquery Me\b/.test(manifest[key] ?? ''));
    if (!id) throw new Error('the page manifest has no Me query');
    return id;
  }

  beforeAll(async () => {
    folder = examplePageFolder();
    [site, browser] = await Promise.all([startExampleServer({ root: folder.outDir, gatewayUrl: null, port: 0, host: '127.0.0.1' }), launchChromium()]);
    gw = await startTestGateway({
      seed: true,
      env: {
        CORS_ORIGINS: new URL(site.url).origin,
        TRUSTED_DOCUMENTS: MANIFEST,
        RATE_LIMIT_END_USER_PER_MINUTE: String(END_USER_BUDGET),
      },
    });
    await buildExamplePage(folder.outDir, gw.url);
    adminToken = await gw.token('admin@tenant', ADMIN_SCOPES);
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await gw?.close();
    folder?.remove();
  });

  it('waits for Retry-After, says so with a countdown, then sends the save again and it is saved', async () => {
    const before = await alice();
    const token = await gw.token(before.id, '');
    const page: Page = await browser.context.newPage();
    const answers: { at: number; status: number; retryAfter: number | null; body: string }[] = [];
    page.on('response', async (response) => {
      if (response.url() !== gw.url || response.request().method() !== 'POST') return;
      const retryAfter = response.headers()['retry-after'];
      answers.push({ at: Date.now(), status: response.status(), retryAfter: retryAfter ? Number(retryAfter) : null, body: response.request().postData() ?? '' });
    });
    await page.goto(site.url);
    await page.getByLabel('Bearer token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#profile-form').waitFor();

    // Alice's budget for this minute is spent by other requests of hers (another tab, say).
    const documentId = meDocumentId();
    let spent = false;
    for (let i = 0; i < 100 && !spent; i++) {
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ documentId }),
      });
      await res.text();
      spent = res.status === 429;
    }
    expect(spent).toBe(true);

    await page.locator('#field-nickname').fill('ally-patient');
    await page.getByRole('button', { name: 'Save' }).click();

    // Refused: the page says why and how long, counting down, and does not give up.
    const notice = page.locator('#notice');
    await expect.poll(() => notice.innerText(), { timeout: 10_000 }).toMatch(/^Too many requests: the gateway asked to wait \d+ s \(rate limited\)\. Trying again in \d+ s…$/);
    const refused = answers.find((a) => a.status === 429 && a.body.includes('"id"'));
    expect(refused?.retryAfter).toBeGreaterThanOrEqual(1);
    const wait = refused?.retryAfter ?? 0;
    expect(await notice.innerText()).toContain(`wait ${wait} s`);
    expect(await page.locator('#status').innerText()).toBe('Saving…');
    expect(await page.locator('#banner').isHidden()).toBe(true);
    // The countdown moves.
    const first = await notice.innerText();
    await expect.poll(() => notice.innerText(), { timeout: 5_000 }).not.toBe(first);
    expect((await alice()).nickname).toBe(before.nickname);

    // Once Retry-After has passed the same save goes again, and the window has started anew.
    await expect.poll(() => page.locator('#status').innerText(), { timeout: (wait + 15) * 1000, interval: 500 }).toBe('Saved.');
    const saves = answers.filter((a) => a.body.includes('"id"'));
    expect(saves.map((a) => a.status)).toEqual([429, 200]);
    const [refusedSave, retried] = saves;
    // Nothing was sent while waiting: the retry left no sooner than Retry-After said.
    expect((retried?.at ?? 0) - (refusedSave?.at ?? 0)).toBeGreaterThanOrEqual(wait * 1000 - 250);
    expect(await notice.isHidden()).toBe(true);
    expect(await page.locator('#banner').isHidden()).toBe(true);
    const after = await alice();
    expect(after.nickname).toBe('ally-patient');
    expect(after.version).toBe(before.version + 1);
    await page.close();
  }, 120_000);
});
