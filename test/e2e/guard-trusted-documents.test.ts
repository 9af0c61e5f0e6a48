// Trusted documents through the real server: with TRUSTED_DOCUMENTS, a caller without read:users or
// update:users runs only the manifest's documents, sent by documentId; tenant administrators still
// send any document; a manifest that does not match its hashes stops the start.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeDocument } from '../../examples/profile-page/src/gql/graphql.js';
import { ADMIN_SCOPES, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const MANIFEST = join(import.meta.dirname, '../../examples/profile-page/src/gql/persisted-documents.json');
const ME_ID = MeDocument.__meta__?.hash as string;

async function send(gw: TestGateway, body: Record<string, unknown>, token: string) {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: { me?: { id: string } | null } | null; errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: res.status, ...json, remaining: res.headers.get('ratelimit-remaining') };
}

describe('with TRUSTED_DOCUMENTS', () => {
  let gw: TestGateway;
  let user: string;
  let userId: string;

  beforeAll(async () => {
    gw = await startTestGateway({ seed: true, env: { TRUSTED_DOCUMENTS: MANIFEST } });
    const found = await gw.gql<{ users: { edges: { node: { id: string } }[] } }>(
      '{ users(first: 1, filter: { email: "alice@acme.example" }) { edges { node { id } } } }',
      {},
      await gw.token('admin', ADMIN_SCOPES),
    );
    userId = found.data!.users.edges[0]!.node.id;
    user = await gw.token(userId);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("runs the example page's documents by documentId", async () => {
    expect(ME_ID).toMatch(/^sha256:[0-9a-f]{64}$/);
    const res = await send(gw, { documentId: ME_ID, variables: {} }, user);
    expect(res.status).toBe(200);
    expect(res.data?.me?.id).toBe(userId);
    expect(res.remaining).not.toBeNull();
  });

  it('refuses any other document from a user: TRUSTED_DOCUMENT_REQUIRED, even the same text', async () => {
    for (const query of ['{ me { id } }', MeDocument.toString()]) {
      const res = await send(gw, { query }, user);
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
      expect(res.errors?.[0]?.message).toMatch(/documentId/);
      expect(res.data ?? null).toBeNull();
    }
  });

  it('answers TRUSTED_DOCUMENT_NOT_FOUND to an unknown documentId, for anyone', async () => {
    for (const token of [user, await gw.token('admin', ADMIN_SCOPES)]) {
      const res = await send(gw, { documentId: `sha256:${'0'.repeat(64)}` }, token);
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_NOT_FOUND');
    }
  });

  it('lets tenant administrators (read:users or update:users) send any document', async () => {
    for (const scope of ['read:users', 'update:users']) {
      const res = await send(gw, { query: '{ users(first: 1) { totalCount } }' }, await gw.token('admin', scope));
      expect(res.errors).toBeUndefined();
    }
    const other = await send(gw, { query: '{ connections { id } }' }, await gw.token('ops', 'read:connections'));
    expect(other.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
  });
});

describe('without TRUSTED_DOCUMENTS', () => {
  let gw: TestGateway;
  let dir: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    dir = mkdtempSync(join(tmpdir(), 'manifest-'));
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs any document, and knows no documentId', async () => {
    const token = await gw.token('someone');
    expect((await send(gw, { query: '{ me { id } }' }, token)).status).toBe(200);
    const res = await send(gw, { documentId: ME_ID }, token);
    expect(res.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_NOT_FOUND');
    expect(res.errors?.[0]?.message).toMatch(/TRUSTED_DOCUMENTS is not set/);
  });

  it('refuses to start on a manifest whose keys are not its documents’ hashes', async () => {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
    const [key] = Object.keys(manifest);
    manifest[key!] = '{ users(first: 100) { totalCount } }';
    const path = join(dir, 'edited.json');
    writeFileSync(path, JSON.stringify(manifest));
    await expect(startTestGateway({ env: { TRUSTED_DOCUMENTS: path } })).rejects.toThrow(/not the sha256 of its document/);
  });
});
