// `npm run docs:screenshots`: the README's screenshots (docs/*.png), taken in headless Chromium
// against a running gateway with the demo tenant (`TRUSTED_DOCUMENTS=examples/profile-page/src/gql/persisted-documents.json npm start` in another terminal, a new data/: the page sends documentIds).
// Tokens come from `npm run token`, as the README says. Nothing is written to the demo data.
//   GATEWAY_URL  default http://localhost:4000/graphql
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { startExampleServer } from '../../examples/profile-page/serve.mjs';
import { launchChromium } from './chromium.js';

const ROOT = join(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'examples/profile-page');
const DOCS = join(ROOT, 'docs');
const GATEWAY_URL = process.env.GATEWAY_URL ?? 'http://localhost:4000/graphql';

function npmToken(sub: string, scope = ''): string {
  return execFileSync('npm', ['run', '-s', 'token', '--', '--sub', sub, '--scope', scope], {
    cwd: ROOT,
    encoding: 'utf8',
  }).trim();
}

async function gql<T>(query: string, token: string): Promise<T> {
  const res = await fetch(GATEWAY_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(`the gateway at ${GATEWAY_URL} answered ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function playground(page: Page, adminToken: string): Promise<void> {
  await page.goto(GATEWAY_URL);
  const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
  await headers.getByText('Bearer').click();
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.insertText(adminToken);
  await page.keyboard.press('Home');
  await page.getByRole('button', { name: /Execute query/ }).click();
  await page.locator('.graphiql-response').getByText('"fieldPolicies"').waitFor();
  await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
  await page.locator('.graphiql-doc-explorer-search input').fill('FieldPolicy');
  await page.locator('.graphiql-doc-explorer-search [role="option"]', { hasText: 'FieldPolicy' }).first().click();
  await page.locator('.graphiql-doc-explorer').getByText('editable', { exact: true }).waitFor();
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(DOCS, 'playground.png') });
}

async function profilePage(page: Page, siteUrl: string, userToken: string): Promise<void> {
  await page.goto(siteUrl);
  await page.getByLabel('Bearer token').fill(userToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#profile-form').waitFor();
  // A key with a dot: the gateway answers INVALID_METADATA_KEY in userErrors; nothing is written.
  await page.locator('#field-userMetadata').fill(JSON.stringify({ theme: 'light', 'ui.density': 'compact' }, null, 2));
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('[data-field="userMetadata"] .error').waitFor();
  await page.screenshot({ path: join(DOCS, 'profile-page.png'), fullPage: true });
}

/** A terminal of real commands: codegen's outputs, a generated type, and tsc refusing a typo. */
async function typedClient(page: Page): Promise<void> {
  const codegen = spawnSync('npx', ['graphql-codegen', '--config', 'codegen.ts', '--check'], { cwd: ROOT, encoding: 'utf8' });
  const generated = readFileSync(join(EXAMPLE, 'src/gql/graphql.ts'), 'utf8');
  const reasonType = /export type MutabilityReason =[\s\S]*?;\n/.exec(generated)?.[0] ?? '';
  const probe = join(EXAMPLE, 'src/typo.ts');
  const probeText = `import { execute } from './api.js';
import { MeQuery } from './operations.js';

const { data } = await execute(MeQuery, sessionStorage.getItem('token') ?? '');
for (const policy of data?.me?.fieldPolicies ?? []) {
  if (policy.reason === 'SYNCED_FROM_IDP') console.log(policy.field, policy.mesage);
}
`;
  writeFileSync(probe, probeText);
  let tsc: string;
  try {
    tsc = spawnSync('npx', ['tsc', '--noEmit', '-p', 'examples/profile-page'], { cwd: ROOT, encoding: 'utf8' }).stdout;
  } finally {
    rmSync(probe, { force: true });
  }
  const clean = (s: string) => s.split('\n').filter((l) => l.trim() !== '' && !l.includes('npm warn')).join('\n');
  // codegen's non-interactive log repeats every step; keep its outcome lines.
  const outcome = (s: string) => clean(s).split('\n').filter((l) => !/^❯|✔ (Parse|Load|Generate$)/.test(l)).join('\n');
  const blocks: [string, string][] = [
    ['npm run codegen   # after changing schema/ or an operation in examples/profile-page/src', outcome(codegen.stdout + codegen.stderr)],
    ["sed -n '/^export type MutabilityReason/,/;$/p' examples/profile-page/src/gql/graphql.ts", reasonType.trimEnd()],
    ['cat examples/profile-page/src/typo.ts', probeText.trimEnd()],
    ['npx tsc --noEmit -p examples/profile-page', clean(tsc)],
  ];
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  await page.setViewportSize({ width: 1100, height: 600 });
  await page.setContent(`<!doctype html><style>
    body { margin: 0; background: #1e1f26; color: #d7dae0; font: 14px/1.45 'DejaVu Sans Mono', monospace; }
    pre { margin: 0; padding: 18px 22px; white-space: pre-wrap; }
    .cmd { color: #8fd18f; } .cmd::before { content: '$ '; color: #888; }
  </style><pre>${blocks.map(([cmd, out]) => `<span class="cmd">${escape(cmd)}</span>\n${escape(out)}\n`).join('\n')}</pre>`);
  await page.screenshot({ path: join(DOCS, 'typed-client.png'), fullPage: true });
}

async function main(): Promise<void> {
  const adminToken = npmToken('admin@tenant', 'read:users update:users');
  const data = await gql<{ users: { edges: { node: { id: string } }[] } }>(
    '{ users(first: 1, filter: { email: "gabriel.silva@gmail.example" }) { edges { node { id } } } }',
    adminToken,
  );
  const gabriel = data.users.edges[0]?.node.id;
  if (!gabriel) throw new Error('the demo user gabriel.silva@gmail.example is missing: start the gateway on a new data/ folder');

  await build({ root: EXAMPLE, configFile: false, logLevel: 'warn' });
  const site = await startExampleServer({ gatewayUrl: GATEWAY_URL, port: 0 });
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await playground(page, adminToken);
    await profilePage(page, site.url, npmToken(gabriel));
    await typedClient(page);
  } finally {
    await browser.close();
    await site.close();
  }
  console.log('Wrote docs/playground.png, docs/profile-page.png, docs/typed-client.png');
}

await main();
