// The example profile page (examples/profile-page) in real headless Chromium: built with Vite,
// served by its own server whose POST /graphql goes to a test gateway with the demo tenant.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleServer, startExampleServer } from '../../examples/profile-page/serve.mjs';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type Browser, isLocal, launchChromium } from './chromium.js';
import { buildExamplePage, EXAMPLE_ROOT, type ExampleBuild, examplePageFolder } from './example-build.js';

const MANIFEST = join(EXAMPLE_ROOT, 'src/gql/persisted-documents.json');

interface UserView {
  id: string;
  name: string | null;
  nickname: string | null;
  version: number;
  userMetadata: Record<string, unknown> | null;
}

describe('the profile page (examples/profile-page)', () => {
  let gw: TestGateway;
  let browser: Browser;
  let site: ExampleServer;
  let folder: ExampleBuild;
  let adminToken: string;
  const ids: Record<string, string> = {};

  async function userByEmail(email: string): Promise<UserView> {
    const res = await gw.gql<{ users: { edges: { node: UserView }[] } }>(
      'query ($email: String) { users(first: 1, filter: { email: $email }) { edges { node { id name nickname version userMetadata } } } }',
      { email },
      adminToken,
    );
    const user = res.data?.users.edges[0]?.node;
    if (!user) throw new Error(`no demo user ${email}: ${JSON.stringify(res.errors)}`);
    return user;
  }

  async function signIn(email: string): Promise<Page> {
    const page = await browser.context.newPage();
    await page.goto(site.url);
    await page.getByLabel('Bearer token').fill(await gw.token(ids[email] ?? '', ''));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#profile-form').waitFor();
    return page;
  }

  const field = (page: Page, key: string) => page.locator(`[data-field="${key}"]`);

  beforeAll(async () => {
    folder = examplePageFolder();
    // Trusted documents on (the recommended production setting): the page sends documentIds only.
    [gw, browser] = await Promise.all([
      startTestGateway({ seed: true, env: { TRUSTED_DOCUMENTS: MANIFEST } }),
      launchChromium(),
      buildExamplePage(folder.outDir),
    ]);
    site = await startExampleServer({ root: folder.outDir, gatewayUrl: gw.url, port: 0, host: '127.0.0.1' });
    adminToken = await gw.token('admin@tenant', ADMIN_SCOPES);
    for (const email of ['gabriel.silva@gmail.example', 'alice@acme.example']) {
      ids[email] = (await userByEmail(email)).id;
    }
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await gw?.close();
    folder?.remove();
  });

  it('a Google user (sync ON_EACH_LOGIN): name disabled with its reason, metadata saved, a bad key refused beside the field', async () => {
    const email = 'gabriel.silva@gmail.example';
    expect(ids[email]).toMatch(/^google-oauth2\|/);
    const page = await signIn(email);

    // The policy refuses the root attributes: disabled, with the server's reason beside them.
    const name = page.locator('#field-name');
    expect(await name.isDisabled()).toBe(true);
    const reason = field(page, 'name').locator('.reason');
    expect(await reason.getAttribute('data-reason')).toBe('SYNCED_FROM_IDENTITY_PROVIDER');
    // Worded for the user who reads it: their provider by name, what they can do; no settings.
    expect(await reason.innerText()).toContain(
      'Your name comes from your Google account and is updated each time you sign in: change it there.',
    );
    expect(await reason.innerText()).not.toMatch(/google-oauth2|syncUserRootAttributes|ON_FIRST_LOGIN/);
    expect(await page.locator('#field-nickname').isDisabled()).toBe(true);
    expect(await page.locator('#field-userMetadata').isEnabled()).toBe(true);
    expect(await page.locator('#organizations').innerText()).toContain('Acme Corporation');

    // Save userMetadata: a new key.
    const before = await userByEmail(email);
    const metadata = { ...(before.userMetadata ?? {}), theme: 'light', newsletter: true };
    await page.locator('#field-userMetadata').fill(JSON.stringify(metadata, null, 2));
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#status').innerText()).toBe('Saved.');
    const saved = await userByEmail(email);
    expect(saved.userMetadata).toEqual(metadata);
    expect(saved.version).toBe(before.version + 1);

    // A key with a dot is a userErrors entry (INVALID_METADATA_KEY) shown beside the field; nothing changes.
    await page.locator('#field-userMetadata').fill(JSON.stringify({ ...metadata, 'ui.theme': 'dark' }));
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#status').innerText()).toBe('Not saved.');
    const error = field(page, 'userMetadata').locator('.error');
    expect(await error.isVisible()).toBe(true);
    expect(await error.innerText()).toContain('ui.theme');
    expect(await page.locator('#banner').isHidden()).toBe(true);
    expect((await userByEmail(email)).userMetadata).toEqual(metadata);

    // A refused field that still reaches the server (the input re-enabled by hand) is a
    // FIELD_NOT_EDITABLE top-level error: the banner, and nothing written.
    await page.locator('#field-userMetadata').fill(JSON.stringify(metadata));
    await name.evaluate((input: HTMLInputElement) => {
      input.disabled = false;
    });
    await name.fill('Gabe');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#banner').isVisible()).toBe(true);
    // The banner says it in the same words as the field's reason.
    expect(await page.locator('#banner').innerText()).toContain('Your name comes from your Google account');
    expect(await field(page, 'name').locator('.error').innerText()).toContain('may not change');
    expect((await userByEmail(email)).name).toBe(saved.name);

    expect(browser.requests.filter((url) => !isLocal(url))).toEqual([]);
    await page.close();
  }, 30_000);

  it('an own-store user edits and saves name (checked through the API)', async () => {
    const email = 'alice@acme.example';
    const page = await signIn(email);
    const name = page.locator('#field-name');
    expect(await name.isEnabled()).toBe(true);
    expect(await field(page, 'name').locator('.reason').count()).toBe(0);
    expect(await name.inputValue()).toBe((await userByEmail(email)).name);

    await name.fill('Alice M. Martin');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#status').innerText()).toBe('Saved.');
    expect((await userByEmail(email)).name).toBe('Alice M. Martin');
    expect(await page.locator('#field-name').inputValue()).toBe('Alice M. Martin');

    // The token stays for this tab: a reload shows the saved profile without signing in again.
    await page.reload();
    await expect.poll(() => page.locator('#field-name').inputValue().catch(() => '')).toBe('Alice M. Martin');
    await page.close();
  }, 30_000);

  it('a refused token signs out with the reason', async () => {
    const page = await browser.context.newPage();
    await page.goto(site.url);
    await page.getByLabel('Bearer token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#banner').innerText()).toMatch(/Signed out: .*token/i);
    expect(await page.locator('#profile').isHidden()).toBe(true);
    await page.close();
  }, 30_000);

  it('declared attributes are form fields with their rules: editable ones saved, refused ones disabled with the reason', async () => {
    const email = 'alice@acme.example';
    const id = ids[email] ?? '';
    const me = await gw.gql<{ user: { connection: { id: string }; userMetadata: Record<string, unknown> } }>(
      'query($id: ID!) { user(id: $id) { connection { id } userMetadata } }',
      { id },
      adminToken,
    );
    const connection = me.data?.user.connection.id ?? '';
    // The README's example declarations, and one the user may not view.
    const declared = await gw.gql<{ updateConnection: { userErrors: unknown[] } }>(
      `mutation($id: ID!) { updateConnection(id: $id, input: { attributes: [
        { key: "locale", in: USER_METADATA, schema: { type: "string", pattern: "^[a-z]{2}(-[A-Z]{2})?$" }, edit: [TENANT_ADMIN, HELP_DESK, SELF], view: [TENANT_ADMIN, HELP_DESK, SELF] }
        { key: "employeeNumber", in: USER_METADATA, schema: { type: "integer", minimum: 1 }, edit: [TENANT_ADMIN], view: [TENANT_ADMIN, HELP_DESK, SELF], lifecycle: CREATE_ONLY }
        { key: "termsAcceptedAt", in: USER_METADATA, schema: { type: "string", format: "date-time" }, edit: [SELF, TENANT_ADMIN], view: [TENANT_ADMIN, SELF], lifecycle: WRITE_ONCE }
        { key: "plan", in: APP_METADATA, schema: { enum: ["free", "pro"] }, edit: [TENANT_ADMIN], view: [TENANT_ADMIN, SELF] }
        { key: "riskScore", in: APP_METADATA, schema: { type: "number" }, edit: [TENANT_ADMIN], view: [TENANT_ADMIN] }
      ] }) { userErrors { field code message } } }`,
      { id: connection },
      adminToken,
    );
    expect(declared.errors).toBeUndefined();
    expect(declared.data?.updateConnection.userErrors).toEqual([]);
    const set = await gw.gql<{ updateUser: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { updateUser(id: $id, input: { appMetadata: { plan: "pro", riskScore: 0.7 }, userMetadata: { theme: "dark" } }) { userErrors { code message } } }',
      { id },
      adminToken,
    );
    expect(set.data?.updateUser.userErrors).toEqual([]);
    // What the gateway tells Alice about each key: the page must show exactly this.
    const token = await gw.token(id, '');
    // (Trusted documents are on: she may send only the page's own documents, so its Me.)
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    const meId = Object.keys(manifest).find((key) => /\bquery Me\b/.test(manifest[key] ?? ''));
    const told = (await (
      await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ documentId: meId }) })
    ).json()) as { data?: { me: { attributePolicies: { key: string; editable: boolean; reason: string | null; message: string | null }[] } } };
    const policy = new Map((told.data?.me.attributePolicies ?? []).map((p) => [p.key, p]));

    const page = await signIn(email);
    const attribute = (key: string, object = 'USER_METADATA') => page.locator(`[data-attribute="${object}:${key}"]`);
    expect(await page.locator('#attributes legend').innerText()).toBe('Profile attributes');
    // Shown: the keys she may view; riskScore (view: TENANT_ADMIN) is not on the page at all.
    expect(await page.locator('#attributes [data-attribute]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.attribute))).toEqual([
      'USER_METADATA:locale',
      'USER_METADATA:employeeNumber',
      'USER_METADATA:termsAcceptedAt',
      'APP_METADATA:plan',
    ]);
    expect(await page.locator('#profile').innerText()).not.toContain('0.7');

    // Editable as the gateway says: locale and (while unset) termsAcceptedAt.
    expect(policy.get('locale')?.editable).toBe(true);
    expect(await page.locator('#attr-user_metadata-locale').isEnabled()).toBe(true);
    expect(await page.locator('#attr-user_metadata-termsAcceptedAt').isEnabled()).toBe(true);
    expect(await attribute('termsAcceptedAt').locator('.hint').innerText()).toContain('Can be set only once');
    // Refused: disabled, with the reason and the gateway's sentence for her.
    for (const [key, object] of [['employeeNumber', 'USER_METADATA'], ['plan', 'APP_METADATA']] as const) {
      const told = policy.get(key);
      expect(told?.editable).toBe(false);
      const row = attribute(key, object);
      expect(await row.locator('input, select').isDisabled()).toBe(true);
      expect(await row.locator('.reason').getAttribute('data-reason')).toBe(told?.reason);
      expect(await row.locator('.reason').innerText()).toContain(told?.message ?? '(no message)');
    }
    // plan's value is shown in its (disabled) select.
    expect(await attribute('plan', 'APP_METADATA').locator('select option:checked').innerText()).toBe('pro');
    // The JSON editor holds only the undeclared keys.
    const undeclared = { ...me.data?.user.userMetadata, theme: 'dark' };
    expect(JSON.parse(await page.locator('#field-userMetadata').inputValue())).toEqual(undeclared);

    // A value that breaks its schema: INVALID_ATTRIBUTE beside that field, nothing written.
    const before = await userByEmail(email);
    await page.locator('#attr-user_metadata-locale').fill('Portuguese');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#status').innerText()).toBe('Not saved.');
    expect(await attribute('locale').locator('.error').isVisible()).toBe(true);
    expect(await attribute('locale').locator('.error').innerText()).toMatch(/locale/);
    expect((await userByEmail(email)).version).toBe(before.version);

    // Valid values are saved into userMetadata beside the undeclared keys.
    await page.locator('#attr-user_metadata-locale').fill('pt-BR');
    await page.locator('#attr-user_metadata-termsAcceptedAt').fill('2026-12-01T09:30:00Z');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#status').innerText()).toBe('Saved.');
    const saved = await userByEmail(email);
    expect(saved.userMetadata).toEqual({ ...undeclared, locale: 'pt-BR', termsAcceptedAt: '2026-12-01T09:30:00Z' });
    expect(saved.version).toBe(before.version + 1);
    // Written once: now refused (WRITE_ONCE), as the gateway's answer after the save says.
    const terms = attribute('termsAcceptedAt');
    expect(await terms.locator('input').isDisabled()).toBe(true);
    expect(await terms.locator('.reason').getAttribute('data-reason')).toBe('WRITE_ONCE');
    expect(await terms.locator('input').inputValue()).toBe('2026-12-01T09:30:00Z');

    // A refused attribute sent anyway (re-enabled by hand): FIELD_NOT_EDITABLE, marked beside it, nothing written.
    await page.locator('#attr-user_metadata-employeeNumber').evaluate((input: HTMLInputElement) => {
      input.disabled = false;
    });
    await page.locator('#attr-user_metadata-employeeNumber').fill('1042');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#banner').isVisible()).toBe(true);
    expect(await page.locator('#banner').innerText()).toContain(policy.get('employeeNumber')?.message ?? '(no message)');
    expect(await attribute('employeeNumber').locator('.error').innerText()).toContain('may not change');
    expect((await userByEmail(email)).userMetadata).toEqual(saved.userMetadata);

    // The declarations are the demo's no more: the other tests see the connection as it was.
    await gw.gql('mutation($id: ID!) { updateConnection(id: $id, input: { attributes: [] }) { userErrors { code } } }', { id: connection }, adminToken);
    await page.close();
  }, 30_000);

  it('works with trusted documents on, where the same user may not send a document of their own', async () => {
    const token = await gw.token(ids['alice@acme.example'] ?? '', '');
    const raw = await gw.gql('{ me { id } }', {}, token);
    expect(raw.status).toBe(400);
    expect(raw.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
    // The page signed in and loaded the profile above: through its manifest's documentIds.
    const page = await signIn('alice@acme.example');
    expect(await page.locator('#field-name').inputValue()).toBe((await userByEmail('alice@acme.example')).name);
    await page.close();
  }, 30_000);
});
